-- CREATE TABLE IF NOT EXISTS may find orders already there, with its traffic: the statements on
-- orders after it are rewritten as for any live table.
CREATE TABLE IF NOT EXISTS orders (id bigserial PRIMARY KEY, user_id bigint, status text);
CREATE INDEX idx_orders_status ON orders (status);
ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id);
