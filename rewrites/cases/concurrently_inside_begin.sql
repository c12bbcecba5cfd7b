-- PostgreSQL refuses this (SQLSTATE 25001): CONCURRENTLY cannot run inside a transaction block.
BEGIN;
SET LOCAL lock_timeout = '2s';
CREATE INDEX CONCURRENTLY idx_orders_user_id ON orders (user_id);
COMMIT;
