ALTER TABLE registrationdata_metadata
ADD CONSTRAINT k PRIMARY KEY (registrationdat--a_metadata_id)
);
