-- A new table has no traffic: no dance needed for it.
CREATE TABLE order_items (
    id bigserial PRIMARY KEY,
    order_id bigint NOT NULL,
    sku text,
    qty int
);
CREATE INDEX idx_order_items_order_id ON order_items (order_id);
ALTER TABLE order_items ADD CONSTRAINT fk_order_items_orders FOREIGN KEY (order_id) REFERENCES orders (id);
ALTER TABLE order_items ADD CHECK (qty > 0);
-- ...but the existing orders table still needs one.
CREATE INDEX idx_orders_user_id ON orders (user_id);
