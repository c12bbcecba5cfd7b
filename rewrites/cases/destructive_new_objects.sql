-- Objects this draft creates have no users yet: renaming or dropping them is no news.
CREATE TABLE drafts (id bigint, body text);
ALTER TABLE drafts RENAME COLUMN body TO content;
ALTER TABLE orders ADD COLUMN scratch text;
ALTER TABLE orders DROP COLUMN scratch;
DROP TABLE drafts;
