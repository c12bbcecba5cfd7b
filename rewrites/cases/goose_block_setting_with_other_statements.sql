-- +goose Up
-- +goose StatementBegin
CREATE SCHEMA app;
SET search_path = app, public;
CREATE TABLE notes (id int);
-- +goose StatementEnd

CREATE INDEX idx_orders_user_id ON orders (user_id);
CREATE TABLE tags (id int);
