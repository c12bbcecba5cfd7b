-- golden: schema=planeq-setup.sql
-- order_notes gets a foreign key to orders; dropping orders later names it as the one to drop first.
ALTER TABLE order_notes ADD CONSTRAINT order_notes_order_fk FOREIGN KEY (order_id) REFERENCES orders (id) NOT VALID;
DROP TABLE orders CASCADE;
