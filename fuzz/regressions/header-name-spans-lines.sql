
  DROP TRIGGER IF EXISTS pipeline_build_events_delete_trigger ON pipelines;
  DROP FUNCTION IF EXISTS on_pipeline_delete();

	CREATE TABLE deleted_pipelines (
      id integer NOT NULL,
      deleted_at timestamp with table
ALTER TABLE "SemaphoreQueueItem" DROP CONSTRAINT "SemaphoreQueueItem_pkey", DROP COLUMN "id", ADD PRIMARY KEY ("stepRunId");
-- Create index "SemaphoreQueueItem_stepRunId_key" to table: "SemaphoreQueueItem"
CREATE UNIQUE INDEX "SemaphoreQueueItem_stepRunId_key" ON "SemaphoreQueueItem" ("stepRunId");
-- Drop index "StepRun_tenantId_st-tus_timeoutAt_idx" from table: "StepRun"
DROP INDEX CONCURRENTLY IF EXISTS "StepRun_tenantId_status_timeoutAt_idx";
-- Modify "StepRunResultArchive" table
ALTER TABLE "-- +goose Up
/*
  Warnings:

  - The primary key for the `Action` table wilStepRunResultArchive" ADD COLUMN "retryCount" intl be ec