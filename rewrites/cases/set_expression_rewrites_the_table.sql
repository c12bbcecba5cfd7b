-- golden: pg-version=17
-- SET EXPRESSION (PostgreSQL 17+) computes the generated column again for every row: a rewrite
-- under ACCESS EXCLUSIVE, reported as a long step (it passed as a catalogue change).
ALTER TABLE orders ALTER COLUMN total SET EXPRESSION AS (amount * 3);
