-- COPY … FROM stdin ends at its data's \. line: nothing is appended to it.
UPDATE orders SET status = 'paid' WHERE status = 'new';
COPY order_notes (order_id, body) FROM stdin;
900	x
901	y
\.
