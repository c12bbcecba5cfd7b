-- REINDEX's option list (PostgreSQL 14+) says CONCURRENTLY as the keyword does: left as written,
-- without timeouts. `CONCURRENTLY false` is a plain REINDEX, made concurrent by the keyword.
REINDEX (CONCURRENTLY) TABLE orders;
REINDEX (VERBOSE, CONCURRENTLY true) INDEX idx_orders_amount;
REINDEX (CONCURRENTLY false) INDEX idx_orders_amount;
