-- Words after the referenced table that belong to no clause (PostgreSQL rejects this draft).
-- sqlparser stops quietly at `END`, so its AST misses them: the action is not understood, kept
-- as written with timeouts, and reported, rather than rewritten from what the AST says.
ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users END AS status;
