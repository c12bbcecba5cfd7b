-- The production schema the examples run against (a small copy; the real-PostgreSQL tests load it
-- with a few thousand rows so that scans and validations have work to do).
CREATE TYPE order_status AS ENUM ('new', 'paid');

CREATE TABLE users (
    id bigserial PRIMARY KEY,
    email text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE orders (
    id bigserial PRIMARY KEY,
    user_id bigint,
    customer_id bigint,
    status order_status NOT NULL DEFAULT 'new',
    amount numeric(12, 2) NOT NULL DEFAULT 0,
    note text,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX idx_orders_created_at ON orders (created_at);

INSERT INTO users (email) SELECT 'user' || g || '@example.com' FROM generate_series(1, 2000) g;
INSERT INTO orders (user_id, customer_id, amount)
SELECT 1 + g % 2000, 1 + g % 500, (g % 100) * 1.5 FROM generate_series(1, 10000) g;

-- A table that was created without a primary key.
CREATE TABLE order_notes (id bigint, order_id bigint, body text);
INSERT INTO order_notes SELECT g, 1 + g % 10000, 'note ' || g FROM generate_series(1, 5000) g;
