-- With a default every existing row gets a value, so PostgreSQL checks them all.
ALTER TABLE orders ADD COLUMN buyer_id bigint DEFAULT 1 REFERENCES users (id);
