UPDATE datasettype SET description = 'A study;
ALTER TABLE datasettype ADD COLUMN IF NOT EXISTS description VARCHAR(255);
-- a line' WHERE name = 'dataset';
