-- SET CONSTRAINTS ALL DEFERRED leaves the foreign key's check to COMMIT: the draft inserts the
-- gift before its order. pgsafe split the transaction around CREATE INDEX CONCURRENTLY, and the
-- first step's COMMIT checked the key before the order existed: the plan failed where the draft
-- succeeds. The transaction stays whole, as written, with timeouts.
CREATE TABLE order_gifts (order_id bigint REFERENCES orders (id) DEFERRABLE, note text);
BEGIN;
SET CONSTRAINTS ALL DEFERRED;
INSERT INTO order_gifts (order_id, note) VALUES (900001, 'late');
CREATE INDEX orders_note_idx ON orders (note);
INSERT INTO orders (id) VALUES (900001);
COMMIT;
