-- Data-quality migration: unique emails, a primary key for notes, required user ids.
ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);

ALTER TABLE order_notes ADD PRIMARY KEY (id);

ALTER TABLE orders ALTER COLUMN user_id SET NOT NULL;
