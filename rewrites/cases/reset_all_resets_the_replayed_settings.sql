-- `RESET ALL` puts every setting back to its default. Later steps repeat the last setting of each
-- name in the draft's order, so the `RESET ALL` undoes what came before it and not what came after
-- (they repeated `statement_timeout = '7s'` before it, which then undid it); and the lock_timeout
-- it turns off is off for the timeouts rule too (the ALTER after it ran with no bound at all).
SET lock_timeout = '1s';
SET statement_timeout = '5s';
RESET ALL;
SET statement_timeout = '7s';
CREATE INDEX orders_status_idx ON orders (status);
ALTER TABLE orders ADD COLUMN note text;
