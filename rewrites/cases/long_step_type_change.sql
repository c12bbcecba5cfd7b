-- golden: schema=planeq-setup.sql
-- A rewrite under the short statement_timeout: cancelled on a large table. The second one chose
-- its own statement_timeout: no hint.
ALTER TABLE orders ALTER COLUMN amount TYPE numeric(14,2);
SET statement_timeout = '30min';
ALTER TABLE users ALTER COLUMN email TYPE varchar(320);
