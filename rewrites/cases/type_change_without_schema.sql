-- Without --schema pgsafe cannot know the old type of status, so it assumes a rewrite.
ALTER TABLE orders ALTER COLUMN status TYPE varchar(100);
