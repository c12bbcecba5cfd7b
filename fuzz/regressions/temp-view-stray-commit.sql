CREATE TEMP VIEW ids AS SELECT id FROM users;
COMMIT;
CREATE INDEX orders_note_idx ON orders (note);
DELETE FROM users WHERE id IN (SELECT id FROM ids);
