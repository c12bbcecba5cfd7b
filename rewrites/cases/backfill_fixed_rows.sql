-- Batched over the rows fixed before the first batch: a trigger that rewrites email (or a json
-- column without equality) cannot make the loop pick rows again.
UPDATE users SET email = 'Support@Example.COM' WHERE id <= 1111;
UPDATE docs SET body = '{"migrated": true}' WHERE id % 2 = 0;
