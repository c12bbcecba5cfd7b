-- golden: schema=planeq-setup.sql
-- user_sessions references users (planeq-setup.sql): the drop names that foreign key as the one to drop first.
DROP TABLE users CASCADE;
