-- A custom setting's name is qualified (myapp.tenant): later steps, each a new session, repeat it
-- as they repeat any SET, or the INSERT would store NULL where the draft stores 'acme'.
SET myapp.tenant = 'acme';
CREATE INDEX orders_user_lookup_idx ON orders (user_id);
INSERT INTO order_notes (order_id, body) VALUES (1, current_setting('myapp.tenant', true));
