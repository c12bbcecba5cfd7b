ALTER TABLE order_notes ADD PRIMARY KEY (id);
