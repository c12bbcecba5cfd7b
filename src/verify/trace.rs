//! Lock trace: which locks each draft statement and each plan step really takes, on which tables,
//! and whether it rewrote a table — measured, then held against what the manifest claims.
//!
//! Why: pgsafe's lock model (`ir::lock`) is a table of facts; this checks it against the server.
//! Statements run in a scratch copy. A statement that may run in a transaction runs in one, and
//! `pg_locks` is read for the backend just before `COMMIT` (every lock a statement takes is held to
//! the end of its transaction). A statement that must run outside one (`CONCURRENTLY`, `VACUUM`)
//! is watched by a second session polling `pg_locks` for its backend while it runs ("sampled": a
//! lock held for less than a poll can be missed, never invented). A rewrite shows as a changed
//! `pg_class.relfilenode`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context as _, Result};
use postgres::Client;
use serde::Serialize;

use super::server::Server;
use crate::emit::manifest::Manifest;
use crate::front::split::{split, PieceKind};
use crate::front::tokens::first_word;

/// Lock modes, weakest first, as `pg_locks` names them (the manifest spells them with spaces).
pub const MODES: [&str; 8] = [
    "AccessShareLock",
    "RowShareLock",
    "RowExclusiveLock",
    "ShareUpdateExclusiveLock",
    "ShareLock",
    "ShareRowExclusiveLock",
    "ExclusiveLock",
    "AccessExclusiveLock",
];

/// 1 (ACCESS SHARE) to 8 (ACCESS EXCLUSIVE); 0 if unknown. Accepts `ShareLock` and `SHARE`.
pub fn mode_rank(mode: &str) -> usize {
    let key: String = mode.chars().filter(|c| c.is_ascii_alphabetic()).collect::<String>().to_ascii_lowercase();
    let key = key.strip_suffix("lock").unwrap_or(&key);
    MODES.iter().position(|m| m.to_ascii_lowercase().strip_suffix("lock") == Some(key)).map_or(0, |i| i + 1)
}

