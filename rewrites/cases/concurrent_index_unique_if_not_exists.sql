CREATE UNIQUE INDEX IF NOT EXISTS users_email_uidx ON users USING btree (lower(email)) WHERE email IS NOT NULL;
CREATE INDEX ON orders (created_at DESC);
