-- Nested deeper than the parser follows: said so, never silently left alone.
UPDATE orders SET amount = ((((((((((((((((((((((((((((((((((((((((((((((((((1)))))))))))))))))))))))))))))))))))))))))))))))))) WHERE id = 1;
ALTER TABLE orders ADD CONSTRAINT orders_amount_check CHECK (amount > ((((((((((((((((((((((((((((((((((((((((((((((((((1)))))))))))))))))))))))))))))))))))))))))))))))))));
