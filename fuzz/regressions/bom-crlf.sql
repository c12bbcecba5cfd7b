-- +goose Up
CREATE INDEX i ON orders (c);
ALTER TABLE orders ADD CONSTRAINT f FOREIGN KEY (u) REFERENCES users (id);
-- +goose Down
DROP INDEX i;
