-- golden: schema=schema-deferred-key.sql
-- The schema's key on order_gifts is checked at COMMIT (INITIALLY DEFERRED): the transaction
-- writes a gift before its order, so splitting it around CREATE INDEX CONCURRENTLY would check the
-- key too early. The index built before the transaction still gets its recipe.
CREATE INDEX orders_status_idx ON orders (status);
BEGIN;
INSERT INTO order_gifts (order_id, note) VALUES (900003, 'late');
CREATE INDEX orders_note_idx ON orders (note);
INSERT INTO orders (id) VALUES (900003);
COMMIT;
