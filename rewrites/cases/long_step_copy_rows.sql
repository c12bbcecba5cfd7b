-- Copying rows inside the draft's DDL transaction reads every row of the source under the
-- transaction's ACCESS EXCLUSIVE lock on orders, and the step's short statement_timeout cancels it
-- on a large table: a long-step warning. Inserting a few literal rows is not long.
BEGIN;
ALTER TABLE orders ADD COLUMN note2 text;
INSERT INTO order_notes (id, order_id, body) VALUES (100001, 1, 'seed');
INSERT INTO order_notes (id, order_id, body) SELECT id + 200000, id, 'copied' FROM orders WHERE id < 10;
COMMIT;
