-- A key's index parameters go to the concurrent build: the index keeps its reloptions and tablespace.
ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email) WITH (fillfactor = 70);
ALTER TABLE order_notes ADD PRIMARY KEY (id) WITH (fillfactor = 90, deduplicate_items = off) USING INDEX TABLESPACE pg_default;
-- NOT DEFERRABLE after them: the constraint's, it goes to USING INDEX.
ALTER TABLE users ADD CONSTRAINT users_email_later UNIQUE (email) WITH (fillfactor = 70) NOT DEFERRABLE;
