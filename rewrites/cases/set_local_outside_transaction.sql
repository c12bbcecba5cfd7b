-- SET LOCAL outside a transaction block does nothing: it is no lock_timeout, and the plan keeps
-- it before the step's BEGIN, where it does nothing either.
SET LOCAL lock_timeout = '1s';
ALTER TABLE orders ALTER COLUMN amount SET DEFAULT 1;
