-- Tables created in an earlier step, named with a comma and with a line break: the step that
-- uses them lists them in a `-- pgsafe:created-earlier` line, which a re-check must read back.
CREATE TABLE "a, b" (id int);
CREATE TABLE "x
y" (id int);
CREATE INDEX CONCURRENTLY j ON t (c);
CREATE INDEX i ON "a, b" (id);
CREATE INDEX k ON "x
y" (id);
ALTER TABLE "a, b" ADD CONSTRAINT f FOREIGN KEY (id) REFERENCES t (id);
