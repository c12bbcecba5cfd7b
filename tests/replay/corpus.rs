//! The histories in `../shared/corpus`, found by their layout, and the `*.sql` folders there that
//! are not histories (each with the reason). A test holds the list complete: every `*.sql` file of
//! the corpus is a migration of a history here, a down file, a file its runner ignores, or under an
//! excused folder.

use std::path::{Path, PathBuf};

/// (history name, its folder(s) relative to the corpus: `a + b` merges Flyway locations, `dir/*`
/// means the version-named folders inside `dir`).
pub const HISTORIES: &[(&str, &str)] = &[
    (
        "DSpace",
        "DSpace__DSpace/dspace-api/src/main/resources/org/dspace/storage/rdbms/sqlmigration/postgres \
         + DSpace__DSpace/dspace-api/src/main/resources/org/dspace/storage/rdbms/sqlmigration/metadata/postgres \
         + DSpace__DSpace/dspace-api/src/main/resources/org/dspace/storage/rdbms/sqlmigration/workflow/postgres/xmlworkflow",
    ),
    ("dataverse", "IQSS__dataverse/src/main/resources/db/migration"),
    ("dataverse-upgrades", "IQSS__dataverse/scripts/database/upgrades"),
    ("dolphinscheduler", "apache__dolphinscheduler/dolphinscheduler-dao/src/main/resources/sql/upgrade"),
    ("aptos-indexer", "aptos-labs__aptos-indexer-processors/rust/processor/src/db/postgres/migrations"),
    ("bat-ledger", "brave-intl__bat-ledger/eyeshade/migrations"),
    ("bytebase", "bytebase__bytebase/backend/migrator/migration/*"),
    ("concourse", "concourse__concourse/atc/db/migration/migrations"),
    ("flowable-app", "flowable__flowable-engine/modules/flowable-app-engine/src/main/resources/org/flowable/app/db/upgrade"),
    ("flowable-cmmn", "flowable__flowable-engine/modules/flowable-cmmn-engine/src/main/resources/org/flowable/cmmn/db/upgrade"),
    ("flowable-dmn", "flowable__flowable-engine/modules/flowable-dmn-engine/src/main/resources/org/flowable/dmn/db/upgrade"),
    (
        "flowable-common",
        "flowable__flowable-engine/modules/flowable-engine-common/src/main/resources/org/flowable/common/db/upgrade",
    ),
    ("flowable-engine", "flowable__flowable-engine/modules/flowable-engine/src/main/resources/org/flowable/db/upgrade"),
    (
        "flowable-eventregistry",
        "flowable__flowable-engine/modules/flowable-event-registry/src/main/resources/org/flowable/eventregistry/db/upgrade",
    ),
    ("flowable-idm", "flowable__flowable-engine/modules/flowable-idm-engine/src/main/resources/org/flowable/idm/db/upgrade"),
    ("harbor", "goharbor__harbor/make/migrations/postgresql"),
    ("graph-node", "graphprotocol__graph-node/store/postgres/migrations"),
    ("hatchet", "hatchet-dev__hatchet/cmd/hatchet-migrate/migrate/migrations"),
    ("langfuse", "langfuse__langfuse/packages/shared/prisma/migrations"),
    ("neon-compute", "neondatabase__neon/compute_tools/src/migrations"),
    ("neon-storage-controller", "neondatabase__neon/storage_controller/migrations"),
    ("openmeter", "openmeterio__openmeter/tools/migrate/migrations"),
    ("hydra", "ory__hydra/persistence/sql/migrations"),
    ("kratos", "ory__kratos/persistence/sql/migrations/sql"),
    ("kratos-legacy", "ory__kratos/persistence/sql/migrations/legacy"),
    ("docs.rs", "rust-lang__docs.rs/crates/lib/docs_rs_database/migrations"),
    ("supabase-auth", "supabase__auth/migrations"),
    ("supabase-storage-tenant", "supabase__storage/migrations/tenant"),
    ("supabase-storage-multitenant", "supabase__storage/migrations/multitenant"),
    ("supabase-storage-vector", "supabase__storage/migrations/vector_store"),
    ("svix", "svix__svix-webhooks/server/svix-server/migrations"),
    ("temporal", "temporalio__temporal/schema/postgresql/v12/temporal/versioned"),
    ("temporal-visibility", "temporalio__temporal/schema/postgresql/v12/visibility/versioned"),
    ("trigger.dev", "triggerdotdev__trigger.dev/internal-packages/database/prisma/migrations"),
    ("trigger.dev-run-ops", "triggerdotdev__trigger.dev/internal-packages/run-ops-database/prisma/migrations"),
    ("trigger.dev-dashboard-agent", "triggerdotdev__trigger.dev/internal-packages/dashboard-agent-db/drizzle"),
];

