-- SELECT … FOR UPDATE locks the rows it returns until COMMIT, for the read-modify-write that
-- follows: split, the row locks would end with the first step. The transaction stays whole.
BEGIN;
SELECT id FROM orders WHERE user_id = 3 FOR UPDATE;
UPDATE orders SET amount = amount + 10 WHERE user_id = 3;
CREATE INDEX orders_user_id_idx ON orders (user_id);
COMMIT;
