-- Two recipes prove the same column NOT NULL: the names they choose follow the draft,
-- whatever the window (fifteenth fuzz run).
ALTER TABLE q ADD PRIMARY KEY (r);
ALTER TABLE q ALTER COLUMN r SET NOT NULL;
