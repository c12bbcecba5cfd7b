//! Schema equivalence: the draft and the plan, run the way a user runs them, must leave the same
//! schema behind.
//!
//! The draft goes through `psql -f` (autocommit, statement by statement, as a developer would run
//! it); the plan's step files go through `psql -X -v ON_ERROR_STOP=1 -f`, one at a time, in order
//! (the plan contract). Both databases come from the same template, and the verdict is a
//! comparison of their normalised `pg_dump --schema-only`: a unified diff, or nothing. The rows are
//! compared too ([`row_fingerprints`]): a plan must change the same rows the same way.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::server::Server;

/// `application_name` of the session running the migration (the load report and lock trace tell
/// it apart from traffic by this name).
pub const MIGRATION_APP: &str = "pgsafe-migration";

/// How one run of a migration went.
#[derive(Debug, Clone, Serialize)]
pub struct RunOutcome {
    /// Wall time of the whole run, seconds.
    pub seconds: f64,
    /// Each file run: name, seconds.
    pub files: Vec<(String, f64)>,
    /// The first failure: file name and psql's message. Nothing after it was run.
    pub error: Option<(String, String)>,
    /// Plan steps that hit their `lock_timeout` and were run again (`<file>: attempt N: …`).
    pub retries: Vec<String>,
}

impl RunOutcome {
    pub fn ok(&self) -> bool {
        self.error.is_none()
    }
}

/// Tries of a plan step that hits its `lock_timeout` (the first included), and the first
/// back-off, doubled each retry up to `LOCK_MAX_BACKOFF`: about 9 s of waiting in all, longer
/// than `--blocker-seconds`' default 3 s.
pub const LOCK_ATTEMPTS: u32 = 8;
const LOCK_BACKOFF: Duration = Duration::from_millis(200);
const LOCK_MAX_BACKOFF: Duration = Duration::from_secs(2);

/// Run `files` (in order) against `db` with `psql -f`, stopping at the first failure.
pub fn run_files(server: &Server, db: &str, files: &[&Path]) -> RunOutcome {
    run(server, db, files, false)
}

/// Run a plan's step files like [`run_files`], but as `pgsafe apply` runs them: a step that hits
/// its `lock_timeout` (another session holds a conflicting lock, e.g. `--blocker idle-writer`) is
/// tried again with back-off, when a retry cannot repeat a part that committed ([`retryable`]).
/// Why: the plan's timeouts are there to be retried; one failed try under a blocker says nothing
/// about the plan's result. A step that never gets its lock fails saying so.
pub fn run_plan_files(server: &Server, db: &str, files: &[&Path]) -> RunOutcome {
    run(server, db, files, true)
}

fn run(server: &Server, db: &str, files: &[&Path], retry: bool) -> RunOutcome {
    let began = Instant::now();
    let mut out = RunOutcome { seconds: 0.0, files: Vec::new(), error: None, retries: Vec::new() };
    for file in files {
        let name = file.file_name().map_or_else(|| file.display().to_string(), |n| n.to_string_lossy().into());
        let t = Instant::now();
        let may_retry = retry && std::fs::read_to_string(file).is_ok_and(|text| retryable(&text));
        let mut attempt = 1;
        let result = loop {
            match server.psql_file(db, file, MIGRATION_APP) {
                Err(e) if may_retry && is_lock_timeout(&format!("{e:#}")) => {
                    if attempt == LOCK_ATTEMPTS {
                        break Err(anyhow::anyhow!(
                            "could not take its lock in {LOCK_ATTEMPTS} attempts (lock_timeout each time: \
                             another session held a conflicting lock throughout): {e:#}"
                        ));
                    }
                    out.retries.push(format!("{name}: attempt {attempt}: lock timeout"));
                    let delay = LOCK_BACKOFF.saturating_mul(1 << (attempt - 1)).min(LOCK_MAX_BACKOFF);
                    std::thread::sleep(delay);
                    attempt += 1;
                }
                r => break r,
            }
        };
        out.files.push((name.clone(), t.elapsed().as_secs_f64()));
        if let Err(e) = result {
            out.error = Some((name, format!("{e:#}")));
            break;
        }
    }
    out.seconds = began.elapsed().as_secs_f64();
    out
}

