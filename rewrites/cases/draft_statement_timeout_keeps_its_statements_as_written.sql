-- The draft bounds every statement with a statement_timeout of its own (as squawk's
-- require-timeout-settings asks). A concurrent build would run without it, to its end, where the
-- draft's build is cancelled after 5 s: under the draft's own bound, the rules that turn a
-- statement into work without a statement timeout leave it as written and say so.
SET lock_timeout = '2s';
SET statement_timeout = '5s';
ALTER TABLE orders ADD COLUMN note text;
CREATE INDEX idx_orders_user_id ON orders (user_id);
ALTER TABLE orders ADD CONSTRAINT orders_amount_nonneg CHECK (amount >= 0);
