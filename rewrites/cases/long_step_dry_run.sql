-- A dry run keeps its statements as written: the UPDATE and the plain CREATE INDEX work through
-- every row of orders under ACCESS EXCLUSIVE and the short statement_timeout.
BEGIN;
ALTER TABLE orders ADD COLUMN region text;
UPDATE orders SET region = 'eu';
CREATE INDEX dry_idx ON orders (created_at);
ROLLBACK;
