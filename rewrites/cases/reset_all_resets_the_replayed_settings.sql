-- `RESET ALL` puts every setting back to its default. Later steps repeat the last setting of each
-- name in the draft's order, so the `RESET ALL` undoes what came before it and not what came after
-- (they repeated `maintenance_work_mem = '1GB'` before it, which then undid it); and the
-- lock_timeout it turns off is off for the timeouts rule too (the ALTER after it ran with no bound
-- at all). (A `statement_timeout` here, as until the thirty-eighth pass, now keeps the index build
-- as written: see `draft_statement_timeout_keeps_a_build_as_written`.)
SET lock_timeout = '1s';
SET maintenance_work_mem = '256MB';
RESET ALL;
SET maintenance_work_mem = '1GB';
CREATE INDEX orders_status_idx ON orders (status);
ALTER TABLE orders ADD COLUMN note text;
