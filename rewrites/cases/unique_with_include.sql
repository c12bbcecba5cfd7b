-- INCLUDE (…) is the index's: the concurrent build gets it, and USING INDEX makes the same key
-- (`UNIQUE (email) INCLUDE (id)`, indnkeyatts 1 of 2, measured on PostgreSQL 15).
ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email) INCLUDE (id);
