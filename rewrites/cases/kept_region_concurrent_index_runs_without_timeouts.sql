-- A temporary table keeps these statements in one step, as written, under the session's timeouts.
-- The concurrent build inside runs without them, as the draft runs it: it waits for every older
-- transaction, and a timeout there would leave an INVALID index where the draft succeeds.
CREATE TEMP TABLE stage AS SELECT id FROM orders;
ALTER TABLE orders ADD COLUMN region text;
CREATE INDEX CONCURRENTLY orders_region_idx ON orders (region);
UPDATE orders SET region = 'eu' WHERE id IN (SELECT id FROM stage);
