-- golden: schema=planeq-setup.sql
-- Each statement breaks the application code that is running, or holds ACCESS EXCLUSIVE for a whole copy.
ALTER TABLE orders RENAME COLUMN amount TO total;
ALTER TABLE orders DROP COLUMN status;
ALTER TABLE orders ALTER COLUMN created_at DROP NOT NULL;
ALTER TABLE users SET TABLESPACE pg_default;
VACUUM FULL orders;
CLUSTER orders USING orders_pkey;
BEGIN;
LOCK TABLE users IN SHARE MODE;
SELECT count(*) FROM users;
COMMIT;
TRUNCATE order_notes;
ALTER TABLE "Orders" RENAME TO legacy_orders;
DROP TABLE legacy_orders;
