//! Runner adapters: the same plan, laid out the way each migration runner expects it (file names
//! and versions that keep its order, its no-transaction marker on exactly the steps that need
//! one, one statement per unit where it sends a unit whole, no `BEGIN`/`COMMIT` of ours where it
//! wraps the file, down sections placed its way, its integrity data). An adapter never rewrites
//! SQL: it only arranges the steps `emit` rendered. The facts per runner, with sources, are in
//! `../shared/reference/runners.md`.
//!
//! Where the draft had a down section, it goes with the **first** step: in a full rollback the
//! later steps' downs (comments only) run first and change nothing, so the draft's down then meets
//! the state it was written for.

pub mod alembic;
pub mod atlas;
pub mod dbmate;
pub mod detect;
pub mod diesel;
pub mod django;
pub mod flyway;
pub mod golang_migrate;
pub mod goose;
pub mod graphile_migrate;
pub mod node_pg_migrate;
mod one_transaction;
pub mod prisma;
pub mod psql;
pub mod python;
pub mod sqitch;
pub mod sqlx;
pub mod step;
pub mod version;

use crate::Compilation;
use step::StepView;

/// The runners pgsafe lays plans out for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Runner {
    Psql,
    Sqlx,
    Dbmate,
    Goose,
    GolangMigrate,
    Flyway,
    Prisma,
    Diesel,
    Atlas,
    Sqitch,
    Django,
    Alembic,
    NodePgMigrate,
    GraphileMigrate,
}

impl Runner {
    pub const ALL: [Runner; 14] = [
        Runner::Psql,
        Runner::Sqlx,
        Runner::Dbmate,
        Runner::Goose,
        Runner::GolangMigrate,
        Runner::Flyway,
        Runner::Prisma,
        Runner::Diesel,
        Runner::Atlas,
        Runner::Sqitch,
        Runner::Django,
        Runner::Alembic,
        Runner::NodePgMigrate,
        Runner::GraphileMigrate,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Runner::Psql => "psql",
            Runner::Sqlx => "sqlx",
            Runner::Dbmate => "dbmate",
            Runner::Goose => "goose",
            Runner::GolangMigrate => "golang-migrate",
            Runner::Flyway => "flyway",
            Runner::Prisma => "prisma",
            Runner::Diesel => "diesel",
            Runner::Atlas => "atlas",
            Runner::Sqitch => "sqitch",
            Runner::Django => "django",
            Runner::Alembic => "alembic",
            Runner::NodePgMigrate => "node-pg-migrate",
            Runner::GraphileMigrate => "graphile-migrate",
        }
    }

    /// Does this runner send a step file to the server as one query (its adapter lays a step out
    /// with [`Layout::one_query`])? Then a step that must run alone holds one statement and
    /// nothing else.
    pub fn sends_a_step_as_one_query(self) -> bool {
        matches!(
            self,
            Runner::Sqlx
                | Runner::Dbmate
                | Runner::GolangMigrate
                | Runner::Prisma
                | Runner::Diesel
                | Runner::GraphileMigrate
        )
    }

    pub fn from_name(name: &str) -> Option<Runner> {
        Runner::ALL.into_iter().find(|r| r.name() == name.to_ascii_lowercase())
    }

    /// The draft's unit in a directory the runner owns, from the draft's file path: the runner's
    /// root directory, the unit's name there (a file, a folder, or a sqitch change) — or `None`
    /// when the draft is not where this runner keeps a migration (then `rewrite` lays it out as
    /// the first migration of a fresh directory).
    pub fn placement(self, draft: &std::path::Path) -> Option<Placement> {
        let file = draft.file_name()?.to_str()?.to_string();
        let parent = draft.parent().map(|p| if p.as_os_str().is_empty() { std::path::Path::new(".") } else { p })?;
        let folder_unit = |inner: &str| -> Option<Placement> {
            (file == inner).then_some(())?;
            let folder = parent.file_name()?.to_str()?.to_string();
            let root = parent.parent().map(|p| if p.as_os_str().is_empty() { std::path::Path::new(".") } else { p })?;
            Some(Placement::new(root, folder))
        };
        match self {
            Runner::Prisma => folder_unit("migration.sql"),
            Runner::Diesel => folder_unit("up.sql"),
            Runner::Sqitch => {
                let stem = file.strip_suffix(".sql")?;
                (parent.file_name()? == "deploy").then_some(())?;
                let root =
                    parent.parent().map(|p| if p.as_os_str().is_empty() { std::path::Path::new(".") } else { p })?;
                let mut at = Placement::new(root, stem.to_string());
                // Its verify script checks what the whole change leaves: it moves to the last step.
                let verify = format!("verify/{stem}.sql");
                if let Ok(text) = std::fs::read_to_string(root.join(&verify)) {
                    at.read.insert(verify, text);
                }
                Some(at)
            }
            _ => Some(Placement::new(parent, file)),
        }
    }

    /// Lay `c`'s plan out for this runner at `at`.
    pub fn lay_out(self, c: &Compilation, at: &Placement) -> Result<Layout, String> {
        let steps = step::steps(&c.files);
        let down_parts = step::down(&c.files);
        let down: Option<String> = down_parts.as_ref().map(|p| p.iter().map(|p| p.text.as_str()).collect());
        let plan = PlanView {
            draft: &c.source.name,
            text: &c.source.text,
            steps: &steps,
            down: down.as_deref(),
            down_parts: down_parts.as_deref().unwrap_or_default(),
            down_outside_transaction: step::down_outside_transaction(&c.files),
        };
        match self {
            Runner::Psql => psql::lay_out(c, at),
            Runner::Sqlx => sqlx::lay_out(&plan, at),
            Runner::Dbmate => dbmate::lay_out(&plan, at),
            Runner::Goose => goose::lay_out(&plan, at),
            Runner::GolangMigrate => golang_migrate::lay_out(&plan, at),
            Runner::Flyway => flyway::lay_out(&plan, at),
            Runner::Prisma => prisma::lay_out(&plan, at),
            Runner::Diesel => diesel::lay_out(&plan, at),
            Runner::Atlas => atlas::lay_out(&plan, at),
            Runner::Sqitch => sqitch::lay_out(&plan, at),
            Runner::Django => django::lay_out(&plan, at),
            Runner::Alembic => alembic::lay_out(&plan, at),
            Runner::NodePgMigrate => node_pg_migrate::lay_out(&plan, at),
            Runner::GraphileMigrate => graphile_migrate::lay_out(&plan, at),
        }
    }
}

