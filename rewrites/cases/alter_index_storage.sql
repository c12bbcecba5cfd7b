-- golden: schema=planeq-setup.sql
-- Index storage: btree parameters take SHARE UPDATE EXCLUSIVE on the index (no read or write
-- waits); SET TABLESPACE copies the index under ACCESS EXCLUSIVE, which every read and write of
-- orders waits for (the schema shows the indexes' table): a long step.
ALTER INDEX idx_orders_status SET (fillfactor = 70);
ALTER INDEX IF EXISTS public.idx_orders_amount RESET (fillfactor, deduplicate_items);
ALTER INDEX idx_orders_created_at SET TABLESPACE fast;
