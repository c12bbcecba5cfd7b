-- Each UPDATE is followed by a statement that reads the physical order of its table's rows: the
-- batches, each committed, would leave the rows in another order, so each runs once, as written.
UPDATE users SET email_normalized = lower(email);
DELETE FROM users a USING users b WHERE a.ctid < b.ctid AND a.email_normalized = b.email_normalized;
UPDATE orders SET note = 'migrated' WHERE status = 'created';
ALTER TABLE orders ADD COLUMN position bigserial;
UPDATE line_items SET qty = 1 WHERE qty IS NULL;
INSERT INTO line_item_copies (line_item_id) SELECT id FROM line_items;
-- Nothing after it reads the physical order of accounts: batched.
UPDATE accounts SET plan = 'free' WHERE plan IS NULL;
