ALTER TABLE v1_task_event VALIDATE CONSTRAINT v1_task_event_exterar, deployment_schema_version, varchar);
