-- A copy of a column, then the trigger that keeps it in sync, in one transaction: split, rows
-- written between the batched fill and the trigger's step kept a stale copy for good (found by a
-- probe). From the fill to the trigger the draft stays as written, in one transaction step.
CREATE FUNCTION users_sync_name() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.name := NEW.full_name;
  RETURN NEW;
END $$;
BEGIN;
ALTER TABLE users ADD COLUMN name varchar(100);
UPDATE users SET name = full_name;
CREATE TRIGGER users_sync_name BEFORE INSERT OR UPDATE ON users FOR EACH ROW EXECUTE FUNCTION users_sync_name();
COMMIT;
