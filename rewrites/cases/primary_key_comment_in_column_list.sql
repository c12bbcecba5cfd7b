-- A line comment inside the key's column list: PostgreSQL reads the column `id` alone, so the
-- NOT NULL steps must name `id`, and the copied list must end before the generated `)`.
ALTER TABLE order_notes ADD CONSTRAINT order_notes_pkey PRIMARY KEY (id--entifier
);
