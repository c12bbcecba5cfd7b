BEGIN;
SET LOCAL lock_timeout = '';
ALTER TABLE orders ADD COLUMN tag text;
ALTER TABLE users ADD COLUMN nick text;
COMMIT;
