-- PostgreSQL refuses this key as written (a constraint declared INITIALLY DEFERRED must be
-- DEFERRABLE): it stays as written, since a concurrent build before it would leave an index.
ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email) NOT DEFERRABLE INITIALLY DEFERRED;
