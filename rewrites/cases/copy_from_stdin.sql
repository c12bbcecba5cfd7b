-- Statements after COPY … FROM stdin data are analysed like any other.
COPY order_notes (order_id, body) FROM stdin;
1	it's here
2	\N
\.
CREATE INDEX idx_orders_status ON orders (status);
