-- `SET SCHEMA 'billing'` is PostgreSQL's alias for `SET search_path TO billing`. pgsafe read it as
-- a setting of its own: `orders` after it still named the public.orders the draft created, and the
-- index on the live billing.orders was left a plain CREATE INDEX, blocking its writes. `SET NAMES`
-- likewise is `client_encoding`: later steps repeat the last of either.
CREATE TABLE orders (id int, user_id bigint);
SET NAMES 'UTF8';
SET SCHEMA 'billing';
CREATE INDEX billing_orders_user_idx ON orders (user_id);
SET client_encoding = 'LATIN1';
ALTER TABLE orders ADD COLUMN note text;
