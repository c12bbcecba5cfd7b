-- pgsafe:ignore concurrent-index
CREATE INDEX idx_orders_user_id ON orders (user_id);
-- not ignored:
CREATE INDEX idx_orders_created_at_2 ON orders (created_at);
