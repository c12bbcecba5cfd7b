-- ALTER TABLE ALL IN TABLESPACE and ALTER MATERIALIZED VIEW ALL IN TABLESPACE move relations the
-- draft does not name: PostgreSQL 15 holds ACCESS EXCLUSIVE on each table (or materialized view)
-- it moves (none on their indexes, which stay where they are), to the end of the transaction, and
-- copies it. Reads and writes of those tables wait: the statement waits under lock_timeout, and
-- its step is a long one. `ALL` bare names no table; "all" quoted is a table named all.
ALTER TABLE ALL IN TABLESPACE pg_default SET TABLESPACE fast;
ALTER TABLE ALL IN TABLESPACE slow OWNED BY app, CURRENT_USER SET TABLESPACE fast NOWAIT;
ALTER MATERIALIZED VIEW ALL IN TABLESPACE pg_default SET TABLESPACE fast;
ALTER TABLE "all" SET TABLESPACE fast;
