DELETE FROM orders WHERE status = 'void';
