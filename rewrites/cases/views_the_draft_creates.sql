-- A view or materialized view the draft creates has no traffic yet: replacing, altering,
-- refreshing or dropping it later in the draft waits on no query, so it needs no lock_timeout (as
-- a table the draft creates). One the draft renamed, or did not create, may have traffic.
CREATE VIEW paid_orders AS SELECT id, user_id FROM orders WHERE status = 'paid';
CREATE OR REPLACE VIEW paid_orders AS SELECT id, user_id, amount FROM orders WHERE status = 'paid';
ALTER VIEW paid_orders ALTER COLUMN amount SET DEFAULT 0;
CREATE MATERIALIZED VIEW order_totals AS SELECT user_id, sum(amount) AS total FROM orders GROUP BY user_id;
ALTER MATERIALIZED VIEW order_totals RENAME COLUMN total TO amount;
REFRESH MATERIALIZED VIEW order_totals;
DROP MATERIALIZED VIEW order_totals;
-- Renamed, it may take the name of a view with traffic (the swap): counted live there.
ALTER VIEW paid_orders RENAME TO settled_orders;
CREATE OR REPLACE VIEW settled_orders AS SELECT id, user_id, amount FROM orders WHERE status = 'paid';
-- Not created by the draft.
CREATE OR REPLACE VIEW shipped_orders AS SELECT id FROM orders WHERE status = 'shipped';
