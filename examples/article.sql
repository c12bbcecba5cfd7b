-- The article's example: an index for a slow query, and a foreign key.
CREATE INDEX idx_orders_customer_id ON orders(customer_id);

ALTER TABLE orders
ADD CONSTRAINT fk_orders_users FOREIGN KEY (user_id) REFERENCES users(id);
