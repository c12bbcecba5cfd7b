-- SET TRANSACTION sets the modes of the one transaction it runs in. Outside any transaction it
-- does nothing (PostgreSQL warns): pgsafe took it for a session setting and repeated it at the top
-- of later steps. Inside the draft's transaction, pgsafe split the transaction around CREATE INDEX
-- CONCURRENTLY, and the later steps ran without its modes: this read-only draft fails at the
-- CREATE INDEX, and its plan ran in full. The first stays alone in a step (still doing nothing);
-- the transaction stays whole, and fails as the draft does.
SET TRANSACTION READ ONLY;
INSERT INTO users (email) VALUES ('modes@example.com');
BEGIN;
SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY;
SELECT count(*) FROM orders;
CREATE INDEX orders_note_idx ON orders (note);
UPDATE orders SET note = 'seen' WHERE id = 1;
COMMIT;
