-- setup for concurrent-drop-index: the shared setup plus the index the draft drops.
\ir ../../../shared/tools/setup_orders.sql
CREATE INDEX orders_created_at_idx ON orders (created_at);
