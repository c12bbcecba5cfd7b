-- psql's \gset makes the query's row into psql variables, which live in its session. Each plan step
-- is a new session, where :max_id would be undefined (psql then sends it as written: a syntax
-- error). From the \gset to the last statement that may use one, the draft stays in one step, as
-- written, with timeouts.
SELECT max(id) AS max_id FROM orders \gset
CREATE INDEX orders_status_idx ON orders (status);
UPDATE orders SET status = 'archived' WHERE id <= :max_id AND status IS NULL;
ALTER TABLE orders ADD COLUMN archived_at timestamptz;
