-- The rows of ../../../shared/tools/setup_orders.sql (100,000 users, 2,000,000 orders), for `pgsafe verify --seed`.
INSERT INTO users(email)
SELECT 'user' || g || '@example.test' FROM generate_series(1, 100000) g;
INSERT INTO orders(user_id, status, amount, created_at)
SELECT 1 + (g % 100000),
       (ARRAY['new', 'paid', 'shipped'])[1 + g % 3],
       (g % 10000) / 100.0,
       now() - g * interval '1 second'
FROM generate_series(1, 2000000) g;
VACUUM ANALYZE users;
VACUUM ANALYZE orders;
