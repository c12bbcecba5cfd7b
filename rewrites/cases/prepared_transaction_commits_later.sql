-- A two-phase commit: PREPARE TRANSACTION ends the transaction block without committing it, and
-- COMMIT PREPARED (here, or in another session) commits it later; until then the prepared
-- transaction holds its locks. The plan keeps it as written, to its PREPARE, in one step (no
-- rewrite that commits on its own, no ROLLBACK of a dry run), and plans what follows as usual.
BEGIN;
ALTER TABLE orders ADD COLUMN note text;
CREATE INDEX orders_note_idx ON orders (note);
PREPARE TRANSACTION 'add_note';
COMMIT PREPARED 'add_note';
CREATE INDEX orders_created_at_idx ON orders (created_at);
