-- every order needs a status, a total and a customer, and the pair is its key: one transaction
BEGIN;
ALTER TABLE orders ALTER COLUMN status SET NOT NULL;
ALTER TABLE orders ALTER COLUMN total SET NOT NULL;
ALTER TABLE orders ADD PRIMARY KEY (status, customer_id);
COMMIT;
-- outside a transaction block each statement keeps its own steps
ALTER TABLE users ALTER COLUMN email SET NOT NULL;
ALTER TABLE users ALTER COLUMN name SET NOT NULL;
