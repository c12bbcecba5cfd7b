-- set_config(name, value, false) is a SET in a function's clothes (pg_dump starts its files with
-- one): later steps, each a new session, repeat it as they repeat a SET, or the INSERT would store
-- NULL where the draft stores 'acme'.
SELECT pg_catalog.set_config('myapp.tenant', 'acme', false);
CREATE INDEX orders_user_lookup_idx ON orders (user_id);
INSERT INTO order_notes (order_id, body) VALUES (1, current_setting('myapp.tenant', true));
