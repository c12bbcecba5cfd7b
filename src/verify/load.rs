//! Simulated traffic: how long does a migration stall reads and writes?
//!
//! Why: a draft and its plan leave the same schema, but the point of the plan is what happens to
//! traffic *while* it runs. [`measure`] starts K client threads (one connection each,
//! autocommit, simple query protocol so that DDL never invalidates a prepared statement) that send
//! reads, updates and inserts on a fixed schedule against the tables the migration locks, runs the
//! migration, and reports the longest gap between completed writes (and reads) on any one table,
//! latency percentiles (completion minus *scheduled* time, so a queue behind a lock counts in
//! full) and failed requests. The method follows `shared/tools/stall.py`.
//!
//! Traffic goes only to the server of [`Server`] (local unless the user said otherwise), and every
//! loop is bounded in time and in count.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};
use serde::Serialize;

use super::server::Server;

/// `application_name` of the load clients.
pub const LOAD_APP: &str = "pgsafe-load";
/// `application_name` of the blocking session.
pub const BLOCKER_APP: &str = "pgsafe-blocker";

/// No load run lasts longer than this, whatever the migration does.
const HARD_LIMIT: Duration = Duration::from_secs(3600);

/// A concurrent session that holds a lock while the migration starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Blocker {
    /// `BEGIN; INSERT one row; stay idle in transaction; COMMIT` — holds ROW EXCLUSIVE and an xid,
    /// like an application transaction waiting on something slow.
    IdleWriter,
}

/// What traffic to generate.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Client connections (threads); tables and kinds are assigned round-robin (see [`assign`]).
    pub clients: usize,
    /// Requests per second per client.
    pub rate: f64,
    /// Load before the migration starts (the baseline).
    pub warmup: Duration,
    /// Load after the migration ends.
    pub cooldown: Duration,
    pub blocker: Option<Blocker>,
    /// How long the blocker holds its transaction (it starts shortly before the migration).
    pub blocker_hold: Duration,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            clients: 6,
            rate: 20.0,
            warmup: Duration::from_millis(1000),
            cooldown: Duration::from_millis(500),
            blocker: None,
            blocker_hold: Duration::from_secs(3),
        }
    }
}

/// A table the clients send traffic to, with the SQL for each kind of request.
#[derive(Debug, Clone)]
pub struct Target {
    /// The table as PostgreSQL prints it (`orders`, `app."Orders"`).
    pub table: String,
    pk: String,
    update_col: Option<String>,
    /// Columns an `INSERT … SELECT` copies (the primary key and generated columns left out) and
    /// the expressions it copies them with; `None` when the primary key has no default.
    insert_cols: Option<(String, String)>,
    min_id: i64,
    max_id: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Read,
    Update,
    Insert,
}

impl Target {
    fn can(&self, kind: Kind) -> bool {
        self.sql(kind, self.min_id).is_some()
    }

    fn sql(&self, kind: Kind, id: i64) -> Option<String> {
        let (t, pk) = (&self.table, &self.pk);
        Some(match kind {
            Kind::Read => format!("SELECT {pk} FROM {t} WHERE {pk} = {id}"),
            Kind::Update => {
                let c = self.update_col.as_ref()?;
                format!("UPDATE {t} SET {c} = {c} WHERE {pk} = {id}")
            }
            Kind::Insert => {
                let (cols, exprs) = self.insert_cols.as_ref()?;
                format!("INSERT INTO {t} ({cols}) SELECT {exprs} FROM {t} WHERE {pk} = {id}")
            }
        })
    }
}

