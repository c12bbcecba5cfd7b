-- REINDEX SYSTEM has no concurrent form and, like REINDEX SCHEMA/DATABASE, cannot run in a transaction block.
ALTER TABLE orders ADD COLUMN note text;
REINDEX SYSTEM app;
