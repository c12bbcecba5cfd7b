-- `DISCARD ALL` cannot run inside a transaction block (the plan wrapped it in BEGIN … COMMIT, and
-- the step failed where the draft ran), and it resets every setting, so later steps repeat it
-- after the settings before it (they ran the ALTER under the statement_timeout it had reset).
SET statement_timeout = '5s';
DISCARD ALL;
CREATE INDEX orders_status_idx ON orders (status);
ALTER TABLE orders ADD COLUMN note text;