/// Find the tables of `names` (as the manifest writes them) that can take traffic: they exist and
/// have a single-column integer primary key. Tables that cannot are left out.
pub fn targets(server: &Server, db: &str, names: &[String]) -> Result<Vec<Target>> {
    let mut client = server.connect(db, "pgsafe-verify")?;
    let mut out: Vec<Target> = Vec::new();
    for name in names {
        let row = client.query_one(
            "SELECT to_regclass($1)::text, (SELECT relkind::text FROM pg_class WHERE oid = to_regclass($1))",
            &[name],
        )?;
        let (Some(table), Some(kind)) = (row.get::<_, Option<String>>(0), row.get::<_, Option<String>>(1)) else {
            continue;
        };
        if !(kind == "r" || kind == "p") || out.iter().any(|t| t.table == table) {
            continue;
        }
        let pk = client.query(
            "SELECT quote_ident(a.attname), a.atttypid::regtype::text, \
                    a.atthasdef OR a.attidentity <> '' \
             FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] \
             WHERE i.indrelid = $1::text::regclass AND i.indisprimary AND i.indnatts = 1",
            &[&table],
        )?;
        let Some(pk) = pk.first() else { continue };
        let (pk_col, pk_type, pk_default): (String, String, bool) = (pk.get(0), pk.get(1), pk.get(2));
        if !["bigint", "integer", "smallint"].contains(&pk_type.as_str()) {
            continue;
        }
        let cols: Vec<(String, bool, bool)> = client
            .query(
                "SELECT quote_ident(attname), attgenerated <> '', \
                        atttypid = 'text'::regtype OR (atttypid = 'varchar'::regtype AND atttypmod < 0) \
                 FROM pg_attribute \
                 WHERE attrelid = $1::text::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
                &[&table],
            )?
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect();
        let plain: Vec<&(String, bool, bool)> =
            cols.iter().filter(|(c, generated, _)| !generated && *c != pk_col).collect();
        // A copied row would collide with a unique index the migration builds (users.email):
        // unbounded text columns get a random suffix.
        let exprs: Vec<String> = plain
            .iter()
            .map(|(c, _, text)| if *text { format!("{c} || '~' || (random() * 1e9)::int8") } else { c.clone() })
            .collect();
        let names: Vec<&str> = plain.iter().map(|(c, _, _)| c.as_str()).collect();
        let range = client.query_one(&format!("SELECT min({pk_col})::int8, max({pk_col})::int8 FROM {table}"), &[])?;
        let (Some(min_id), Some(max_id)) = (range.get::<_, Option<i64>>(0), range.get::<_, Option<i64>>(1)) else {
            continue; // an empty table: reads and updates would measure nothing
        };
        out.push(Target {
            table,
            update_col: names.first().map(|c| (*c).to_owned()),
            insert_cols: (pk_default && !plain.is_empty()).then(|| (names.join(", "), exprs.join(", "))),
            pk: pk_col,
            min_id,
            max_id,
        });
    }
    Ok(out)
}

/// At most this many clients are added so that every table gets one (the throwaway cluster
/// allows 50 connections).
const MAX_CLIENTS_ADDED_FOR_TABLES: usize = 32;

/// Which table and kind of request each client sends: tables round-robin, so every table gets a
/// client as long as there are clients for all (before, client `i` went to table `(i / 3) % n`
/// and six clients never reached a third table, whose stall went unseen while the report named
/// it). Each table's first client writes (the write stall is the verdict), its second reads, its
/// third inserts. `clients` is raised to the number of tables (up to
/// `MAX_CLIENTS_ADDED_FOR_TABLES`); a table left without a client is not loaded, and the report
/// does not name it.
pub fn assign(targets: &[Target], clients: usize) -> Vec<(usize, Kind)> {
    let n = clients.max(targets.len().min(MAX_CLIENTS_ADDED_FOR_TABLES));
    (0..n)
        .map(|i| {
            let ti = i % targets.len();
            let wanted = [Kind::Update, Kind::Read, Kind::Insert][(i / targets.len()) % 3];
            // a table without a column to update (or a key default to insert with) takes what it can
            let t = &targets[ti];
            let kind =
                [wanted, Kind::Update, Kind::Insert, Kind::Read].into_iter().find(|k| t.can(*k)).unwrap_or(Kind::Read);
            (ti, kind)
        })
        .collect()
}

