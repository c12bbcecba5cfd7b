-- ALTER INDEX ALL IN TABLESPACE moves indexes the draft does not name: PostgreSQL 15 holds ACCESS
-- EXCLUSIVE on each one it moves (none on their tables), to the end of the transaction, and copies
-- it. Reads and writes of their tables wait, as they open their indexes: the statement waits under
-- lock_timeout, and its step is a long one.
ALTER INDEX ALL IN TABLESPACE pg_default SET TABLESPACE fast;
ALTER INDEX ALL IN TABLESPACE slow OWNED BY app, CURRENT_USER SET TABLESPACE fast NOWAIT;
