-- pgsafe step 1 of 2 · transaction: the constraint is added NOT VALID, so the SHARE ROW EXCLUSIVE lock on orders is brief
-- from /work/main/bench/stall/fk-not-valid.sql line 2 · rules: fk-not-valid, timeouts
-- fk-not-valid: every order points at a user.
BEGIN;
SET LOCAL lock_timeout = '2s';
SET LOCAL statement_timeout = '5s';
ALTER TABLE orders ADD CONSTRAINT orders_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;
COMMIT;
