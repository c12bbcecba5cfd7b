-- A primary key's INCLUDE columns stay nullable: only the key's columns are proved NOT NULL.
ALTER TABLE order_notes ADD PRIMARY KEY (id) INCLUDE (body) NOT DEFERRABLE;
