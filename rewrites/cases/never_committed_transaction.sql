-- The draft forgets its COMMIT: psql ends the session with the file and PostgreSQL rolls the
-- transaction back. The plan keeps that dry run (its step ends in ROLLBACK) instead of committing it.
CREATE INDEX orders_status_idx ON orders (status);
BEGIN;
CREATE INDEX dry_idx ON orders (created_at);
SET search_path = nowhere;
UPDATE public.orders SET status = 'paid' WHERE status = 'new';
