-- A CREATE TABLE whose list never opens is no table of no columns (fifteenth fuzz run):
-- the hand reader leaves it to sqlparser, which refuses it.
CREATE TABLE t);
CREATE INDEX i ON t (a);
