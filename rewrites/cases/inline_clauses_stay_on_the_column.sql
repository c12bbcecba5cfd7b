-- The moved REFERENCES/CHECK leave every other clause of the column where it was (issue 10 class 1),
-- even when a formatter split NOT NULL across lines.
ALTER TABLE post ADD COLUMN language_id integer REFERENCES LANGUAGE NOT
    NULL DEFAULT 0;
ALTER TABLE subgraph_deployments ADD COLUMN cost DECIMAL(12, 4) NOT NULL CHECK (cost >= 0) DEFAULT 1;
