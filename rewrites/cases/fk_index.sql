-- golden: schema=planeq-setup.sql
-- order_notes.order_id has no index; orders.user_id gets one later in this draft.
ALTER TABLE order_notes ADD CONSTRAINT order_notes_order_fk FOREIGN KEY (order_id) REFERENCES orders (id);
ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id);
CREATE INDEX idx_orders_user_id ON orders (user_id);
