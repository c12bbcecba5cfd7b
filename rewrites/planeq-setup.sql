-- Schema the golden cases in rewrites/cases/ run against (for /work/shared/tools/planeq.py
-- --setup): the shared orders/users tables, plus the objects some cases drop, rebuild or alter.
\if :{?users}
\else
\set users 1000
\endif
\if :{?rows}
\else
\set rows 20000
\endif
CREATE TABLE users(id bigserial PRIMARY KEY, email text);
CREATE TABLE orders(
    id bigserial PRIMARY KEY,
    user_id bigint,
    status text,
    amount numeric,
    created_at timestamptz
);
INSERT INTO users(email)
SELECT 'user' || g || '@example.test' FROM generate_series(1, :users) g;
INSERT INTO orders(user_id, status, amount, created_at)
SELECT 1 + (g % :users),
       (ARRAY['new', 'paid', 'shipped'])[1 + g % 3],
       (g % 10000) / 100.0,
       now() - g * interval '1 second'
FROM generate_series(1, :rows) g;

CREATE INDEX idx_orders_status ON orders (status);
CREATE INDEX idx_orders_created_at ON orders (created_at);
CREATE INDEX idx_orders_amount ON orders (amount);
CREATE TYPE order_state AS ENUM ('new', 'paid');
ALTER TABLE orders ADD COLUMN state order_state;
CREATE TABLE "Orders"(id bigserial PRIMARY KEY, "userId" bigint, total numeric);
INSERT INTO "Orders"("userId", total) SELECT 1 + (g % :users), g FROM generate_series(1, 100) g;
CREATE TABLE events(id bigserial, created_at timestamptz NOT NULL, payload text) PARTITION BY RANGE (created_at);
CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
VACUUM ANALYZE users;
VACUUM ANALYZE orders;

-- A table created without a primary key (cases primary_key.sql).
CREATE TABLE order_notes(id bigint, order_id bigint, body text);
INSERT INTO order_notes SELECT g, g, 'note ' || g FROM generate_series(1, 1000) g;

-- A standalone table with rows, attached as a partition of events by case attach_partition.sql.
CREATE TABLE events_2025 (LIKE events);
INSERT INTO events_2025(id, created_at, payload)
SELECT g, '2025-01-01'::timestamptz + g * interval '1 minute', 'e' || g FROM generate_series(1, 1000) g;

-- A table whose foreign key references users (case destructive_foreign_keys.sql).
CREATE TABLE user_sessions(id bigserial PRIMARY KEY, user_id bigint REFERENCES users (id), token text);
