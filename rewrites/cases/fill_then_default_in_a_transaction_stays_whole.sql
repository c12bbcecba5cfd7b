-- A fill, then the column's default, in one transaction: split, the batched fill committed first
-- and a row inserted before the default's step got NULL, so the VALIDATE of the NOT NULL check
-- failed (and inserts kept failing on the NOT VALID check), where the draft's insert waits and
-- gets 'en' (found by a probe). From the fill to the default the draft stays as written, in one
-- transaction step; the ADD COLUMN before it still commits alone.
BEGIN;
ALTER TABLE users ADD COLUMN locale text;
UPDATE users SET locale = 'en';
ALTER TABLE users ALTER COLUMN locale SET NOT NULL;
ALTER TABLE users ALTER COLUMN locale SET DEFAULT 'en';
COMMIT;
