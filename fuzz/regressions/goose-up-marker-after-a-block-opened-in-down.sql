-- +goose Down
-- +goose StatementBegin
-- +goose Up
ALTER TABLE s ADD COLUMN q text;
SELECT 1;
-- +goose StatementEnd
