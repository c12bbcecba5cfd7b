--+goose Down
ALTER TABLE v
u--+goose Up