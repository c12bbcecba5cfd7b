-- A schema for golden cases: order_gifts references orders with a key checked at COMMIT.
CREATE TABLE orders(id bigserial PRIMARY KEY, user_id bigint, status text, note text);
CREATE TABLE order_gifts(order_id bigint, note text);
ALTER TABLE ONLY order_gifts ADD CONSTRAINT order_gifts_order_id_fkey FOREIGN KEY (order_id) REFERENCES orders(id) DEFERRABLE INITIALLY DEFERRED;
