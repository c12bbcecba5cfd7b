-- ALTER DATABASE … SET TABLESPACE and ALTER SUBSCRIPTION … REFRESH PUBLICATION refuse a
-- transaction block ("cannot run inside a transaction block"): each runs in a step of its own, in
-- autocommit, as psql runs the draft, never inside the step of the ALTER TABLE before it.
ALTER TABLE orders ADD COLUMN archived_at timestamptz;
ALTER DATABASE app SET TABLESPACE fast_disks;
ALTER SUBSCRIPTION orders_feed REFRESH PUBLICATION;
CREATE INDEX orders_archived_at_idx ON orders (archived_at);
