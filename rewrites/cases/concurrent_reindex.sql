-- Rebuild a bloated index, then every index of users.
REINDEX INDEX idx_orders_amount;
REINDEX TABLE users;
