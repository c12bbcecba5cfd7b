-- A psql \if block around statements pgsafe would rewrite and split: a step holding part of the
-- block would run them whatever the condition, so the block stays whole and as written.
\if :apply
CREATE INDEX i ON t (a);
ALTER TABLE t ADD COLUMN b int;
\else
ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES p (id);
\endif
CREATE INDEX k ON t (b);
\if :x
CREATE INDEX j ON t (a);
