DROP INDEX idx_orders_status, idx_orders_created_at;
DROP INDEX idx_orders_amount CASCADE;
