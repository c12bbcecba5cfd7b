-- written on Windows
CREATE INDEX idx_orders_user_id ON orders (user_id);
ALTER TABLE orders ADD CHECK (amount >= 0);
