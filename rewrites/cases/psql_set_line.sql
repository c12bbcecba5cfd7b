\set ON_ERROR_STOP on
\set tbl orders
CREATE INDEX idx_orders_user_id ON orders (user_id);
