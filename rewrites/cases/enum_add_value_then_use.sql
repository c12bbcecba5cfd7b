BEGIN;
ALTER TYPE order_state ADD VALUE 'shipped';
UPDATE orders SET state = 'shipped' WHERE status = 'shipped';
COMMIT;
