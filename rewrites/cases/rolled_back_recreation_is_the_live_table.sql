-- A table the draft drops and creates again in a transaction it rolls back is the live table again
-- after the rollback, with its rows and its traffic: the index after it is built CONCURRENTLY, the
-- ALTER TABLE runs under lock_timeout, and no step says the table was created earlier.
BEGIN;
DROP TABLE users CASCADE;
CREATE TABLE users (id bigserial PRIMARY KEY, email text);
SAVEPOINT keep_users;
ROLLBACK TO SAVEPOINT keep_users;
ROLLBACK;
CREATE INDEX users_email_idx ON users (email);
ALTER TABLE users ADD COLUMN nickname text;
