-- ALTER DATABASE … SET search_path is a default for the sessions that start after it: the draft's
-- own session keeps its path, and orders below is public.orders. Each later step of a plan is a
-- new session, which would take the new default and find billing.orders instead. From the ALTER
-- on, the draft stays in one step, as written.
CREATE INDEX orders_created_at_idx ON orders (created_at);
ALTER DATABASE app SET search_path = billing, public;
CREATE INDEX orders_note_idx ON orders (note);
INSERT INTO orders (id) VALUES (900001);
