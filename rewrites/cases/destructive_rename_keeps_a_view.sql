-- A rename that keeps the old name working with a view in the same transaction: the finding says
-- the draft does it (and what is left: deploy, then drop the view later), instead of advising the
-- view the draft already creates. The second rename creates its view only after a COMMIT: queries
-- of the old name fail in between, and the finding says so.
BEGIN;
ALTER TABLE orders RENAME TO purchases;
CREATE OR REPLACE VIEW orders AS SELECT * FROM purchases;
COMMIT;
ALTER TABLE users RENAME TO accounts;
CREATE VIEW users AS SELECT * FROM accounts;
