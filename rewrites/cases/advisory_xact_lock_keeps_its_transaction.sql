-- pg_advisory_xact_lock holds its lock until COMMIT: whatever else takes the same lock (another
-- deploy's copy of this migration, a job) waits for the whole transaction. pgsafe split the
-- transaction around CREATE INDEX CONCURRENTLY, and the lock ended with the first step. The
-- transaction stays whole, as written, with timeouts.
BEGIN;
SELECT pg_advisory_xact_lock(4242);
CREATE INDEX orders_note_idx ON orders (note);
UPDATE orders SET note = 'locked' WHERE id = 1;
COMMIT;
