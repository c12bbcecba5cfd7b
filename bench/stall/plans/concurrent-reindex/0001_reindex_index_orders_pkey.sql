-- pgsafe step 1 of 1 · autocommit: REINDEX CONCURRENTLY cannot run inside a transaction block
-- from /work/main/bench/stall/concurrent-reindex.sql line 2 · rules: concurrent-reindex
-- concurrent-reindex: rebuild the primary key index (the one every read and update by id uses).
SET lock_timeout = 0;
SET statement_timeout = 0;
REINDEX INDEX CONCURRENTLY orders_pkey;
