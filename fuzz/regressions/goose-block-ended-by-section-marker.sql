-- +goose Up
-- +goose StatementBegin
ALTER TABLE role DROP COLUMN a
-- +goose NO TRANSACTION
CREATE INDEX CONCURRENTLY c ON t (k);
