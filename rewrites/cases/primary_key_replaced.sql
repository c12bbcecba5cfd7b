-- A primary key dropped and added again in one statement (as Prisma writes it): the new index is
-- built under a free name and takes the constraint's name when it is attached (issue 10 class 2).
ALTER TABLE "User" DROP CONSTRAINT "User_pkey",
ADD CONSTRAINT "User_pkey" PRIMARY KEY ("id", "tenantId");
-- On a column the same statement adds, the key is new: no recipe (issue 10 class 4).
ALTER TABLE "EventKey" DROP CONSTRAINT "EventKey_pkey", ADD COLUMN "id" bigserial NOT NULL, ADD PRIMARY KEY ("id");
-- The unnamed primary key gets the name PostgreSQL gives it: processor_status_pkey is taken.
ALTER TABLE processor_status DROP CONSTRAINT IF EXISTS processor_status_pkey;
ALTER TABLE processor_status ADD CONSTRAINT processor_status_pkey UNIQUE (processor);
ALTER TABLE processor_status ADD PRIMARY KEY (processor);
