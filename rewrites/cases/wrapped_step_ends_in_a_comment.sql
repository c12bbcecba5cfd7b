-- +goose Up
CREATE TABLE notes (id int); -- the last line, without a line break