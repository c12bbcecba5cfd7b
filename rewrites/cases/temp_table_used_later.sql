-- A temporary table lives only in the session that creates it, and each plan step is a new
-- session: from its creation to its last use the draft stays as written, in one step.
CREATE TEMP TABLE big_spenders AS SELECT user_id FROM orders GROUP BY user_id HAVING sum(amount) > 100;
CREATE INDEX idx_orders_user_id ON orders (user_id);
UPDATE users SET email = lower(email) WHERE id IN (SELECT user_id FROM big_spenders);
DROP TABLE big_spenders;
CREATE INDEX idx_orders_status_created ON orders (status, created_at);
