-- A VALIDATE beside another action holds that action's lock for the whole scan (here ACCESS
-- EXCLUSIVE, from SET NOT NULL): its step waits for the lock under lock_timeout like any other,
-- and the scan under the short statement_timeout is a long step.
ALTER TABLE orders ADD CONSTRAINT orders_amount_nonneg CHECK (amount >= 0) NOT VALID;
ALTER TABLE orders VALIDATE CONSTRAINT orders_amount_nonneg, ALTER COLUMN status SET NOT NULL;