/// The longest interval without a completed request of some kind.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Stall {
    pub seconds: f64,
    /// The table it happened on.
    pub table: Option<String>,
    /// Whether nothing completed from the gap's start to the end of the load.
    pub open_ended: bool,
}

/// What the traffic saw while one migration ran.
#[derive(Debug, Clone, Serialize)]
pub struct LoadReport {
    /// The tables that got traffic (at least one client).
    pub tables: Vec<String>,
    /// Clients that ran: the number asked for, or more so that every table got one.
    pub clients: usize,
    /// Clients asked for (`--clients`).
    pub clients_asked: usize,
    /// Completed requests per table and kind, over the whole run: where the traffic went.
    pub completed: BTreeMap<String, BTreeMap<Kind, usize>>,
    pub rate_per_client: f64,
    /// Wall time of the migration, seconds.
    pub migration_seconds: f64,
    /// Longest gap between completed writes (updates and inserts) on one table, overlapping the
    /// migration.
    pub write_stall: Stall,
    /// The same for reads.
    pub read_stall: Stall,
    /// Latency of requests scheduled during the migration, milliseconds.
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// p99 of requests scheduled during the warm-up (what "normal" looks like here).
    pub baseline_p99_ms: f64,
    /// Requests sent, from the start of the migration to the end of the load.
    pub requests: usize,
    /// Of those, failed (not counting constraint violations, class 23).
    pub failed: usize,
    /// Of those, rejected by a constraint (SQLSTATE class 23): the data, not the migration.
    pub rejected: usize,
    /// Errors by SQLSTATE (or client error), over the whole run.
    pub errors: BTreeMap<String, usize>,
    pub blocker: Option<Blocker>,
}

/// One request: client kind, target index, times relative to the migration start, error code.
#[derive(Debug, Clone)]
struct Record {
    kind: Kind,
    target: usize,
    scheduled: f64,
    done: f64,
    error: Option<String>,
}

