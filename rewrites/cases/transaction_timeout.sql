-- transaction_timeout (PostgreSQL 17+) is a session setting, not a transaction mode: the draft
-- still gets its rewrites and steps, and later steps repeat the setting.
SET transaction_timeout = '60s';
CREATE INDEX idx_orders_user ON orders (user_id);
ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id);
