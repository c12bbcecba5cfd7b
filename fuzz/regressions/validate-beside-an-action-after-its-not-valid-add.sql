-- (seventh fuzz run) A VALIDATE beside an action pgsafe cannot read is no VALIDATE step; the draft
-- still validates in a later transaction than the NOT VALID add, and so must the plan.
ALTER TABLE orders ADD CONSTRAINT orders_amount_nonneg CHECK(nt)NOT VALID;ALTER TABLE orders VALIDATE CONSTRAINT orders_amount_nonneg, A