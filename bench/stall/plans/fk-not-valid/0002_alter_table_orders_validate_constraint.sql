-- pgsafe step 2 of 2 · transaction: VALIDATE scans under SHARE UPDATE EXCLUSIVE; reads and writes go on
-- from /work/main/bench/stall/fk-not-valid.sql line 2 · rules: fk-not-valid
BEGIN;
SET LOCAL statement_timeout = 0;
ALTER TABLE orders VALIDATE CONSTRAINT orders_user_id_fkey;
COMMIT;
