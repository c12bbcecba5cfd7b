-- A foreign key declared DEFERRABLE INITIALLY DEFERRED (as Django declares every one) checks the
-- rows a transaction writes at its COMMIT: the draft inserts the gift before its order. pgsafe
-- split the transaction around CREATE INDEX CONCURRENTLY, and the first step's COMMIT checked the
-- key before the order existed: the plan failed where the draft succeeds. The transaction stays
-- whole, as written, with timeouts; the step says why in a fact line, so it stays a fixed point.
CREATE TABLE order_gifts (order_id bigint REFERENCES orders (id) DEFERRABLE INITIALLY DEFERRED, note text);
BEGIN;
INSERT INTO order_gifts (order_id, note) VALUES (900002, 'late');
CREATE INDEX orders_note_idx ON orders (note);
INSERT INTO orders (id) VALUES (900002);
COMMIT;
