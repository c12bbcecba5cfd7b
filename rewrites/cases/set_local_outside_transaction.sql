-- SET LOCAL outside a transaction block does nothing: it is no lock_timeout, and the plan keeps
-- it before the step's BEGIN, where it does nothing either. (Only in a draft with its own BEGIN:
-- one without may be run in its migration tool's transaction, where SET LOCAL works.)
SET LOCAL lock_timeout = '1s';
ALTER TABLE orders ALTER COLUMN amount SET DEFAULT 2;
BEGIN;
ALTER TABLE orders ALTER COLUMN amount SET DEFAULT 3;
COMMIT;
ALTER TABLE orders ALTER COLUMN amount SET DEFAULT 1;
