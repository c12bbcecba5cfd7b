-- golden: schema=planeq-setup.sql
-- planeq-setup.sql: orders.status text, amount numeric, user_id bigint, created_at timestamptz.
ALTER TABLE orders ALTER COLUMN status TYPE varchar;
ALTER TABLE orders ALTER COLUMN amount TYPE numeric(12,2);
ALTER TABLE orders ALTER COLUMN user_id TYPE integer;
ALTER TABLE orders ALTER COLUMN created_at TYPE timestamp;
ALTER TABLE users ALTER COLUMN email TYPE varchar(255);
ALTER TABLE orders ADD COLUMN code varchar(10);
ALTER TABLE orders ALTER COLUMN code TYPE varchar(20);
