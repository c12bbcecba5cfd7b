PREPARE touch (bigint) AS UPDATE orders SET status = 'paid' WHERE id = $1;
ROLLBACK;
DROP INDEX a;
EXECUTE touch(1);
