-- A psql variable the draft unsets stays unset in the steps after it: each later step repeats the
-- last `\set` or `\unset` of a variable (before, it repeated the `\set`, and the table below
-- recorded the variable as set).
\set batch_size 100
\unset batch_size
CREATE INDEX orders_status_idx ON orders (status);
CREATE TABLE batch_flags AS SELECT :{?batch_size} AS batch_size_set;
