-- A VALIDATE (or a REFRESH MATERIALIZED VIEW CONCURRENTLY) runs without a short statement_timeout,
-- under a lock no ordinary query waits for: the row work of the draft's transaction around it
-- shares its step, and the transaction stays whole. A traffic-blocking statement after it starts
-- a step of its own (it needs the short timeouts), and the draft's NOT VALID add is never in the
-- VALIDATE's transaction.
CREATE INDEX orders_status_idx ON orders (status);
ALTER TABLE orders ADD CONSTRAINT orders_amount_nonneg CHECK (amount >= 0) NOT VALID;
CREATE MATERIALIZED VIEW order_totals AS SELECT user_id, count(*) AS n FROM orders GROUP BY user_id;
CREATE UNIQUE INDEX order_totals_user_id ON order_totals (user_id);
BEGIN;
INSERT INTO orders (user_id, amount, status) VALUES (1, 10, 'new');
ALTER TABLE orders VALIDATE CONSTRAINT orders_amount_nonneg;
REFRESH MATERIALIZED VIEW CONCURRENTLY order_totals;
INSERT INTO users (email) VALUES ('new@example.test');
COMMIT;
BEGIN;
ALTER TABLE orders ADD CONSTRAINT orders_user_id_set CHECK (user_id IS NOT NULL) NOT VALID;
ALTER TABLE orders VALIDATE CONSTRAINT orders_user_id_set;
ALTER TABLE users ADD COLUMN note text;
COMMIT;
