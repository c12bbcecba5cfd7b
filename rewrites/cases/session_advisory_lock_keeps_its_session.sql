-- A session-level advisory lock (a migration mutex) is held to its unlock, across COMMITs: split
-- into steps, each a new session, it would end with the first. From the lock to its unlock the
-- draft stays as written in one step; after it, the rewrites apply.
SELECT pg_advisory_lock(4242);
ALTER TABLE orders ADD COLUMN region text;
CREATE INDEX orders_region_idx ON orders (region);
UPDATE orders SET region = 'eu' WHERE id % 2 = 0;
SELECT pg_advisory_unlock(4242);
CREATE INDEX orders_status_idx ON orders (status);
