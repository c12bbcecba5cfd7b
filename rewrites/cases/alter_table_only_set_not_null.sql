-- ALTER TABLE ONLY leaves the tables that inherit from orders alone; the check that would prove
-- the column NOT NULL first would be inherited by them and checked against their rows too, so
-- the statement stays as written (with timeouts). Without ONLY the recipe applies.
ALTER TABLE ONLY orders ALTER COLUMN created_at SET NOT NULL;
ALTER TABLE ONLY orders ADD PRIMARY KEY (id);
ALTER TABLE orders ALTER COLUMN user_id SET NOT NULL;
