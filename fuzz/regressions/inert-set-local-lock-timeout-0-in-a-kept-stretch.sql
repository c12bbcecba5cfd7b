BEGIN;
COMMIT;
SELECT (;
SET LOCAL lock_timeout = 0;
ALTER TABLE orders ADD COLUMN note text;
