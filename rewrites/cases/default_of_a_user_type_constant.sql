-- A constant of a user's type is made once, when the statement is parsed: `'active'::mood` is no
-- volatile default (the column is added without a rewrite, and pgsafe adds only the timeouts),
-- while a cast of a column to a user's type runs that type's code on every row and is not batched.
ALTER TABLE orders ADD COLUMN mood mood DEFAULT 'active'::mood;
UPDATE orders SET mood = status::mood WHERE mood IS NULL;
