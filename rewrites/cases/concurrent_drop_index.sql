-- The status index is unused (pg_stat_user_indexes.idx_scan = 0).
DROP INDEX idx_orders_status;
DROP INDEX IF EXISTS public.idx_orders_created_at;