/// What a history's runner creates before its first migration and the migrations use: (history,
/// SQL, why). Run on both sides first.
pub const PREAMBLES: &[(&str, &str, &str)] = &[
    (
        "harbor",
        "CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL);",
        "golang-migrate's own table; harbor's 0030 and 0040 add a column to it",
    ),
    (
        "supabase-storage-tenant",
        "ALTER DATABASE app SET search_path = storage, public, extensions;",
        "the storage server runs its tenant migrations with this search_path; 0047 names its tables unqualified",
    ),
];

/// Read a listed history (with its preamble).
pub fn history(base: &Path, name: &str) -> Result<super::layout::History, String> {
    let spec = HISTORIES.iter().find(|(n, _)| *n == name).ok_or_else(|| format!("no history {name}"))?.1;
    let mut h = super::layout::read(&dirs(base, spec))?;
    h.preamble = PREAMBLES.iter().find(|(n, _, _)| *n == name).map(|(_, sql, _)| sql.to_string());
    Ok(h)
}

/// Folders of `*.sql` files that are not (part of) a history, and why.
pub const NOT_HISTORIES: &[(&str, &str)] = &[
    (
        "DSpace__DSpace/dspace-api/src/main/resources/org/dspace/storage/rdbms/flywayupgrade",
        "a one-off script DSpace runs before upgrading Flyway itself",
    ),
    (
        "DSpace__DSpace/dspace-api/src/main/resources/org/dspace/storage/rdbms/sqlmigration/workflow/postgres/basicWorkflow",
        "the Flyway location DSpace adds only for its basic workflow; the default (xmlworkflow) is replayed",
    ),
    (
        "DSpace__DSpace/dspace-api/src/main/resources/org/dspace/storage/rdbms/xmlworkflow",
        "scripts DSpace's Java code runs during a workflow switch, not migrations",
    ),
    (
        "brave-intl__bat-ledger/eyeshade/migrations/0010_geo_referral/seeds",
        "seed data files beside a migration, not run by the migration runner",
    ),
    (
        "brave-intl__bat-ledger/eyeshade/migrations/0016_geo_referral/seeds",
        "seed data files beside a migration, not run by the migration runner",
    ),
    (
        "bytebase__bytebase/backend/migrator/migration/LATEST.sql",
        "the current schema for new installations, not a step of the history",
    ),
    (
        "temporalio__temporal/schema/postgresql/v12/temporal/schema.sql",
        "the current schema for new installations; the history is versioned/",
    ),
    ("temporalio__temporal/schema/postgresql/v12/temporal/database.sql", "CREATE DATABASE for the installer"),
    (
        "temporalio__temporal/schema/postgresql/v12/visibility/schema.sql",
        "the current schema for new installations; the history is versioned/",
    ),
    ("temporalio__temporal/schema/postgresql/v12/visibility/database.sql", "CREATE DATABASE for the installer"),
];

/// The folders of a history spec (see [`HISTORIES`]) under `base`.
pub fn dirs(base: &Path, spec: &str) -> Vec<PathBuf> {
    // `dir/*`: the version-named folders inside `dir` (bytebase `migration/3.0`, `3.1`, …).
    if let Some(parent) = spec.strip_suffix("/*") {
        let mut subdirs: Vec<PathBuf> = std::fs::read_dir(base.join(parent))
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect();
        subdirs.sort();
        return subdirs;
    }
    spec.split(" + ").map(|d| base.join(d.trim())).collect()
}
