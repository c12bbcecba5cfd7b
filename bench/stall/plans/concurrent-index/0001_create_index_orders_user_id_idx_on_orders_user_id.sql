-- pgsafe step 1 of 1 · autocommit: CREATE INDEX CONCURRENTLY cannot run inside a transaction block
-- from /work/main/bench/stall/concurrent-index.sql line 2 · rules: concurrent-index
-- concurrent-index: an index for lookups by user.
SET lock_timeout = 0;
SET statement_timeout = 0;
CREATE INDEX CONCURRENTLY orders_user_id_idx ON orders (user_id);
