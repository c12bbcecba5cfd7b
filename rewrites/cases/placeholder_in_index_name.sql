-- A placeholder after an index name's first letters (`idx_${x}`) is part of the name: the builds
-- and the drop run CONCURRENTLY, the name kept as written. The rename's finding names the
-- column as written.
CREATE INDEX idx_${x} ON orders (user_id);
CREATE UNIQUE INDEX uniq_${x} ON orders (id);
DROP INDEX old_${x};
ALTER TABLE orders RENAME COLUMN status TO status_${x};
