-- A CHECK named like the key's first choice (on any table of the schema) makes PostgreSQL name the
-- key users_email_key1; pgsafe does not follow such names through drops and renames, so the key
-- stays as written, and its step records the name as unsure (a `name-taken` fact), so that the
-- step compiled alone stays as it is.
ALTER TABLE orders ADD CONSTRAINT users_email_key CHECK (amount >= 0);
ALTER TABLE users ADD UNIQUE (email);
