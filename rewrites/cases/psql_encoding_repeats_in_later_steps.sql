-- psql's \encoding sets the client encoding the server converts the draft's text from. Each later
-- step of a plan is a new session: without the \encoding it stored this UTF-8 'é' as 'é' where
-- the draft, read as LATIN1, stored 'Ã©'. Later steps repeat it, as they repeat a SET.
\encoding LATIN1
CREATE INDEX orders_user_lookup_idx ON orders (user_id);
INSERT INTO order_notes (order_id, body) VALUES (1, 'café');
