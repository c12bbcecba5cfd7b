-- A quoted column name that ends in a blank: the fact the step records for a re-check kept it.
ALTER TABLE "W" ALTER COLUMN "checksum " SET NOT NULL;