/// Did the step fail on its `lock_timeout`: SQLSTATE 55P03 (`lock_not_available`), read from
/// psql's verbose message, whatever language the server words it in (its English words matched a
/// server under `lc_messages = 'C'` only).
fn is_lock_timeout(message: &str) -> bool {
    super::server::sqlstate(message) == Some("55P03")
}

/// May a step that failed on its `lock_timeout` run again whole? Only when nothing of it can have
/// committed before the failure: it is one transaction (settings before its `BEGIN`, nothing
/// ending it before its last `COMMIT`), or one statement besides settings that commits all at once
/// (not a concurrent build or reindex, which leaves an INVALID index, nor a `DO`/`CALL` that may
/// commit as it goes). The rule of `pgsafe apply`, which retries a step unless part of it committed.
pub fn retryable(text: &str) -> bool {
    use crate::front::split::{split, PieceKind};
    use crate::front::tokens::head_words;
    let Ok(pieces) = split(text) else { return false };
    let mut heads: Vec<Vec<String>> = Vec::new();
    for p in &pieces {
        match &p.kind {
            PieceKind::Statement { body, .. } => heads.push(head_words(&text[body.clone()], 6)),
            PieceKind::Meta { .. } => return false,
            PieceKind::Trivia => {}
        }
    }
    let first = |h: &Vec<String>| h.first().cloned().unwrap_or_default();
    let work: Vec<&Vec<String>> = heads.iter().filter(|h| !matches!(first(h).as_str(), "set" | "reset")).collect();
    let ends = |h: &Vec<String>| match first(h).as_str() {
        "commit" | "end" | "abort" | "begin" | "start" => true,
        "rollback" => h.get(1).is_none_or(|w| w != "to") && h.get(2).is_none_or(|w| w != "to"),
        "prepare" => h.get(1).is_some_and(|w| w == "transaction"),
        _ => false,
    };
    match work.as_slice() {
        [one] => {
            !ends(one) && !matches!(first(one).as_str(), "do" | "call") && !one.iter().any(|w| w == "concurrently")
        }
        [begin, middle @ .., last] => {
            matches!(first(begin).as_str(), "begin" | "start")
                && matches!(first(last).as_str(), "commit" | "end")
                && !last.iter().any(|w| w == "chain")
                && !middle.iter().any(|h| ends(h))
                && heads
                    .iter()
                    .take_while(|h| !matches!(first(h).as_str(), "begin" | "start"))
                    .all(|h| matches!(first(h).as_str(), "set" | "reset"))
        }
        [] => false,
    }
}

/// The verdict on two databases' schemas.
#[derive(Debug, Clone, Serialize)]
pub struct Equivalence {
    pub equivalent: bool,
    /// Unified diff of the normalised schema dumps (`--- draft` / `+++ plan`), empty when equal.
    pub diff: String,
}

/// Compare the schemas of `draft_db` and `plan_db`.
pub fn compare(server: &Server, draft_db: &str, plan_db: &str) -> anyhow::Result<Equivalence> {
    let a = server.dump_schema(draft_db)?;
    let b = server.dump_schema(plan_db)?;
    Ok(compare_dumps(&a, &b))
}

/// Compare two normalised schema dumps.
pub fn compare_dumps(draft: &str, plan: &str) -> Equivalence {
    if draft == plan {
        return Equivalence { equivalent: true, diff: String::new() };
    }
    // The view's linear diff: two dumps of a big schema that differ everywhere stay fast.
    let diff = crate::diff::LineDiff::of(draft, plan).unified("draft", "plan");
    Equivalence { equivalent: false, diff }
}

