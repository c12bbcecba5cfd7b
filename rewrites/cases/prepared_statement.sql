PREPARE touch (bigint) AS UPDATE orders SET status = 'paid' WHERE id = $1;
EXECUTE touch(1);
CREATE INDEX idx_orders_amount_status ON orders (amount, status);
EXECUTE touch(2);