impl Runner {
    /// The file of each step of `c`'s plan (compiled whole) in this runner's layout, as `pgsafe
    /// fix` writes it in place of the draft at `draft` (pgsafe's later steps of this draft from an
    /// earlier run replaced), relative to the runner's directory; `None` under psql (the plan
    /// directory's names are its own) or where `fix` could not lay the draft out.
    pub fn step_files(self, c: &Compilation, draft: &std::path::Path) -> Option<Vec<String>> {
        if self == Runner::Psql {
            return None;
        }
        let mut at = self.placement(draft)?;
        let file = draft.file_name()?.to_str()?;
        let earlier: Vec<String> =
            earlier_steps(&at, file).into_iter().filter(|(n, _)| *n >= 2).map(|(_, name)| name).collect();
        at.existing.retain(|n| !earlier.contains(n));
        at.read.retain(|n, _| !earlier.contains(n));
        let steps = self.lay_out(c, &at).ok()?.steps;
        (steps.len() == c.steps().count()).then_some(steps)
    }
}

impl std::fmt::Display for Runner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What an adapter needs of the plan.
pub struct PlanView<'a> {
    /// The draft's name (for comments).
    pub draft: &'a str,
    /// The draft's text (for markers pgsafe's front end does not know).
    pub text: &'a str,
    pub steps: &'a [StepView],
    /// The draft's down section, markers removed.
    pub down: Option<&'a str>,
    /// The same as parts.
    pub down_parts: &'a [step::parts::Part],
    /// The draft's down section's marker opts out of the runner's transaction (dbmate's
    /// `-- migrate:down transaction:false`): its down must keep running outside one.
    pub down_outside_transaction: bool,
}

/// Is this file a forward migration a runner would run (not a down, revert or verify script)?
pub fn is_forward_migration(path: &std::path::Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let parent = path.parent().and_then(|p| p.file_name()).and_then(|n| n.to_str()).unwrap_or("");
    let lower = name.to_ascii_lowercase();
    let script = lower.ends_with(".sql") && !name.starts_with('.');
    let down = lower == "down.sql" || lower.ends_with(".down.sql") || lower.ends_with("_down.sql");
    let flyway_undo = name.starts_with('U') && name.contains("__");
    script && !down && !flyway_undo && parent != "revert" && parent != "verify"
}

/// Where the draft sits: the runner's directory, the draft's unit in it, what else is there.
#[derive(Debug, Clone)]
pub struct Placement {
    pub root: std::path::PathBuf,
    /// The draft's file (or folder, or sqitch change) name in `root`.
    pub draft: String,
    /// Every other name in `root` (files and folders), to keep the runner's order.
    pub existing: Vec<String>,
    /// Files the adapter may need to read and rewrite (`sqitch.plan`, the `.sql` files of an
    /// Atlas directory for `atlas.sum`), relative to `root`, with their text.
    pub read: std::collections::BTreeMap<String, String>,
}

impl Placement {
    /// The placement of `draft` in `root`, reading what is there.
    pub fn new(root: &std::path::Path, draft: String) -> Placement {
        let mut existing: Vec<String> = std::fs::read_dir(root)
            .map(|d| d.filter_map(|e| e.ok()?.file_name().into_string().ok()).collect())
            .unwrap_or_default();
        existing.retain(|n| n != &draft);
        existing.sort();
        let mut read = std::collections::BTreeMap::new();
        for name in ["sqitch.plan", "atlas.sum"].iter().map(|s| s.to_string()).chain(existing.iter().cloned()) {
            // Flyway's `<draft>.sql.conf` too: how the draft runs.
            if name.ends_with(".sql") || name == "sqitch.plan" || name == "atlas.sum" || name == format!("{draft}.conf")
            {
                if let Ok(text) = std::fs::read_to_string(root.join(&name)) {
                    read.insert(name, text);
                }
            }
        }
        Placement { root: root.to_path_buf(), draft, existing, read }
    }

