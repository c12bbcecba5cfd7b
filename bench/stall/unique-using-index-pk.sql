-- unique-using-index (PRIMARY KEY): orders lost its primary key (setup_no_pk.sql); put it back.
ALTER TABLE orders ADD PRIMARY KEY (id);
