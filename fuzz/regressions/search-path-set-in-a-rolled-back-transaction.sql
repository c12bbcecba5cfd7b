-- (seventh fuzz run) A search_path set in a transaction the draft rolls back is undone: the
-- table created after it is found through the path in force then, in the draft as in its step.
BEGIN;);CREATE INDEX ON IN;SET search_path =nowhere;ROLLBACK;CREATE TABLE users(I;
SET search_path =nowhere;CREATE INDEX ON users