/// The catalog query behind [`row_fingerprints`]: every table and materialized view outside the
/// system schemas, as `regclass` prints it (unqualified when on the search path), with its columns
/// sorted by name (a column order that differs is a schema difference, not a data one).
const TABLES_SQL: &str = "SELECT c.oid::regclass::text, \
        coalesce(array_agg(quote_ident(a.attname)::text ORDER BY a.attname) \
                 FILTER (WHERE a.attnum > 0 AND NOT a.attisdropped), '{}') \
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
     LEFT JOIN pg_attribute a ON a.attrelid = c.oid \
     WHERE c.relkind IN ('r', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
       AND n.nspname NOT LIKE 'pg\\_%' \
     GROUP BY c.oid ORDER BY 1";

/// Each table's rows, as `"<count> <md5>"`: the md5 of the rows' text forms sorted and joined, so
/// the digest does not depend on physical order. Keys are tables as `regclass` prints them
/// (`users`, `billing.orders`, `"Accounts"`). `only`: just these tables (as PostgreSQL prints
/// them); `None`: every table and materialized view. `volatile` names columns whose values the
/// draft itself makes nondeterministic (`users.token`, as in `planeq.py --data`), left out of the
/// digest; `t.*` keeps only the row count of `t`. Partitions are digested one by one (`ONLY`).
pub fn row_fingerprints(
    client: &mut postgres::Client,
    only: Option<&[String]>,
    volatile: &BTreeSet<String>,
) -> anyhow::Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for row in client.query(TABLES_SQL, &[])? {
        let (table, columns): (String, Vec<String>) = (row.get(0), row.get(1));
        if only.is_some_and(|only| !only.contains(&table)) {
            continue;
        }
        let count_only = volatile.contains(&format!("{table}.*"));
        let columns: Vec<&String> = columns
            .iter()
            .filter(|c| {
                !volatile.contains(&format!("{table}.{c}"))
                    && !volatile.contains(&format!("{table}.{}", c.trim_matches('"')))
            })
            .collect();
        let sql = if count_only || columns.is_empty() {
            format!("SELECT count(*)::text FROM ONLY {table}")
        } else {
            let cols: Vec<&str> = columns.iter().map(|c| c.as_str()).collect();
            format!(
                "SELECT count(*) || ' ' || coalesce(md5(string_agg(r, E'\\n' ORDER BY r COLLATE \"C\")), '-') \
                 FROM (SELECT ROW({})::text AS r FROM ONLY {table}) s",
                cols.join(", ")
            )
        };
        let digest: String = client.query_one(sql.as_str(), &[])?.get(0);
        out.insert(table, digest);
    }
    Ok(out)
}

/// Each column's values as a multiset (`table.column` → md5 of the sorted values, NULLs
/// included), and each table's row count (`table.*`). Run on two databases where the same draft
/// ran, the keys that differ are what the draft itself makes nondeterministic (`now()`,
/// `random()`, `gen_random_uuid()`, a `LIMIT` without `ORDER BY`): [`nondeterministic`].
pub fn column_digests(client: &mut postgres::Client) -> anyhow::Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for row in client.query(TABLES_SQL, &[])? {
        let (table, columns): (String, Vec<String>) = (row.get(0), row.get(1));
        let mut select = vec!["count(*)::text".to_owned()];
        for c in &columns {
            let v = format!("quote_nullable({c})");
            select.push(format!("coalesce(md5(string_agg({v}, ',' ORDER BY {v} COLLATE \"C\")), '-')"));
        }
        let digests = client.query_one(format!("SELECT {} FROM ONLY {table}", select.join(", ")).as_str(), &[])?;
        out.insert(format!("{table}.*"), digests.get(0));
        for (i, c) in columns.iter().enumerate() {
            out.insert(format!("{table}.{c}"), digests.get(i + 1));
        }
    }
    Ok(out)
}

/// The keys of two [`column_digests`] that differ: columns (`t.c`) whose values, and tables (`t.*`)
/// whose row counts, are not the same from one run of the draft to the next.
pub fn nondeterministic(a: &BTreeMap<String, String>, b: &BTreeMap<String, String>) -> BTreeSet<String> {
    a.iter().filter(|(k, v)| b.get(*k).is_some_and(|w| w != *v)).map(|(k, _)| k.clone()).collect()
}

