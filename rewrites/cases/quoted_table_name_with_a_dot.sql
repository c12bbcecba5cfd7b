-- A dot inside a quoted table name is part of the name: PostgreSQL names the unnamed keys
-- "my.table_pkey" and "my.table_code_key", and so must the indexes pgsafe builds for them.
ALTER TABLE "my.table" ADD PRIMARY KEY (id), ADD UNIQUE (code);
