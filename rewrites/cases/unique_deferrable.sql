-- A deferrable key stays as written: CREATE INDEX has no DEFERRABLE, so during a concurrent build
-- its index would check traffic's writes at once, and a write that collides only until its
-- transaction ends (what the key lets through) would fail (measured on PostgreSQL 15).
ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email) DEFERRABLE INITIALLY DEFERRED;