    /// A placement in a fresh directory (for `rewrite --runner`), the draft named `draft`.
    pub fn fresh(root: &std::path::Path, draft: String) -> Placement {
        Placement { root: root.to_path_buf(), draft, existing: Vec::new(), read: Default::default() }
    }
}

/// pgsafe's own step files of the draft whose file name is `draft_file`, among `at.existing`, each
/// with its step number: their header says `pgsafe step N of M` and `from <…/draft_file> line…`.
/// With them, the comment-only down file and the Flyway `.conf` pgsafe wrote beside a step. A
/// Prisma or diesel step is a folder, known by its `migration.sql` or `up.sql`.
pub fn earlier_steps(at: &Placement, draft_file: &str) -> Vec<(usize, String)> {
    let text = |name: &str| at.read.get(name).cloned().or_else(|| std::fs::read_to_string(at.root.join(name)).ok());
    let script = |n: &String| match n.ends_with(".sql") || n.ends_with(".js") {
        true => Some(n.clone()),
        false => ["migration.sql", "up.sql"].iter().map(|f| format!("{n}/{f}")).find(|f| at.root.join(f).is_file()),
    };
    let mut out: Vec<(usize, String)> =
        at.existing.iter().filter_map(|n| Some((step_of(&text(&script(n)?)?, draft_file)?, n.clone()))).collect();
    for (n, name) in out.clone() {
        let base = name.strip_suffix(".up.sql").or_else(|| name.strip_suffix(".sql")).unwrap_or(&name);
        let down = format!("{base}.down.sql");
        let conf = format!("{name}.conf");
        let ours = |f: &str, t: String| {
            let wrote = f.starts_with("-- pgsafe: nothing to undo here")
                || f == "executeInTransaction=false\n"
                || f == "executeInTransaction=true\n";
            (wrote && at.existing.contains(&t)).then_some(t)
        };
        if let Some(d) = text(&down).and_then(|f| ours(&f, down)) {
            out.push((n, d));
        }
        if let Some(c) = text(&conf).and_then(|f| ours(&f, conf)) {
            out.push((n, c));
        }
    }
    out
}

/// The step number in a step file's header, when it says it came from `draft_file`.
fn step_of(text: &str, draft_file: &str) -> Option<usize> {
    let (mut n, mut from) = (None, false);
    for line in text.lines().take(8) {
        let Some(l) = line.strip_prefix("--").or_else(|| line.strip_prefix("//")).map(str::trim_start) else {
            continue;
        };
        if let Some(rest) = l.strip_prefix("pgsafe step ") {
            n = rest.split(' ').next().and_then(|k| k.parse().ok());
        } else if let Some(rest) = l.strip_prefix("from ") {
            let rest = rest.split_once(" · rules:").map_or(rest, |(p, _)| p);
            let path = rest.rsplit_once(" line").map_or(rest, |(p, _)| p);
            from |= std::path::Path::new(path).file_name().is_some_and(|f| f == draft_file);
        }
    }
    n.filter(|_| from)
}

/// Files to write (paths relative to the placement's root) and to remove, and what to tell the user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Layout {
    pub write: Vec<(String, String)>,
    pub remove: Vec<String>,
    pub notes: Vec<String>,
    /// The file (or a folder's script) holding each plan step, in run order: what the reports
    /// name a step by where this layout is in effect.
    pub steps: Vec<String>,
}

impl Layout {
    pub fn add(&mut self, path: impl Into<String>, text: impl Into<String>) {
        self.write.push((path.into(), text.into()));
    }

    /// [`Layout::add`] for the file that holds the next plan step.
    pub fn add_step(&mut self, path: impl Into<String>, text: impl Into<String>) {
        let path = path.into();
        self.steps.push(path.clone());
        self.write.push((path, text.into()));
    }

    /// `step`'s body for a runner that sends a file as one query (see
    /// [`StepView::one_query_body`]), its note kept for the user.
    pub fn one_query(&mut self, step: &StepView, runner: &str) -> Result<String, String> {
        let q = step.one_query_body(runner)?;
        self.notes.extend(q.note);
        Ok(q.body)
    }
}

/// The down text of step `n` (1-based): the draft's down for the first step, a comment for the
/// others.
pub fn down_for(plan: &PlanView<'_>, n: usize, first_name: &str) -> Option<String> {
    let down = plan.down?;
    Some(if n == 1 { down.to_string() } else { nothing_to_undo(first_name) })
}

/// The down of a later step: comments only (PostgreSQL takes them as an empty query), naming
/// `first_name`, where the draft's down is.
pub fn nothing_to_undo(first_name: &str) -> String {
    format!("-- pgsafe: nothing to undo here; the draft's down section is in {first_name}, which a full rollback reaches last.\n")
}
