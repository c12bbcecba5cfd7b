-- Session-wide short timeouts, then a concurrent build and a validation that can take minutes.
-- Their steps wait for locks without limit (lock_timeout = 0: they block no traffic), and keep
-- the draft's own statement_timeout: the draft gives up on them after 5 s, so the plan does too
-- (until the thirty-eighth pass their steps set statement_timeout = 0 and ran them to their end).
SET lock_timeout = '2s';
SET statement_timeout = '5s';
CREATE INDEX CONCURRENTLY idx_orders_user_id ON orders (user_id);
ALTER TABLE orders ADD CONSTRAINT orders_amount_nonneg CHECK (amount >= 0) NOT VALID;
ALTER TABLE orders VALIDATE CONSTRAINT orders_amount_nonneg;
