-- An inline CHECK on a new column still makes PostgreSQL scan every row under ACCESS EXCLUSIVE.
ALTER TABLE orders ADD COLUMN qty int DEFAULT 1 CONSTRAINT orders_qty_pos CHECK (qty > 0);
