-- PostgreSQL names an unnamed unique constraint's index `<table>_<columns>_key` among the names of
-- its schema: the same table in two schemas (a schema per tenant) gets `users_email_key` in both.
-- pgsafe chose names among all the draft's, so the second tenant's constraint came out
-- `users_email_key1`: a schema other than the draft's.
ALTER TABLE tenant_a.users ADD UNIQUE (email);
ALTER TABLE tenant_b.users ADD UNIQUE (email);
ALTER TABLE tenant_b.users ADD UNIQUE (email);
