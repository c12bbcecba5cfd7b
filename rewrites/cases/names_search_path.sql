-- billing.orders is new; the unqualified orders is public.orders, which is live, until the
-- search_path puts billing first.
CREATE TABLE billing.orders (id bigserial PRIMARY KEY, status text);
CREATE INDEX idx_orders_status ON orders (status);
CREATE INDEX idx_billing_orders_status ON billing.orders (status);
SET search_path TO billing, public;
CREATE INDEX idx_orders_status_2 ON orders (status);
