-- golden: schema=planeq-setup.sql
-- planeq-setup.sql: orders.status text with an index, users.email text without one.
-- The same type with another collation keeps the table, but PostgreSQL 15 builds the indexes on
-- the column again (a new relfilenode for the index, the table's unchanged): type-change and
-- long-step say so, where the statement used to pass as free of a scan. On a column without an
-- index it costs nothing.
ALTER TABLE orders ALTER COLUMN status TYPE text COLLATE "C";
ALTER TABLE users ALTER COLUMN email TYPE text COLLATE "C";
