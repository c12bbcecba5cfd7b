--+goose Down
SET LOCAL lock_timeout='s';ALTER TABLE r C--+goose Up