-- Migration: order tracking improvements (drafted by an AI assistant)
BEGIN;

-- Track who touched an order last and speed up lookups by user.
ALTER TABLE orders ADD COLUMN updated_by bigint REFERENCES users (id);
CREATE INDEX orders_user_id_idx ON orders (user_id);

-- Amounts are never negative.
ALTER TABLE orders ADD CHECK (amount >= 0);

-- New status for shipped orders, used as the default for imports.
ALTER TYPE order_status ADD VALUE 'shipped';

-- A new audit table, with its own index (no traffic yet: no dance needed).
CREATE TABLE order_events (
    id bigserial PRIMARY KEY,
    order_id bigint NOT NULL REFERENCES orders (id),
    kind text NOT NULL,
    at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX order_events_order_id_idx ON order_events (order_id);

-- Emails are looked up case-insensitively.
CREATE UNIQUE INDEX users_email_lower_idx ON users (lower(email));

COMMIT;
