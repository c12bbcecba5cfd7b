-- NULLS NOT DISTINCT (PostgreSQL 15) is the index's: CREATE UNIQUE INDEX takes it after INCLUDE and
-- before WITH; an unnamed key is named after its INCLUDE columns too (users_email_id_key).
ALTER TABLE users ADD UNIQUE NULLS NOT DISTINCT (email) INCLUDE (id) WITH (fillfactor = 90);
