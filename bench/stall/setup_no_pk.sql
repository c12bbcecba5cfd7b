-- setup for unique-using-index (PRIMARY KEY): the shared setup, then orders loses its primary key
-- (id becomes nullable, as in a table that never had one) and keeps a plain index on id so that
-- the load's lookups by id stay index scans.
\ir ../../../shared/tools/setup_orders.sql
CREATE INDEX orders_id_idx ON orders (id);
ALTER TABLE orders DROP CONSTRAINT orders_pkey;
ALTER TABLE orders ALTER COLUMN id DROP NOT NULL;
ANALYZE orders;
