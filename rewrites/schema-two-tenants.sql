-- Two tables named orders: public's, plain, and billing's, partitioned.
CREATE SCHEMA billing;
CREATE TABLE public.orders (id bigint PRIMARY KEY, total numeric);
CREATE TABLE billing.orders (id bigint NOT NULL, total numeric, placed date NOT NULL) PARTITION BY RANGE (placed);
CREATE TABLE billing.orders_2024 PARTITION OF billing.orders FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
