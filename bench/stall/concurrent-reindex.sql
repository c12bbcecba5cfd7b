-- concurrent-reindex: rebuild the primary key index (the one every read and update by id uses).
REINDEX INDEX orders_pkey;
