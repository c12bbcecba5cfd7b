-- golden: schema=planeq-setup.sql
-- planeq-setup.sql: orders.created_at timestamptz with an index, orders.amount numeric without one.
-- Under TimeZone = UTC, timestamptz to timestamp keeps the table, but the index on the column is
-- built again (another operator class): reported, where it used to pass as free.
SET timezone = 'UTC';
ALTER TABLE orders ALTER COLUMN created_at TYPE timestamp;
