-- every order needs a status
ALTER TABLE orders ALTER COLUMN status SET NOT NULL;
