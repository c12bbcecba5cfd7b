-- golden: schema=planeq-setup.sql
-- A default that draws from a sequence numbers the existing rows in the order ADD COLUMN rewrites
-- the table; a batched backfill would number them in the order of its batches. Left as written.
CREATE SEQUENCE order_numbers;
ALTER TABLE orders ADD COLUMN number bigint DEFAULT nextval('order_numbers');