/// The rows of draft and plan side by side.
#[derive(Debug, Clone, Serialize)]
pub struct DataComparison {
    pub equivalent: bool,
    /// Tables whose rows differ: (table, draft's `"count md5"`, plan's).
    pub differing: Vec<(String, String, String)>,
    /// Tables and columns left out: the draft itself gives them different values on each run.
    pub nondeterministic: Vec<String>,
    /// Tables compared.
    pub tables: usize,
}

/// Compare the rows of `draft` and `plan`, leaving out `nondeterministic` columns (`t.c`) and the
/// tables whose very row count is nondeterministic (`t.*`).
pub fn compare_rows(
    draft: &mut postgres::Client,
    plan: &mut postgres::Client,
    nondeterministic: &BTreeSet<String>,
) -> anyhow::Result<DataComparison> {
    let (a, b) = (row_fingerprints(draft, None, nondeterministic)?, row_fingerprints(plan, None, nondeterministic)?);
    let differing: Vec<(String, String, String)> = differing_tables(&a, &b)
        .into_iter()
        .filter(|t| !nondeterministic.contains(&format!("{t}.*")))
        .map(|t| {
            let get = |m: &BTreeMap<String, String>| m.get(&t).cloned().unwrap_or_else(|| "-".into());
            (t.clone(), get(&a), get(&b))
        })
        .collect();
    Ok(DataComparison {
        equivalent: differing.is_empty(),
        differing,
        nondeterministic: nondeterministic.iter().cloned().collect(),
        tables: a.len().max(b.len()),
    })
}

/// The tables whose rows differ between two [`row_fingerprints`] (a table on one side only counts).
pub fn differing_tables(draft: &BTreeMap<String, String>, plan: &BTreeMap<String, String>) -> Vec<String> {
    let tables: BTreeSet<&String> = draft.keys().chain(plan.keys()).collect();
    tables.into_iter().filter(|t| draft.get(*t) != plan.get(*t)).cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_is_retried_only_when_nothing_of_it_can_have_committed() {
        assert!(retryable("SET lock_timeout = '100ms';\nALTER TABLE t ADD COLUMN c int;\nRESET lock_timeout;\n"));
        assert!(retryable(
            "SET lock_timeout = '1s';\nBEGIN;\nALTER TABLE t ADD c int;\nUPDATE t SET c = 1;\nCOMMIT;\n"
        ));
        assert!(!retryable("BEGIN;\nALTER TABLE t ADD c int;\nCOMMIT;\nBEGIN;\nALTER TABLE u ADD c int;\nCOMMIT;\n"));
        assert!(!retryable("CREATE INDEX CONCURRENTLY i ON t (a);\n"));
        assert!(!retryable("DO $$ BEGIN COMMIT; END $$;\n"));
        assert!(!retryable("ALTER TABLE t ADD c int;\nALTER TABLE u ADD c int;\n"));
        assert!(!retryable("\\set x 1\nALTER TABLE t ADD c int;\n"));
    }

    #[test]
    fn diff_names_the_sides() {
        let e = compare_dumps("CREATE TABLE a;\n", "CREATE TABLE a;\nCREATE INDEX i;\n");
        assert!(!e.equivalent);
        assert!(e.diff.contains("--- draft"), "{}", e.diff);
        assert!(e.diff.contains("+CREATE INDEX i;"), "{}", e.diff);
        assert!(compare_dumps("x\n", "x\n").equivalent);
    }

    #[test]
    fn nondeterministic_keys_are_those_that_differ() {
        let a: BTreeMap<String, String> =
            [("t.*", "3"), ("t.a", "x"), ("t.b", "y")].iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let mut b = a.clone();
        b.insert("t.b".into(), "z".into());
        assert_eq!(nondeterministic(&a, &b).into_iter().collect::<Vec<_>>(), ["t.b"]);
        let rows = |v: &[(&str, &str)]| v.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let (x, y): (BTreeMap<String, String>, BTreeMap<String, String>) =
            (rows(&[("t", "1 a"), ("u", "2 b")]), rows(&[("t", "1 a"), ("u", "2 c"), ("v", "0")]));
        assert_eq!(differing_tables(&x, &y), ["u", "v"]);
    }
}
