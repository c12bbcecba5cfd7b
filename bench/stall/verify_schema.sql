-- The tables of ../../../shared/tools/setup_orders.sql, for `pgsafe verify --schema`.
CREATE TABLE users(id bigserial PRIMARY KEY, email text);
CREATE TABLE orders(
    id bigserial PRIMARY KEY,
    user_id bigint,
    status text,
    amount numeric,
    created_at timestamptz
);
