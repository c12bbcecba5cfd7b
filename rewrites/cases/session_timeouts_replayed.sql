SET lock_timeout = '2s';
SET statement_timeout = '5s';
ALTER TABLE orders ADD COLUMN note text;
CREATE INDEX idx_orders_user_id ON orders (user_id);
ALTER TABLE orders ADD CHECK (amount >= 0);
