-- COMMIT AND CHAIN commits and at once begins the next transaction, with the same modes. pgsafe
-- read it as a plain COMMIT, so the statements after it ran outside any transaction: the index was
-- built CONCURRENTLY in a step of its own and stayed, where the draft rolls the chained transaction
-- back. Both transactions now run as written in one step.
BEGIN;
INSERT INTO users (email) VALUES ('chain@example.com');
COMMIT AND CHAIN;
CREATE INDEX orders_note_idx ON orders (note);
UPDATE orders SET note = 'chained' WHERE id = 1;
ROLLBACK;
