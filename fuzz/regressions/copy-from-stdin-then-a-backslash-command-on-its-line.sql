-- (seventh fuzz run) psql reads the data from the next line; pgsafe refuses the line.
COPY FROM stdin;\.
CREATE INDEX ON o