-- setup: shop.sql
-- A draft edited on two systems: its lines end in CRLF, but for one line break inside a string.
-- pgsafe writes CRLF for such a draft only where every line does: a `\r` added before that line
-- break would change the row the plan inserts.
CREATE INDEX order_notes_body ON order_notes (body);
INSERT INTO order_notes (order_id, body) VALUES (901, 'two
lines');
