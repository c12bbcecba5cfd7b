-- Volatility comes from the parsed call, not its spelling: `random ()` is a call.
DELETE FROM orders WHERE random () < 0.01;
UPDATE orders SET token = app.new_token(id) WHERE token IS NULL;
UPDATE orders SET touched_on = current_date WHERE touched_on IS NULL;
ALTER TABLE orders ADD COLUMN score float8 DEFAULT random ();
