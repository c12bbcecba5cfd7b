-- The key's deferrability goes to USING INDEX, which takes the same words and sets the index's
-- indimmediate as the key does (measured on PostgreSQL 15).
ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email) DEFERRABLE INITIALLY DEFERRED;
