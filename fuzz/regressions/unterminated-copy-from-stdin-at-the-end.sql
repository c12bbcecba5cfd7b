-- (seventh fuzz run) A COPY … FROM stdin the draft leaves without its ; at the end reads no data;
-- the step that ends it must not let its COMMIT be read as data.
CREATE INDEX i ON t (a);
COPY t (a) FROM stdin