-- set-not-null: every order has a user.
ALTER TABLE orders ALTER COLUMN user_id SET NOT NULL;
