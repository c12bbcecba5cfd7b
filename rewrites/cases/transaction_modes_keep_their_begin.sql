-- BEGIN ISOLATION LEVEL SERIALIZABLE, READ ONLY sets the modes of its one transaction. pgsafe
-- opened each step with its own plain BEGIN and split the transaction around CREATE INDEX
-- CONCURRENTLY: the modes were lost, and a read-only draft that fails at its first write ran in
-- full as a plan. The transaction runs as written, its BEGIN included, after session timeouts.
BEGIN ISOLATION LEVEL SERIALIZABLE, READ ONLY;
SELECT count(*) FROM orders;
CREATE INDEX orders_note_idx ON orders (note);
UPDATE orders SET note = 'seen' WHERE id = 1;
COMMIT;