/// `ShareUpdateExclusiveLock` → `SHARE UPDATE EXCLUSIVE`.
pub fn mode_name(rank: usize) -> String {
    let m = MODES[rank - 1].trim_end_matches("Lock");
    let mut out = String::new();
    for (i, c) in m.char_indices() {
        if i > 0 && c.is_ascii_uppercase() {
            out.push(' ');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

/// The locks one unit (a draft statement or a plan step) took.
#[derive(Debug, Clone, Serialize)]
pub struct UnitTrace {
    /// `draft line 2` or the step's file name.
    pub unit: String,
    /// The first line of the statement (draft) or the step's first statement.
    pub statement: String,
    /// `in transaction` (read before COMMIT) or `sampled` (polled while it ran outside one).
    pub how: String,
    /// Table → modes held, weakest first (tables created by the unit marked ` (new)`).
    pub locks: BTreeMap<String, Vec<String>>,
    /// Tables whose relfilenode changed: rewritten.
    pub rewrote: Vec<String>,
    /// For plan steps: tables locked more strongly than the manifest says.
    pub stronger_than_manifest: Vec<String>,
    pub error: Option<String>,
}

/// Trace every statement of the draft, each in its own transaction (or sampled when it cannot run
/// in one). `BEGIN`/`COMMIT` of the draft are left out: the question is what each statement takes.
pub fn trace_draft(server: &Server, db: &str, text: &str) -> Result<Vec<UnitTrace>> {
    let mut c = Tracer::new(server, db)?;
    let mut out = Vec::new();
    for (line, stmt) in statements(text) {
        let word = first_word(&stmt);
        if matches!(word.as_str(), "begin" | "start" | "commit" | "end" | "rollback") {
            continue;
        }
        let mut t = UnitTrace::new(format!("draft line {line}"), &stmt, "in transaction");
        let before = c.filenodes()?;
        let in_tx = (|| -> Result<BTreeSet<(String, usize)>, postgres::Error> {
            c.client.batch_execute("BEGIN")?;
            c.client.batch_execute(&stmt)?;
            c.held_locks()
        })();
        match in_tx {
            Ok(locks) => {
                c.client.batch_execute("COMMIT")?;
                t.set_locks(locks, &before);
            }
            Err(e) if e.code().is_some_and(|s| s.code() == "25001") => {
                // cannot run inside a transaction block: run it as psql would, and watch it
                c.client.batch_execute("ROLLBACK")?;
                t.how = "sampled".into();
                let (locks, r) = c.sampled(&stmt)?;
                t.set_locks(locks, &before);
                if let Err(e) = r {
                    t.error = Some(db_error(&e));
                }
            }
            Err(e) => {
                let _ = c.client.batch_execute("ROLLBACK");
                t.error = Some(db_error(&e));
            }
        }
        t.rewrote = c.rewritten(&before)?;
        let failed = t.error.is_some();
        out.push(t);
        if failed {
            break;
        }
    }
    Ok(out)
}

/// Trace every plan step, run as written (its own `BEGIN`/`COMMIT`), and compare with the
/// manifest's `steps[].locks[]`.
pub fn trace_plan(
    server: &Server,
    db: &str,
    steps: &[(String, String)],
    manifest: &Manifest,
) -> Result<Vec<UnitTrace>> {
    let declared = declared_locks(manifest);
    let mut c = Tracer::new(server, db)?;
    let mut out = Vec::new();
    for (i, (name, text)) in steps.iter().enumerate() {
        let stmts = statements(text);
        let main = stmts
            .iter()
            .map(|(_, s)| s)
            .find(|s| !matches!(first_word(s).as_str(), "begin" | "start" | "commit" | "end" | "set" | "reset"))
            .cloned()
            .unwrap_or_default();
        let mut t = UnitTrace::new(name.clone(), &main, "in transaction");
        let before = c.filenodes()?;
        let mut locks = BTreeSet::new();
        let mut in_tx = false;
        for (_, stmt) in &stmts {
            let r = match first_word(stmt).as_str() {
                "begin" | "start" => {
                    in_tx = true;
                    c.client.batch_execute(stmt)
                }
                "commit" | "end" => {
                    in_tx = false;
                    match c.held_locks() {
                        Ok(l) => {
                            locks.extend(l);
                            c.client.batch_execute(stmt)
                        }
                        Err(e) => Err(e),
                    }
                }
                "rollback" => {
                    in_tx = false;
                    c.client.batch_execute(stmt)
                }
                "set" | "reset" => c.client.batch_execute(stmt),
                _ if in_tx => c.client.batch_execute(stmt),
                _ => {
                    t.how = "sampled".into();
                    let (l, r) = c.sampled(stmt)?;
                    locks.extend(l);
                    r
                }
            };
            if let Err(e) = r {
                t.error = Some(db_error(&e));
                let _ = c.client.batch_execute("ROLLBACK");
                break;
            }
        }
        t.set_locks(locks, &before);
        t.rewrote = c.rewritten(&before)?;
        if let Some(decl) = declared.get(i) {
            t.stronger_than_manifest = stronger(&t.locks, decl);
        }
        let failed = t.error.is_some();
        out.push(t);
        if failed {
            break;
        }
    }
    Ok(out)
}

/// Tables whose traced mode is stronger than declared. A table the manifest does not name counts
/// as declared up to SHARE UPDATE EXCLUSIVE (the strongest mode that blocks neither reads nor
/// writes: the manifest lists what matters to traffic); tables the step created are skipped.
fn stronger(traced: &BTreeMap<String, Vec<String>>, declared: &HashMap<String, usize>) -> Vec<String> {
    let mut out = Vec::new();
    for (table, modes) in traced {
        if table.ends_with(" (new)") {
            continue;
        }
        let got = modes.iter().map(|m| mode_rank(m)).max().unwrap_or(0);
        let allowed = declared.get(&short_name(table)).copied().unwrap_or(0).max(mode_rank("ShareUpdateExclusiveLock"));
        if got > allowed {
            out.push(format!(
                "{table}: took {}, the manifest says {}",
                mode_name(got),
                declared.get(&short_name(table)).map_or("nothing".to_owned(), |&r| mode_name(r))
            ));
        }
    }
    out
}

/// For each manifest step: table (short name) → strongest declared mode.
fn declared_locks(manifest: &Manifest) -> Vec<HashMap<String, usize>> {
    manifest
        .steps
        .iter()
        .map(|s| {
            let mut m: HashMap<String, usize> = HashMap::new();
            for l in &s.locks {
                let e = m.entry(short_name(&l.table)).or_insert(0);
                *e = (*e).max(mode_rank(l.mode));
            }
            m
        })
        .collect()
}

/// `public."Orders"` → `orders`-style comparable name: the last component, unquoted; lower-cased
/// unless it was quoted.
fn short_name(name: &str) -> String {
    let name = name.trim_end_matches(" (new)");
    let last = match name.rfind("\".") {
        Some(_) if name.ends_with('"') => name[name.rfind(".\"").map_or(0, |i| i + 1)..].to_owned(),
        _ => name.rsplit('.').next().unwrap_or(name).to_owned(),
    };
    if let Some(q) = last.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        q.replace("\"\"", "\"")
    } else {
        last.to_ascii_lowercase()
    }
}

impl UnitTrace {
    fn new(unit: String, stmt: &str, how: &str) -> UnitTrace {
        let statement = stmt
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with("--"))
            .unwrap_or("")
            .chars()
            .take(80)
            .collect();
        UnitTrace {
            unit,
            statement,
            how: how.into(),
            locks: BTreeMap::new(),
            rewrote: Vec::new(),
            stronger_than_manifest: Vec::new(),
            error: None,
        }
    }

    fn set_locks(&mut self, locks: BTreeSet<(String, usize)>, before: &HashMap<u32, (String, u32)>) {
        let existing: BTreeSet<&String> = before.values().map(|(n, _)| n).collect();
        for (table, rank) in locks {
            let key = if existing.contains(&table) { table } else { format!("{table} (new)") };
            let modes = self.locks.entry(key).or_default();
            let name = mode_name(rank);
            if !modes.contains(&name) {
                modes.push(name);
                modes.sort_by_key(|m| mode_rank(m));
            }
        }
    }
}

/// A traced session plus a second one for sampling.
struct Tracer {
    client: Client,
    sampler: Client,
    pid: i32,
}

const LOCKS_SQL: &str = "SELECT c.oid::regclass::text, l.mode FROM pg_locks l \
     JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = c.relnamespace \
     WHERE l.pid = $1 AND l.locktype = 'relation' AND l.granted AND c.relkind IN ('r', 'p', 'm') \
       AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'";

impl Tracer {
    fn new(server: &Server, db: &str) -> Result<Tracer> {
        let mut client = server.connect(db, "pgsafe-trace")?;
        let pid: i32 = client.query_one("SELECT pg_backend_pid()", &[])?.get(0);
        let sampler = server.connect(db, "pgsafe-trace-sampler")?;
        Ok(Tracer { client, sampler, pid })
    }

    /// Relation locks this session holds now (inside its transaction).
    fn held_locks(&mut self) -> Result<BTreeSet<(String, usize)>, postgres::Error> {
        let rows = self.client.query(LOCKS_SQL, &[&self.pid])?;
        Ok(rows.iter().map(|r| (r.get::<_, String>(0), mode_rank(r.get::<_, &str>(1)))).collect())
    }

    /// Run `stmt` outside a transaction while the sampler polls its locks.
    #[allow(clippy::type_complexity)]
    fn sampled(&mut self, stmt: &str) -> Result<(BTreeSet<(String, usize)>, Result<(), postgres::Error>)> {
        let done = AtomicBool::new(false);
        let pid = self.pid;
        let (client, sampler) = (&mut self.client, &mut self.sampler);
        let (seen, result) = std::thread::scope(|s| {
            let done = &done;
            let h = s.spawn(move || -> Result<BTreeSet<(String, usize)>> {
                let stmt = sampler.prepare(LOCKS_SQL)?;
                let mut seen = BTreeSet::new();
                // bounded: at most ~10 minutes of polling at ≥ 1 ms each
                for _ in 0..600_000 {
                    if done.load(Ordering::Relaxed) {
                        break;
                    }
                    for r in sampler.query(&stmt, &[&pid])? {
                        seen.insert((r.get::<_, String>(0), mode_rank(r.get::<_, &str>(1))));
                    }
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
                Ok(seen)
            });
            let result = client.batch_execute(stmt);
            done.store(true, Ordering::Relaxed);
            (h.join(), result)
        });
        let seen =
            seen.map_err(|_| anyhow::anyhow!("the lock sampler panicked"))?.context("the lock sampler failed")?;
        Ok((seen, result))
    }

    /// oid → (table, relfilenode) for user tables.
    fn filenodes(&mut self) -> Result<HashMap<u32, (String, u32)>> {
        let rows = self.client.query(
            "SELECT c.oid, c.oid::regclass::text, c.relfilenode FROM pg_class c \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind IN ('r', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
               AND n.nspname NOT LIKE 'pg_toast%'",
            &[],
        )?;
        Ok(rows.iter().map(|r| (r.get::<_, u32>(0), (r.get::<_, String>(1), r.get::<_, u32>(2)))).collect())
    }

    fn rewritten(&mut self, before: &HashMap<u32, (String, u32)>) -> Result<Vec<String>> {
        let after = self.filenodes()?;
        let mut out: Vec<String> = before
            .iter()
            .filter_map(|(oid, (name, node))| after.get(oid).filter(|(_, n)| n != node).map(|_| name.clone()))
            .collect();
        out.sort();
        Ok(out)
    }
}

/// The statements of a SQL text with their 1-based start line (psql meta-commands left out).
fn statements(text: &str) -> Vec<(usize, String)> {
    let Ok(pieces) = split(text) else {
        return vec![(1, text.to_owned())];
    };
    // Lines counted on from the last statement, not from the start for each.
    let (mut line, mut counted) = (1, 0);
    pieces
        .iter()
        .filter_map(|p| match &p.kind {
            PieceKind::Statement { body, .. } => {
                line += memchr::memchr_iter(b'\n', &text.as_bytes()[counted..body.start]).count();
                counted = body.start;
                Some((line, text[body.clone()].to_owned()))
            }
            _ => None,
        })
        .collect()
}

fn db_error(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(d) => format!("{}: {}", d.code().code(), d.message()),
        None => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes() {
        assert_eq!(mode_rank("ShareUpdateExclusiveLock"), 4);
        assert_eq!(mode_rank("SHARE UPDATE EXCLUSIVE"), 4);
        assert_eq!(mode_rank("SHARE"), 5);
        assert_eq!(mode_rank("ACCESS EXCLUSIVE"), 8);
        assert_eq!(mode_name(4), "SHARE UPDATE EXCLUSIVE");
        assert_eq!(mode_name(1), "ACCESS SHARE");
    }

    #[test]
    fn statements_start_on_their_lines() {
        let text = "-- a\nSELECT 1;\n\n\\set x 1\nSELECT\n2; SELECT 3;\n";
        let lines: Vec<usize> = statements(text).into_iter().map(|(line, _)| line).collect();
        assert_eq!(lines, [2, 5, 6]);
    }

    #[test]
    fn names_compare_by_last_component() {
        assert_eq!(short_name("public.orders"), "orders");
        assert_eq!(short_name("Orders"), "orders");
        assert_eq!(short_name("app.\"Orders\""), "Orders");
        assert_eq!(short_name("orders (new)"), "orders");
    }

    #[test]
    fn stronger_locks_are_flagged() {
        let mut traced = BTreeMap::new();
        traced.insert("orders".to_owned(), vec!["SHARE".to_owned()]);
        traced.insert("users".to_owned(), vec!["ACCESS SHARE".to_owned()]);
        let mut declared = HashMap::new();
        declared.insert("orders".to_owned(), mode_rank("SHARE UPDATE EXCLUSIVE"));
        let s = stronger(&traced, &declared);
        assert_eq!(s.len(), 1, "{s:?}");
        assert!(s[0].contains("took SHARE"), "{s:?}");
    }
}
