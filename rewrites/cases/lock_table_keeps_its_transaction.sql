-- LOCK TABLE holds its lock until COMMIT, so that nothing else writes the table meanwhile: the
-- draft numbers the next order from the highest one under EXCLUSIVE. pgsafe split the transaction
-- around CREATE INDEX CONCURRENTLY, and the lock ended with the first step, before the INSERT that
-- relies on it. The transaction stays whole, as written, with timeouts.
BEGIN;
LOCK TABLE orders IN EXCLUSIVE MODE;
CREATE INDEX orders_note_idx ON orders (note);
INSERT INTO orders (id, note) SELECT max(id) + 1, 'next' FROM orders;
COMMIT;
