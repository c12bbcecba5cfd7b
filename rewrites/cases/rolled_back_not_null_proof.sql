-- A check added in a transaction the draft rolls back proves nothing after it: the SET NOT NULL
-- after the rollback scans orders under ACCESS EXCLUSIVE, so it gets the recipe (a plan that
-- believed the rolled-back proof would run the scan, and claim a proof the database lacks).
BEGIN;
ALTER TABLE orders ADD CONSTRAINT orders_status_nn CHECK (status IS NOT NULL);
ROLLBACK;
ALTER TABLE orders ALTER COLUMN status SET NOT NULL;
