CREATE INDEX CONCURRENTLY idx_orders_user_id ON orders (user_id);
DROP INDEX CONCURRENTLY IF EXISTS idx_orders_status;
REINDEX INDEX CONCURRENTLY idx_orders_amount;
