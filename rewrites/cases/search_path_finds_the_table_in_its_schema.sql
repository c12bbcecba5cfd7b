-- golden: schema=schema-two-tenants.sql
-- Under search_path billing, orders is billing.orders, which is partitioned: PostgreSQL refuses
-- CREATE INDEX CONCURRENTLY on it, so the index is built per partition (a warning with the
-- recipe). pgsafe took orders for public.orders and wrote CONCURRENTLY: the step failed.
SET search_path = billing;
CREATE INDEX orders_total_idx ON orders (total);
