//! pgsafe: compile a draft PostgreSQL migration into a safe multi-file plan.