/// Run `migration` while `opts.clients` clients send traffic to `targets` in `db`; return its
/// result and what the traffic saw.
pub fn measure<T>(
    server: &Server,
    db: &str,
    targets: &[Target],
    opts: &LoadOptions,
    migration: impl FnOnce() -> T,
) -> Result<(T, LoadReport)> {
    if targets.is_empty() {
        bail!("no table to send traffic to (the migration locks no table with an integer primary key and rows)");
    }
    if opts.clients == 0 || !(opts.rate > 0.0 && opts.rate <= 1000.0) {
        bail!("--clients must be at least 1 and --rate between 0 and 1000 per second");
    }
    let plan = assign(targets, opts.clients);
    // Connect every client (and the blocker) before the clock starts.
    let mut conns = Vec::with_capacity(plan.len());
    for _ in 0..plan.len() {
        conns.push(server.connect(db, LOAD_APP)?);
    }
    let blocker_conn = match opts.blocker {
        Some(_) => Some(server.connect(db, BLOCKER_APP)?),
        None => None,
    };

    let stop = AtomicBool::new(false);
    let records: Mutex<Vec<Record>> = Mutex::new(Vec::new());
    let epoch = Instant::now();
    let max_per_client = (opts.rate * HARD_LIMIT.as_secs_f64()) as u64;

    let (t0, t_end, t_load_end, result) = std::thread::scope(|s| -> Result<_> {
        for (i, (mut conn, &(ti, kind))) in conns.into_iter().zip(&plan).enumerate() {
            let target = &targets[ti];
            let (stop, records) = (&stop, &records);
            let interval = Duration::from_secs_f64(1.0 / opts.rate);
            s.spawn(move || {
                let mut rng = XorShift::new(0x9e37_79b9_7f4a_7c15 ^ (i as u64 + 1));
                // de-synchronise the clients
                let mut next = Instant::now() + interval.mul_f64(rng.unit());
                let mut local = Vec::new();
                for _ in 0..max_per_client {
                    let now = Instant::now();
                    if stop.load(Ordering::Relaxed) || now.duration_since(epoch) > HARD_LIMIT {
                        break;
                    }
                    if next > now {
                        std::thread::sleep(next - now);
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                    }
                    let scheduled = next;
                    next += interval;
                    let id = target.min_id + (rng.next() % (target.max_id - target.min_id + 1) as u64) as i64;
                    let Some(sql) = target.sql(kind, id) else {
                        break; // this table cannot take this kind of request
                    };
                    let error = conn.simple_query(&sql).err().map(|e| {
                        e.code().map(|c| c.code().to_owned()).unwrap_or_else(|| {
                            if e.is_closed() {
                                "connection closed".into()
                            } else {
                                "client error".into()
                            }
                        })
                    });
                    let done = Instant::now();
                    local.push(Record {
                        kind,
                        target: ti,
                        scheduled: scheduled.duration_since(epoch).as_secs_f64(),
                        done: done.duration_since(epoch).as_secs_f64(),
                        error,
                    });
                    if conn.is_closed() {
                        break;
                    }
                }
                records.lock().unwrap_or_else(|e| e.into_inner()).extend(local);
            });
        }

        // A guard that stops the clients however this closure ends.
        struct StopOnDrop<'a>(&'a AtomicBool);
        impl Drop for StopOnDrop<'_> {
            fn drop(&mut self) {
                self.0.store(true, Ordering::Relaxed);
            }
        }
        let _guard = StopOnDrop(&stop);

        std::thread::sleep(opts.warmup);
        if let (Some(_), Some(mut conn)) = (opts.blocker, blocker_conn) {
            let target = &targets[0];
            let sql = target
                .sql(Kind::Insert, target.min_id)
                .or_else(|| target.sql(Kind::Update, target.min_id))
                .context("the blocker needs a table it can write to")?;
            let (tx, rx) = mpsc::channel::<Result<(), String>>();
            let hold = opts.blocker_hold;
            let stop = &stop;
            s.spawn(move || {
                let r = conn.batch_execute(&format!("BEGIN; {sql}"));
                let ok = r.is_ok();
                let _ = tx.send(r.map_err(|e| e.to_string()));
                if ok {
                    let until = Instant::now() + hold;
                    while Instant::now() < until && !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    let _ = conn.batch_execute("COMMIT");
                }
            });
            match rx.recv_timeout(Duration::from_secs(30)) {
                Ok(Ok(())) => {}
                Ok(Err(e)) => bail!("the blocker session failed: {e}"),
                Err(_) => bail!("the blocker session did not start within 30 s"),
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let t0 = epoch.elapsed().as_secs_f64();
        let result = migration();
        let t_end = epoch.elapsed().as_secs_f64();
        std::thread::sleep(opts.cooldown);
        stop.store(true, Ordering::Relaxed);
        let t_load_end = epoch.elapsed().as_secs_f64();
        Ok((t0, t_end, t_load_end, result))
    })?;

    let records = records.into_inner().unwrap_or_else(|e| e.into_inner());
    let report = summarize(&records, targets, &plan, opts, t0, t_end, t_load_end.max(t_end));
    Ok((result, report))
}

