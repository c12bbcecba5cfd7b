-- pgsafe:IGNORE
ALTER TABLE resources ADD COLUMN x int;
CREATE INDEX i ON t (c);
