-- pgsafe step 1 of 1 · autocommit: DROP INDEX CONCURRENTLY cannot run inside a transaction block
-- from /work/main/bench/stall/concurrent-drop-index.sql line 2 · rules: concurrent-drop-index
-- concurrent-drop-index: drop an index nobody uses (setup_with_index.sql creates it).
SET lock_timeout = 0;
SET statement_timeout = 0;
DROP INDEX CONCURRENTLY orders_created_at_idx;