fn summarize(
    records: &[Record],
    targets: &[Target],
    plan: &[(usize, Kind)],
    opts: &LoadOptions,
    t0: f64,
    t_end: f64,
    load_end: f64,
) -> LoadReport {
    let hi = t_end.max(t0 + 1e-3);
    let stall = |write: bool| -> Stall {
        let mut best = Stall::default();
        for (ti, target) in targets.iter().enumerate() {
            let mut done: Vec<f64> = records
                .iter()
                .filter(|r| r.target == ti && r.error.is_none() && (r.kind != Kind::Read) == write)
                .map(|r| r.done)
                .collect();
            if done.is_empty() {
                continue;
            }
            done.sort_by(f64::total_cmp);
            let (gap, open) = longest_gap(&done, t0, hi, load_end);
            if gap > best.seconds {
                best = Stall { seconds: round3(gap), table: Some(target.table.clone()), open_ended: open };
            }
        }
        best
    };
    let latencies = |lo: f64, hi: f64| -> Vec<f64> {
        let mut v: Vec<f64> = records
            .iter()
            .filter(|r| r.error.is_none() && r.scheduled >= lo && r.scheduled < hi)
            .map(|r| (r.done - r.scheduled).max(0.0) * 1000.0)
            .collect();
        v.sort_by(f64::total_cmp);
        v
    };
    let during = latencies(t0, hi);
    let baseline = latencies(0.2, t0);
    let window: Vec<&Record> = records.iter().filter(|r| r.scheduled >= t0).collect();
    let rejected = window.iter().filter(|r| r.error.as_deref().is_some_and(|c| c.starts_with("23"))).count();
    let failed = window.iter().filter(|r| r.error.is_some()).count() - rejected;
    let mut errors = BTreeMap::new();
    for r in records {
        if let Some(e) = &r.error {
            *errors.entry(e.clone()).or_insert(0) += 1;
        }
    }
    let mut completed: BTreeMap<String, BTreeMap<Kind, usize>> = BTreeMap::new();
    for r in records.iter().filter(|r| r.error.is_none()) {
        *completed.entry(targets[r.target].table.clone()).or_default().entry(r.kind).or_insert(0) += 1;
    }
    LoadReport {
        tables: targets
            .iter()
            .enumerate()
            .filter(|(ti, _)| plan.iter().any(|(t, _)| t == ti))
            .map(|(_, t)| t.table.clone())
            .collect(),
        clients: plan.len(),
        clients_asked: opts.clients,
        completed,
        rate_per_client: opts.rate,
        migration_seconds: round3(t_end - t0),
        write_stall: stall(true),
        read_stall: stall(false),
        p50_ms: round2(percentile(&during, 50.0)),
        p99_ms: round2(percentile(&during, 99.0)),
        max_ms: round2(during.last().copied().unwrap_or(0.0)),
        baseline_p99_ms: round2(percentile(&baseline, 99.0)),
        requests: window.len(),
        failed,
        rejected,
        errors,
        blocker: opts.blocker,
    }
}

/// Longest interval between consecutive completions (`done`, sorted) that overlaps `[lo, hi]`;
/// a gap after the last completion runs to `load_end` (then it is open-ended).
fn longest_gap(done: &[f64], lo: f64, hi: f64, load_end: f64) -> (f64, bool) {
    let mut pts: Vec<f64> = done.to_vec();
    pts.push(load_end);
    let i = pts.partition_point(|&t| t < lo);
    let mut best = (0.0, false);
    if i == 0 {
        best = (pts[0] - lo, pts.len() == 1);
    }
    for j in i.saturating_sub(1)..pts.len() - 1 {
        if pts[j] >= hi {
            break;
        }
        let gap = pts[j + 1] - pts[j];
        if gap > best.0 {
            best = (gap, j + 1 == pts.len() - 1);
        }
    }
    best
}

/// Nearest-rank percentile of sorted values (0 for none).
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let k = ((p / 100.0 * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[k]
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// xorshift64*: enough randomness to spread ids, no dependency.
struct XorShift(u64);

impl XorShift {
    fn new(seed: u64) -> Self {
        XorShift(seed | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_overlapping_the_window() {
        // completions at 0.1, 0.2, 1.5, 1.6; migration 0.15..1.0; load ends at 2.0
        let (g, open) = longest_gap(&[0.1, 0.2, 1.5, 1.6], 0.15, 1.0, 2.0);
        assert!((g - 1.3).abs() < 1e-9 && !open);
        // nothing after 0.2: open-ended to the end of the load
        let (g, open) = longest_gap(&[0.1, 0.2], 0.15, 1.0, 2.0);
        assert!((g - 1.8).abs() < 1e-9 && open);
        // nothing before the window
        let (g, _) = longest_gap(&[0.9], 0.5, 1.0, 2.0);
        assert!((g - 1.1).abs() < 1e-9);
    }

    #[test]
    fn percentiles() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
        assert_eq!(percentile(&[], 99.0), 0.0);
    }
}
