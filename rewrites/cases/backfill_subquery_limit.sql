-- Each of these reads more than its own row: batched, it would change other rows than as written.
DELETE FROM line_items WHERE id IN (SELECT id FROM line_items ORDER BY id LIMIT 1000);
DELETE FROM line_items WHERE id > (SELECT max(id) - 50 FROM line_items);
UPDATE orders SET note = 'first' WHERE id IN (SELECT id FROM orders ORDER BY id LIMIT 100);
UPDATE orders o SET note = u.name FROM users u WHERE u.id = o.user_id;
