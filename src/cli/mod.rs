//! The `pgsafe` command line: parse arguments, find the configuration, call the library, print
//! the report, set the exit code.
//!
//! Exit codes: 0 success (for `check`: nothing to rewrite); 1 `check`/`fix` found something to
//! rewrite (or `fix` changed a file, or refused to; `check`: or a lock-relevant statement it could
//! not understand); 2 unusable input or usage error — for a
//! command over many files, after every other file was handled.

mod inputs;
mod settings;
mod write;

use anyhow::{Context, Result};
use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use pgsafe::config_file::ConfigFile;
use pgsafe::diff;
use pgsafe::emit::write::write_dir;
use pgsafe::report::{self, Outcome};
use pgsafe::runner::{detect, Placement, Runner};
use pgsafe::{Compilation, Config, Want};
use rayon::prelude::*;
use settings::{Settings, View};
use std::io::{self, Read, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const EXAMPLES: &str = "\
Examples:
  pgsafe rewrite draft.sql -o plan/            write the plan (one file per step) and show the diff
  pgsafe diff migrations/                      show what would change, for every migration there
  pgsafe check 'migrations/**/*.sql'           exit 1 if anything would be rewritten (CI)
  pgsafe fix migrations/20240101_add.sql       rewrite in place, in the runner's layout (pre-commit)
  pgsafe review migrations/ > comment.md       a pull-request comment: steps, locks, reasons, diff
  pgsafe check migrations/ --format sarif      for code scanning
  pgsafe verify draft.sql --load               run draft and plan on a throwaway PostgreSQL
  pgsafe explain concurrent-index              what a rule does and why

Settings come from flags, else from the nearest pgsafe.toml, else the defaults.";

/// pgsafe rewrites a draft PostgreSQL migration into a safe multi-file plan: CONCURRENTLY index
/// builds in their own steps, NOT VALID + later VALIDATE for constraints, lock_timeout on every
/// step that blocks traffic. Every change is shown as a diff, with its rule and reason.
#[derive(Parser)]
#[command(name = "pgsafe", version, about, long_about = None, after_help = EXAMPLES)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Print only errors (and the report a format asks for).
    #[arg(short, long, global = true)]
    quiet: bool,
    /// Also say which runner layout each file got and why, and where the configuration came from.
    #[arg(short, long, global = true, conflicts_with = "quiet")]
    verbose: bool,
    /// Use this configuration file instead of the nearest pgsafe.toml.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Ignore any pgsafe.toml.
    #[arg(long, global = true, conflicts_with = "config")]
    no_config: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Compile DRAFT into a plan directory (0001_….sql, …, manifest.json) and show the diff; with
    /// --runner, lay the plan out in that runner's migrations directory OUT instead.
    Rewrite {
        /// The draft migration (`-` for standard input).
        draft: PathBuf,
        /// Where to write the plan (with --runner: the runner's migrations directory).
        #[arg(short, long, value_name = "DIR")]
        out: PathBuf,
        /// Replace the previous pgsafe plan in OUT (an OUT holding other files is refused even so; with
        /// --runner: overwrite existing files).
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        view: View,
        #[command(flatten)]
        settings: Settings,
    },
    /// Show what `rewrite` would change, without writing anything. Takes files, directories and
    /// glob patterns.
    Diff {
        #[arg(required = true, value_name = "FILE|DIR|GLOB")]
        files: Vec<PathBuf>,
        /// Apply pgsafe.toml's include/exclude to files named on the command line too (a
        /// pre-commit hook or CI step names every changed .sql file): an excluded one is skipped
        /// as a directory's would be.
        #[arg(long)]
        force_exclude: bool,
        #[command(flatten)]
        view: View,
        #[command(flatten)]
        settings: Settings,
    },
    /// Exit 0 if nothing would be rewritten, 1 if something would (listing why) or a statement that
    /// may take strong locks was not understood, 2 on bad input.
    /// Takes files, directories (their migrations) and glob patterns; compiles them in parallel.
    Check {
        #[arg(required = true, value_name = "FILE|DIR|GLOB")]
        files: Vec<PathBuf>,
        /// Apply pgsafe.toml's include/exclude to files named on the command line too (a
        /// pre-commit hook or CI step names every changed .sql file): an excluded one is skipped
        /// as a directory's would be.
        #[arg(long)]
        force_exclude: bool,
        /// Also exit 1 on warnings (what pgsafe reports but cannot rewrite safely).
        #[arg(long)]
        strict: bool,
        /// How to report: text (pretty on a terminal: with source snippets), json (versioned, see
        /// README), sarif (2.1.0), github (workflow annotations; also added to text under GitHub
        /// Actions), markdown (as `review`).
        #[arg(long, value_enum)]
        format: Option<OutputFormat>,
        #[command(flatten)]
        settings: Settings,
    },
    /// Rewrite migration files in place, in their runner's layout (for a pre-commit hook): each
    /// draft that needs it is replaced, in its own directory, by its plan's steps. Exits 1 when it
    /// changed a file (the commit stops so you can review), 0 when nothing needed it.
    Fix {
        #[arg(required = true, value_name = "FILE|DIR|GLOB")]
        files: Vec<PathBuf>,
        /// Apply pgsafe.toml's include/exclude to files named on the command line too (a
        /// pre-commit hook or CI step names every changed .sql file): an excluded one is skipped
        /// as a directory's would be.
        #[arg(long)]
        force_exclude: bool,
        /// Split a migration even if git history already has it (it may have been applied
        /// somewhere: runners that checksum applied files will then complain).
        #[arg(long)]
        allow_committed: bool,
        #[command(flatten)]
        settings: Settings,
    },
    /// A pull-request comment in markdown: per migration the steps (transaction or not, locks,
    /// what traffic they block and for how long), the reasons, the warnings, the diff.
    Review {
        #[arg(required = true, value_name = "FILE|DIR|GLOB")]
        files: Vec<PathBuf>,
        /// Apply pgsafe.toml's include/exclude to files named on the command line too (a
        /// pre-commit hook or CI step names every changed .sql file): an excluded one is skipped
        /// as a directory's would be.
        #[arg(long)]
        force_exclude: bool,
        /// `pgsafe verify --format json` output for a migration (its "draft" field names it), to
        /// include its equivalence and stall numbers. Repeatable.
        #[arg(long, value_name = "FILE")]
        verify_report: Vec<PathBuf>,
        #[command(flatten)]
        settings: Settings,
    },
    /// List the rules.
    Rules,
    /// Print a rule's documentation.
    Explain { rule: String },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions { shell: clap_complete::Shell },
    /// Print the man page (roff).
    Man,
    /// Run the draft and its plan on a real PostgreSQL (a throwaway cluster, or scratch databases
    /// on a local server) and compare: schema, locks taken, and stalls under simulated traffic.
    /// Exits 1 when the plan is not equivalent or stalls writes longer than --max-stall.
    Verify {
        draft: PathBuf,
        /// Use this server (scratch databases only) instead of a throwaway cluster.
        #[arg(long, value_name = "URL")]
        database_url: Option<String>,
        /// Accept a --database-url whose host is not this machine.
        #[arg(long)]
        allow_remote: bool,
        /// Data applied after the schema (--schema, applied first to the template both sides
        /// start from).
        #[arg(long, value_name = "FILE")]
        seed: Option<PathBuf>,
        /// Before draft and plan run, give every table the plan locks (and the tables they
        /// reference through foreign keys, parents first) N synthetic rows of the right types;
        /// after --seed.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1_000_000_000))]
        rows: Option<u64>,
        /// Skip the lock trace.
        #[arg(long)]
        no_trace: bool,
        /// Run draft and plan under simulated traffic on the tables the plan locks.
        #[arg(long)]
        load: bool,
        /// Load: client connections.
        #[arg(long, default_value_t = 6)]
        clients: usize,
        /// Load: requests per second per client.
        #[arg(long, default_value_t = 20.0)]
        rate: f64,
        /// Load: a session holding a transaction open while the migration starts.
        #[arg(long, value_enum)]
        blocker: Option<BlockerArg>,
        /// Load: how long the blocker holds its transaction, seconds.
        #[arg(long, default_value_t = 3.0, value_name = "SECONDS")]
        blocker_seconds: f64,
        /// Fail when the plan stalls writes on a table longer than this, seconds.
        #[arg(long, value_name = "SECONDS")]
        max_stall: Option<f64>,
        #[arg(long, value_enum, default_value = "text")]
        format: ReportFormat,
        #[command(flatten)]
        settings: Settings,
    },
    /// Run a plan directory's steps against a database: retries a step that hits its lock
    /// timeout (with back-off and jitter, naming the blocking sessions), drops an INVALID index
    /// before rebuilding it, records progress in pgsafe_progress so a rerun resumes, and holds an
    /// advisory lock so two runs never interleave. Exits 1 when a step fails for good.
    Apply {
        plan: PathBuf,
        #[arg(long, value_name = "URL")]
        database_url: String,
        /// Tries per step, the first included.
        #[arg(long, default_value_t = 10)]
        max_attempts: u32,
        /// First retry delay, seconds (doubled each retry, with jitter).
        #[arg(long, default_value_t = 0.5, value_name = "SECONDS")]
        retry_delay: f64,
        /// Longest retry delay, seconds.
        #[arg(long, default_value_t = 30.0, value_name = "SECONDS")]
        max_retry_delay: f64,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum BlockerArg {
    IdleWriter,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ReportFormat {
    Text,
    Json,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum OutputFormat {
    Text,
    /// Text with the draft's lines under each finding (the default on a terminal).
    Pretty,
    Json,
    Sarif,
    Github,
    Markdown,
}

/// What every command shares: the configuration file and how talkative to be.
pub struct Ctx {
    pub file: ConfigFile,
    pub quiet: bool,
    pub verbose: bool,
}

impl Ctx {
    fn note(&self, line: impl std::fmt::Display) {
        if !self.quiet {
            eprintln!("pgsafe: {line}");
        }
    }
}

/// A spinner on standard error for long work (hidden when it is not a terminal, or --quiet).
fn progress(ctx: &Ctx, message: &str) -> indicatif::ProgressBar {
    let bar = if ctx.quiet {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new_spinner().with_message(message.to_string())
    };
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

/// Read a file (or standard input) as UTF-8, with the position of the first invalid byte.
fn read(path: &Path) -> Result<(String, String)> {
    let name = path.display().to_string();
    let bytes = if name == "-" {
        let mut b = Vec::new();
        std::io::stdin().read_to_end(&mut b).context("cannot read standard input")?;
        b
    } else {
        std::fs::read(path).with_context(|| format!("{name}: cannot read"))?
    };
    let text = String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let src = String::from_utf8_lossy(&e.as_bytes()[..at]).into_owned();
        let source = pgsafe::source::Source::new(name.as_str(), src);
        anyhow::Error::new(pgsafe::InputError::located(&source, at, "not UTF-8 text (invalid byte here)"))
    })?;
    Ok((if name == "-" { "<stdin>".into() } else { name }, text))
}

/// Compile one file: read it, choose its runner (flag, configuration, detection), build its
/// configuration, compile.
fn outcome(path: &Path, settings: &Settings, ctx: &Ctx, want: Want) -> Outcome {
    let shown = path.display().to_string();
    let (name, text) = match read(path) {
        Ok(x) => x,
        Err(e) => {
            let error_at = e.downcast_ref::<pgsafe::InputError>().and_then(|e| e.line_col);
            return Outcome { path: shown, runner: None, result: Err(format!("{e:#}")), error_at };
        }
    };
    let file_settings = ctx.file.for_file(path);
    let runner = match settings.runner.as_deref().or(file_settings.runner.as_deref()) {
        Some(r) => Runner::from_name(r)
            .map(|r| (r, if settings.runner.is_some() { "--runner" } else { "pgsafe.toml" }.to_string())),
        None => detect::detect(path, &text).map(|(r, why)| (r, format!("detected: {why}"))),
    };
    let mut error_at = None;
    let under_psql = runner.as_ref().is_none_or(|(r, _)| *r == Runner::Psql);
    let runner_transaction = runner.as_ref().is_some_and(|(r, _)| r.runs_in_one_transaction(path, &text));
    // A report that names the steps, under a runner's layout, names the files `fix` writes: the
    // plan is compiled whole for the adapter to lay out (Alembic's revision ids are digests of
    // the steps' texts).
    let layout = runner.as_ref().map(|(r, _)| *r).filter(|r| *r != Runner::Psql && path.as_os_str() != "-");
    let names_steps = layout.is_some() && matches!(want, Want::Manifest | Want::Review);
    let result = settings.config(&file_settings, ctx).map_err(|e| format!("{e:#}")).and_then(|config| {
        let one_query_steps = runner.as_ref().is_some_and(|(r, _)| r.sends_a_step_as_one_query());
        let config = Config { runs_under_psql: under_psql, runner_transaction, one_query_steps, ..config };
        let compile_as = if names_steps { Want::Everything } else { want };
        pgsafe::compile_for(&name, text, &config, compile_as).map_err(|e| {
            error_at = e.line_col;
            e.to_string()
        })
    });
    let result = result.map(|mut c| {
        if let Some(names) = layout.filter(|_| names_steps && c.changed()).and_then(|r| r.step_files(&c, path)) {
            c.rename_steps(&names);
        }
        c
    });
    Outcome { path: if shown == "-" { name } else { shown }, runner, result, error_at }
}

fn compile_one(path: &Path, settings: &Settings, ctx: &Ctx) -> Result<Compilation> {
    outcome(path, settings, ctx, Want::Everything).result.map_err(|e| anyhow::anyhow!(e))
}

/// Compile every input in parallel; outcomes in input order. Files found under a directory are
/// filtered by the configuration's include/exclude, and with `force_exclude` files named on the
/// command line too (standard input never is).
fn outcomes(args: &[PathBuf], force_exclude: bool, settings: &Settings, ctx: &Ctx, want: Want) -> Vec<Outcome> {
    let named: std::collections::HashSet<&PathBuf> = args.iter().collect();
    let inputs: Vec<inputs::Input> = inputs::expand(args)
        .into_iter()
        .filter(|i| match i {
            inputs::Input::File(p) if p.as_os_str() == "-" => true,
            inputs::Input::File(p) if named.contains(p) && !force_exclude => true,
            inputs::Input::File(p) => {
                let selected = ctx.file.selects(p);
                if !selected && force_exclude && ctx.verbose && named.contains(p) {
                    eprintln!("pgsafe: {}: excluded by pgsafe.toml: skipped (--force-exclude)", p.display());
                }
                selected
            }
            inputs::Input::Bad { .. } => true,
        })
        .collect();
    let compile = |i: &inputs::Input| match i {
        inputs::Input::File(p) => outcome(p, settings, ctx, want),
        inputs::Input::Bad { path, error } => {
            Outcome { path: path.clone(), runner: None, result: Err(format!("{path}: {error}")), error_at: None }
        }
    };
    // One file (a pre-commit hook's usual call) compiles on this thread: no thread pool to start.
    if inputs.len() == 1 {
        inputs.iter().map(compile).collect()
    } else {
        inputs.par_iter().map(compile).collect()
    }
}

fn under_github_actions() -> bool {
    std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true")
}

/// Write a report to standard output as it is made (a big draft's report is larger than the
/// draft, and held whole as a string it doubled the peak); false, after saying why, when that
/// fails.
fn to_stdout(write: impl FnOnce(&mut io::BufWriter<io::StdoutLock<'static>>) -> io::Result<()>) -> bool {
    let mut out = io::BufWriter::new(io::stdout().lock());
    match write(&mut out).and_then(|()| out.flush()) {
        Ok(()) => true,
        Err(e) => {
            eprintln!("error: writing the report: {e}");
            false
        }
    }
}

fn print_errors(outcomes: &[Outcome]) -> bool {
    let mut bad = false;
    for o in outcomes {
        if let Err(e) = &o.result {
            eprintln!("error: {e}");
            bad = true;
        }
    }
    bad
}

/// Has git history seen this file? (It may have been applied; splitting it would break runners
/// that checksum applied migrations.) No git, not in a repository, or a repository without
/// commits: no. Git failing otherwise (a repository owned by another user, a broken one) is an
/// error: nobody could tell.
fn committed(path: &Path) -> Result<Option<String>> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let Some(name) = path.file_name() else { return Ok(None) };
    // Found by its `.git`, not by git's message (which another language words otherwise).
    let absolute = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    if !absolute.ancestors().any(|a| a.join(".git").exists()) {
        return Ok(None);
    }
    let git = |args: &[&str]| std::process::Command::new("git").arg("-C").arg(dir).args(args).output();
    // `--verify -q` exits 1, quietly, where HEAD is no commit yet; git failing exits 128.
    match git(&["rev-parse", "--verify", "-q", "HEAD"]) {
        Err(_) => return Ok(None),
        Ok(out) if out.status.code() == Some(1) => return Ok(None),
        Ok(_) => {}
    }
    let mut args = vec!["log", "-1", "--format=%h %s", "--"];
    let name = name.to_string_lossy();
    args.push(&name);
    let out = git(&args)?;
    anyhow::ensure!(
        out.status.success(),
        "cannot tell whether git history has it (so whether it may have been applied): git log failed: {}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
    let line = String::from_utf8_lossy(&out.stdout).trim().to_string();
    Ok((!line.is_empty()).then_some(line))
}

/// Is `path` inside a git work tree?
fn in_git_work_tree(path: &Path) -> bool {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["rev-parse", "--is-inside-work-tree"])
        .output()
        .is_ok_and(|o| o.status.success() && o.stdout.starts_with(b"true"))
}

/// `text` as one word of a POSIX shell command line (quoted only when it needs to be).
fn shell_word(text: &str) -> String {
    if !text.is_empty() && text.chars().all(|c| c.is_ascii_alphanumeric() || "/._-+=:,@%".contains(c)) {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

/// graphile-migrate's `current.sql` (or `current/` folder): the migration being written, which
/// its tool blanks again at each commit and never applies to production as it is.
fn is_graphile_current(runner: Runner, path: &Path) -> bool {
    runner == Runner::GraphileMigrate
        && (path.file_name().is_some_and(|n| n == "current.sql")
            || path.parent().and_then(Path::file_name).is_some_and(|n| n == "current"))
}

/// Hold `dir` for this process alone while it lays out a plan there: a pre-commit hook runs
/// several `pgsafe fix` at once, and two of them reading and writing the same `sqitch.plan` (or
/// `atlas.sum`) lost one's steps. A directory `held` already (however it is spelled: `a.sql`'s
/// parent is `""`, its root `.`) is not locked again: a second lock of it from this process
/// waited for the first forever. Best effort: where a directory cannot be locked, no lock.
fn lock_dir(dir: &Path, held: &mut Vec<(PathBuf, std::fs::File)>) -> bool {
    let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
    let Ok(real) = std::fs::canonicalize(dir) else { return false };
    if held.iter().any(|(p, _)| *p == real) {
        return false;
    }
    let Ok(file) = std::fs::File::open(&real) else { return false };
    if file.lock().is_err() {
        return false;
    }
    held.push((real, file));
    true
}

/// The draft's unit name for `rewrite --runner` into a directory holding `existing`: step 1 of
/// pgsafe's `earlier` plan of this draft there (the new plan replaces it, in its place); the
/// draft's own name when it has a version (refused when another migration there has it: two
/// migrations of one version); else a version after the last migration there, so that the plan
/// runs after the migrations that make its tables and no runner skips it as out of order.
fn unit_name(runner: Runner, draft: &Path, existing: &[String], earlier: Option<&String>) -> Result<String> {
    use pgsafe::runner::{flyway, version};
    let stem = draft.file_stem().and_then(|s| s.to_str()).filter(|s| *s != "-").unwrap_or("draft").to_string();
    let name = match runner {
        Runner::Sqitch | Runner::Django | Runner::Alembic | Runner::GraphileMigrate => {
            return Ok(match runner {
                Runner::GraphileMigrate => format!("{stem}.sql"),
                _ => stem,
            });
        }
        _ if earlier.is_some() => return Ok(earlier.cloned().unwrap_or_default()),
        Runner::Flyway if stem.starts_with('V') && stem.contains("__") => format!("{stem}.sql"),
        Runner::Flyway => format!("V{}__{stem}.sql", flyway::next_version(existing)),
        _ => {
            let stem = if runner == Runner::GolangMigrate { stem.trim_end_matches(".up") } else { &stem };
            let stem = match version::prefix(stem) {
                Some(_) => stem.to_string(),
                None => {
                    let versions: Vec<String> =
                        existing.iter().filter_map(|n| version::prefix(n).map(String::from)).collect();
                    let now =
                        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
                    format!("{}_{stem}", version::next_after(&versions, now))
                }
            };
            match runner {
                Runner::GolangMigrate => format!("{stem}.up.sql"),
                Runner::Prisma | Runner::Diesel => stem,
                _ => format!("{stem}.sql"),
            }
        }
    };
    let taken = if runner == Runner::Flyway {
        flyway::same_version(&name, existing).cloned()
    } else {
        let unit = |n: &str| {
            let n = n.strip_suffix(".sql").or_else(|| n.strip_suffix(".js")).unwrap_or(n);
            n.strip_suffix(".up").or_else(|| n.strip_suffix(".down")).unwrap_or(n).to_string()
        };
        let v = version::prefix(&name).and_then(version::number);
        existing
            .iter()
            .find(|e| {
                unit(e) != unit(&name) && version::prefix(e).and_then(version::number).is_some_and(|n| Some(n) == v)
            })
            .cloned()
    };
    if let Some(other) = taken {
        anyhow::bail!(
            "{}: {other} there has its version already (two migrations of one version): give the draft another \
             version, or none (pgsafe then puts it after the last migration)",
            draft.display()
        );
    }
    Ok(name)
}

/// Have `layout` remove pgsafe's `earlier` step units under `root` that it does not write again:
/// a file, or what pgsafe writes in a step folder (which [`remove_empty`] then removes): its
/// script, and a `down.sql` or `metadata.toml` with pgsafe's text. Anything else there stays.
fn drop_earlier(root: &Path, layout: &mut pgsafe::runner::Layout, earlier: &[String]) {
    let ours = |f: &Path| match f.file_name().and_then(|n| n.to_str()) {
        Some("up.sql" | "migration.sql") => f.is_file(),
        Some("down.sql") => std::fs::read_to_string(f).is_ok_and(|t| t.starts_with("-- pgsafe: nothing to undo")),
        Some("metadata.toml") => std::fs::read_to_string(f).is_ok_and(|t| t == "run_in_transaction = false\n"),
        _ => false,
    };
    for unit in earlier {
        let files: Vec<String> = match root.join(unit).is_dir() {
            true => ["up.sql", "migration.sql", "down.sql", "metadata.toml"]
                .iter()
                .map(|f| format!("{unit}/{f}"))
                .filter(|f| ours(&root.join(f)))
                .collect(),
            false => vec![unit.clone()],
        };
        for f in files {
            if !layout.write.iter().any(|(w, _)| *w == f) && !layout.remove.contains(&f) {
                layout.remove.push(f);
            }
        }
    }
}

/// The step folders of `earlier` left empty once written (a folder still holding a file stays).
fn remove_empty(root: &Path, earlier: &[String]) {
    for unit in earlier {
        let _ = std::fs::remove_dir(root.join(unit));
    }
}

/// The command is done with its compilations and the process ends right after it: their memory
/// goes back to the system at once, not one allocation at a time (freeing a draft of 100k
/// statements took 2-3 % of `diff`'s instructions).
fn left_to_exit(all: Vec<Outcome>) {
    std::mem::forget(all);
}

fn fix(files: &[PathBuf], force_exclude: bool, allow_committed: bool, settings: &Settings, ctx: &Ctx) -> ExitCode {
    // A runner's migrations pgsafe rewrites are `.sql` files; a glob over a migrations folder also
    // names its code (node-pg-migrate's `.js`, some written by pgsafe itself).
    let (sql, code): (Vec<PathBuf>, Vec<PathBuf>) =
        files.iter().cloned().partition(|f| !f.is_file() || f.extension().is_some_and(|e| e == "sql"));
    for f in &code {
        ctx.note(format!("{}: not a .sql file: left as it is", f.display()));
    }
    // Standard input has no file to put the plan in (it exited 0, as if the draft were safe).
    let (stdin, sql): (Vec<PathBuf>, Vec<PathBuf>) = sql.into_iter().partition(|f| f.as_os_str() == "-");
    for _ in &stdin {
        eprintln!(
            "error: -: fix rewrites migration files in place, and standard input is none: use pgsafe rewrite - -o DIR, \
             or pgsafe diff -"
        );
    }
    let all = outcomes(&sql, force_exclude, settings, ctx, Want::NoManifest);
    let mut bad = print_errors(&all) || !stdin.is_empty();
    let mut changed = false;
    for o in &all {
        let Ok(c) = &o.result else { continue };
        if !c.changed() {
            continue;
        }
        let path = Path::new(&o.path);
        // A down (or revert, verify) script runs only when the runner rolls back: laid out as
        // steps, it would become forward migrations (a pre-commit hook names every changed file).
        if !inputs::is_migration(path) {
            ctx.note(format!(
                "{}: not a forward migration (a down, revert or verify script): left as it is; pgsafe rewrites the \
                 migrations a runner applies",
                o.path
            ));
            continue;
        }
        let (runner, why) = o.runner.clone().unwrap_or((Runner::Psql, "the default".into()));
        if !allow_committed && !is_graphile_current(runner, path) {
            let commit = match committed(path) {
                Ok(commit) => commit,
                Err(e) => {
                    eprintln!("error: {}: {e:#}", o.path);
                    bad = true;
                    continue;
                }
            };
            if let Some(commit) = commit {
                eprint!("{}", diff::render_findings(c));
                eprintln!(
                    "error: {}: needs a rewrite, but git history already has it (last in {commit}): it may have been \
                     applied somewhere, and splitting it would leave that database out of step (and checksumming \
                     runners would refuse the changed file). Write the fix as a new migration, or pass \
                     --allow-committed if it was never applied",
                    o.path
                );
                changed = true;
                continue;
            }
        }
        let result = (|| -> Result<(usize, Vec<PathBuf>)> {
            anyhow::ensure!(
                runner != Runner::Psql || !c.files.iter().any(|f| f.mode.is_none()),
                "{}: has a down section; pass --runner goose or --runner dbmate (or set runner in pgsafe.toml) so the \
                 plan keeps it the runner's way",
                o.path
            );
            let place = || {
                runner
                    .placement(path)
                    .ok_or_else(|| anyhow::anyhow!("{}: not where {runner} keeps a migration", o.path))
            };
            let mut held = Vec::new();
            lock_dir(path.parent().unwrap_or(Path::new(".")), &mut held);
            let mut placement = place()?;
            // The runner's files the placement read (its plan) are read again under the root's lock.
            if lock_dir(&placement.root, &mut held) {
                placement = place()?;
            }
            // pgsafe's later steps of this draft from an earlier run, which git history does not
            // have (pre-commit rolled its fixes back and restored the draft, leaving them): the
            // new plan replaces them. Those history has stay, and the error names them.
            let file = path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
            let (stale, committed_steps): (Vec<String>, Vec<String>) = pgsafe::runner::earlier_steps(&placement, &file)
                .into_iter()
                .filter(|(n, _)| *n >= 2)
                .map(|(_, name)| name)
                .partition(|name| matches!(committed(&placement.root.join(name)), Ok(None)));
            placement.existing.retain(|n| !stale.contains(n));
            placement.read.retain(|n, _| !stale.contains(n));
            let mut layout = runner.lay_out(c, &placement).map_err(|e| {
                let ours = match committed_steps.is_empty() {
                    true => String::new(),
                    false => format!(
                        " ({} pgsafe's step{} of this draft from an earlier run, which git history has: if never \
                         applied, remove {} with git rm and run pgsafe fix again)",
                        committed_steps.join(", "),
                        if committed_steps.len() == 1 { " is" } else { "s are" },
                        if committed_steps.len() == 1 { "it" } else { "them" },
                    ),
                };
                anyhow::anyhow!("{}: {e}{ours}", o.path)
            })?;
            drop_earlier(&placement.root, &mut layout, &stale);
            if !stale.is_empty() {
                ctx.note(format!(
                    "{}: replaced pgsafe's steps of it from an earlier run, which git history does not have: {}",
                    o.path,
                    stale.join(", ")
                ));
            }
            let stale_paths: Vec<PathBuf> = stale.iter().map(|n| placement.root.join(n)).collect();
            let draft = placement.root.join(&placement.draft);
            let keep: Vec<PathBuf> = layout
                .write
                .iter()
                .map(|(rel, _)| placement.root.join(rel))
                .filter(|p| {
                    stale_paths.iter().any(|s| p.starts_with(s))
                        || p == &draft
                        || p.starts_with(&draft)
                        || p.ends_with("sqitch.plan")
                        || p.ends_with("atlas.sum")
                        || p == &placement.root.join(format!("deploy/{}.sql", placement.draft))
                        || p == &placement.root.join(format!("revert/{}.sql", placement.draft))
                        || p == &placement.root.join(format!("verify/{}.sql", placement.draft))
                        || p == &placement.root.join(format!("{}.conf", placement.draft))
                })
                .chain(stale_paths.iter().cloned())
                .collect();
            // The names of the new steps are taken: the user must free them, fix has no --force.
            let advice = "rename or remove it, or the draft, to free the step's name";
            let new: Vec<PathBuf> = layout
                .write
                .iter()
                .map(|(rel, _)| placement.root.join(rel))
                .filter(|p| !p.exists() || stale_paths.iter().any(|s| p.starts_with(s)))
                .collect();
            let written = write::apply(&placement.root, &layout, false, advice, &keep)?;
            remove_empty(&placement.root, &stale);
            for note in &layout.notes {
                ctx.note(format!("{}: {note}", o.path));
            }
            Ok((written.len(), new))
        })();
        match result {
            Ok((n, new)) => {
                changed = true;
                ctx.note(format!(
                    "fixed {} ({} change{}) → {n} file{} in {runner}'s layout ({why})",
                    o.path,
                    c.changes.len(),
                    if c.changes.len() == 1 { "" } else { "s" },
                    if n == 1 { "" } else { "s" }
                ));
                // Under a pre-commit hook, `git add -u` stages the draft's new text but not the
                // new steps: the commit would hold the first step only.
                if !new.is_empty() && in_git_work_tree(path) {
                    let names: Vec<String> = new.iter().map(|p| shell_word(&p.to_string_lossy())).collect();
                    ctx.note(format!(
                        "{}: {} new file{} git does not track yet; commit {} with the draft: git add {}",
                        o.path,
                        new.len(),
                        if new.len() == 1 { "" } else { "s" },
                        if new.len() == 1 { "it" } else { "them" },
                        names.join(" ")
                    ));
                }
            }
            Err(e) => {
                eprintln!("error: {e:#}");
                bad = true;
            }
        }
    }
    left_to_exit(all);
    if bad {
        ExitCode::from(2)
    } else if changed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn check(
    files: &[PathBuf],
    force_exclude: bool,
    strict: bool,
    format: OutputFormat,
    settings: &Settings,
    ctx: &Ctx,
) -> ExitCode {
    // The JSON report shows the manifest and each step's name, not its text; the review shows
    // the diff view too.
    let want = match format {
        OutputFormat::Json => Want::Manifest,
        OutputFormat::Markdown => Want::Review,
        _ => Want::Findings,
    };
    let all = outcomes(files, force_exclude, settings, ctx, want);
    let bad = print_errors(&all);
    let printed = to_stdout(|out| match format {
        OutputFormat::Text => {
            for o in &all {
                if let Ok(c) = &o.result {
                    diff::write_findings(c, false, out)?;
                    if ctx.verbose {
                        if let Some((r, why)) = &o.runner {
                            out.flush()?;
                            eprintln!("pgsafe: {}: {r} layout ({why})", o.path);
                        }
                    }
                }
            }
            if under_github_actions() {
                out.write_all(report::github::render(&all).as_bytes())?;
            }
            Ok(())
        }
        OutputFormat::Pretty => {
            let color = std::env::var_os("NO_COLOR").is_none() && std::io::IsTerminal::is_terminal(&std::io::stdout());
            for o in &all {
                if let Ok(c) = &o.result {
                    out.write_all(report::text::pretty(o, c, color).as_bytes())?;
                }
            }
            Ok(())
        }
        OutputFormat::Json => report::json::write(&all, out),
        OutputFormat::Sarif => report::sarif::write(&all, out),
        OutputFormat::Github => out.write_all(report::github::render(&all).as_bytes()),
        OutputFormat::Markdown => report::markdown::write(&all, &Default::default(), out),
    });
    if !printed {
        return ExitCode::from(2);
    }
    let flagged = all.iter().any(|o| {
        o.result.as_ref().is_ok_and(|c| c.changed() || c.not_understood() || (strict && !c.diagnostics.is_empty()))
    });
    left_to_exit(all);
    if bad {
        ExitCode::from(2)
    } else if flagged {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn review(
    files: &[PathBuf],
    force_exclude: bool,
    verify_reports: &[PathBuf],
    settings: &Settings,
    ctx: &Ctx,
) -> Result<ExitCode> {
    let mut verify = std::collections::HashMap::new();
    for p in verify_reports {
        let text = std::fs::read_to_string(p).with_context(|| format!("{}: cannot read", p.display()))?;
        let v: serde_json::Value = serde_json::from_str(&text)
            .with_context(|| format!("{}: not a `pgsafe verify --format json` report", p.display()))?;
        let draft = v["draft"].as_str().unwrap_or_default().to_string();
        verify.insert(draft, v);
    }
    let all = outcomes(files, force_exclude, settings, ctx, Want::Review);
    let bad = all.iter().any(|o| o.result.is_err());
    if !to_stdout(|out| report::markdown::write(&all, &verify, out)) {
        return Ok(ExitCode::from(2));
    }
    if under_github_actions() {
        eprint!("{}", report::github::render(&all));
    }
    Ok(if bad { ExitCode::from(2) } else { ExitCode::SUCCESS })
}

fn run(cli: Cli) -> Result<ExitCode> {
    let file = if cli.no_config {
        ConfigFile::default()
    } else if let Some(path) = &cli.config {
        let text = std::fs::read_to_string(path).with_context(|| format!("{}: cannot read", path.display()))?;
        ConfigFile::parse(path, &text).map_err(|e| anyhow::anyhow!(e))?
    } else {
        ConfigFile::find(&std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")))
            .map_err(|e| anyhow::anyhow!(e))?
    };
    let ctx = Ctx { file, quiet: cli.quiet, verbose: cli.verbose };
    if ctx.verbose {
        if let Some(p) = &ctx.file.path {
            eprintln!("pgsafe: configuration from {}", p.display());
        }
    }
    match cli.command {
        Command::Rewrite { draft, out, force, view, settings } => {
            let o = outcome(&draft, &settings, &ctx, Want::Everything);
            let c = o.result.as_ref().map_err(|e| anyhow::anyhow!("{e}"))?;
            let runner = settings.runner.as_deref().and_then(Runner::from_name);
            match runner {
                None | Some(Runner::Psql) => {
                    // Never write the plan over (or around) the draft itself.
                    let keep: Vec<&Path> = if draft.as_os_str() == "-" { Vec::new() } else { vec![draft.as_path()] };
                    write_dir(&out, c.plan_dir(), force, &keep)?
                }
                Some(runner) => {
                    // pgsafe's plan of this draft from an earlier run, there: replaced (with --force).
                    let listed = Placement::new(&out, String::new());
                    let file = draft.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
                    let steps = pgsafe::runner::earlier_steps(&listed, &file);
                    let first = steps.iter().find(|(n, _)| *n == 1).map(|(_, name)| name.clone());
                    let earlier: Vec<String> = steps.into_iter().map(|(_, name)| name).collect();
                    let name = unit_name(runner, &draft, &listed.existing, first.as_ref())?;
                    let mut at = Placement::new(&out, name);
                    at.existing.retain(|n| !earlier.contains(n));
                    at.read.retain(|n, _| !earlier.contains(n));
                    let mut layout = runner.lay_out(c, &at).map_err(|e| anyhow::anyhow!("{}: {e}", o.path))?;
                    // The draft is not in `out`: nothing of it to remove (an adapter removes it for `fix`).
                    layout.remove.retain(|r| out.join(r).exists());
                    drop_earlier(&out, &mut layout, &earlier);
                    let advice = if earlier.is_empty() {
                        "pass --force"
                    } else {
                        "it is pgsafe's plan of this draft from an earlier run: pass --force to replace that plan"
                    };
                    write::apply(&out, &layout, force, advice, &[])?;
                    remove_empty(&out, &earlier);
                    for note in &layout.notes {
                        ctx.note(note);
                    }
                }
            }
            view.print(c)?;
            let steps = c.steps().count();
            ctx.note(format!(
                "wrote {} ({steps} step{}, {} change{}{})",
                out.display(),
                if steps == 1 { "" } else { "s" },
                c.changes.len(),
                if c.changes.len() == 1 { "" } else { "s" },
                runner.map_or(String::new(), |r| format!(", {r}'s layout"))
            ));
            Ok(ExitCode::SUCCESS)
        }
        Command::Diff { files, force_exclude, view, settings } => {
            let all = outcomes(&files, force_exclude, &settings, &ctx, Want::View);
            let bad = print_errors(&all);
            for o in &all {
                if let Ok(c) = &o.result {
                    if all.len() > 1 {
                        view.print_header(c)?;
                    }
                    view.print(c)?;
                }
            }
            left_to_exit(all);
            Ok(if bad { ExitCode::from(2) } else { ExitCode::SUCCESS })
        }
        Command::Check { files, force_exclude, strict, format, settings } => {
            let terminal = std::io::IsTerminal::is_terminal(&std::io::stdout());
            let format = format.unwrap_or(if terminal { OutputFormat::Pretty } else { OutputFormat::Text });
            Ok(check(&files, force_exclude, strict, format, &settings, &ctx))
        }
        Command::Fix { files, force_exclude, allow_committed, settings } => {
            Ok(fix(&files, force_exclude, allow_committed, &settings, &ctx))
        }
        Command::Review { files, force_exclude, verify_report, settings } => {
            review(&files, force_exclude, &verify_report, &settings, &ctx)
        }
        Command::Rules => {
            let mut out = io::stdout().lock();
            for rule in report::rules::all() {
                writeln!(out, "{rule:<22} {}", report::rules::summary(rule))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Explain { rule } => match report::rules::doc(&rule) {
            Some(doc) => {
                io::stdout().write_all(doc.as_bytes())?;
                Ok(ExitCode::SUCCESS)
            }
            None => anyhow::bail!("unknown rule `{rule}`; `pgsafe rules` lists them"),
        },
        Command::Completions { shell } => {
            // Made in memory: clap_complete panics when it cannot write.
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "pgsafe", &mut script);
            io::stdout().write_all(&script)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Man => {
            clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Verify {
            draft,
            database_url,
            allow_remote,
            seed,
            rows,
            no_trace,
            load: with_load,
            clients,
            rate,
            blocker,
            blocker_seconds,
            max_stall,
            format,
            settings,
        } => {
            use pgsafe::verify::{load::LoadOptions, run};
            anyhow::ensure!(blocker.is_none() || with_load, "--blocker needs --load");
            anyhow::ensure!((0.0..=3600.0).contains(&blocker_seconds), "--blocker-seconds must be between 0 and 3600");
            let c = compile_one(&draft, &settings, &ctx)?;
            let opts = run::VerifyOptions {
                database_url,
                allow_remote,
                schema: settings.schema.clone().or_else(|| ctx.file.schema.clone()),
                seed,
                rows,
                trace: !no_trace,
                load: with_load.then(|| LoadOptions {
                    clients,
                    rate,
                    blocker: blocker.map(|_| pgsafe::verify::load::Blocker::IdleWriter),
                    blocker_hold: std::time::Duration::from_secs_f64(blocker_seconds),
                    ..LoadOptions::default()
                }),
                max_stall,
            };
            let spinner = progress(&ctx, "running the draft and the plan on PostgreSQL");
            let report = run::verify(&c, &opts);
            spinner.finish_and_clear();
            let report = report?;
            if format == ReportFormat::Json {
                writeln!(io::stdout(), "{}", serde_json::to_string_pretty(&report)?)?;
            } else {
                io::stdout().write_all(run::render_text(&report).as_bytes())?;
            }
            Ok(if report.ok() { ExitCode::SUCCESS } else { ExitCode::from(1) })
        }
        Command::Apply { plan, database_url, max_attempts, retry_delay, max_retry_delay } => {
            use pgsafe::verify::apply;
            anyhow::ensure!(
                (0.0..=3600.0).contains(&retry_delay) && (0.0..=3600.0).contains(&max_retry_delay),
                "--retry-delay and --max-retry-delay must be between 0 and 3600 seconds"
            );
            let opts = apply::ApplyOptions {
                max_attempts,
                base_backoff: std::time::Duration::from_secs_f64(retry_delay),
                max_backoff: std::time::Duration::from_secs_f64(max_retry_delay),
                ..apply::ApplyOptions::new(database_url)
            };
            let steps = std::fs::read_dir(&plan)
                .map(|d| d.filter_map(|e| e.ok()).filter(|e| e.file_name().to_string_lossy().ends_with(".sql")).count())
                .unwrap_or(0);
            let bar = progress(&ctx, "applying the plan");
            bar.set_length(steps as u64);
            bar.set_style(
                indicatif::ProgressStyle::with_template("{spinner} {pos}/{len} {wide_msg} {elapsed}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            let results = apply::apply(&plan, &opts, &mut |line| {
                // apply logs `<file>: applied in …` / `<file>: already applied, skipped` per step.
                if line.contains(".sql: applied") || line.contains(".sql: already applied") {
                    bar.inc(1);
                }
                bar.set_message(line.to_string());
                if bar.is_hidden() {
                    eprintln!("pgsafe: {line}");
                } else {
                    bar.println(format!("pgsafe: {line}"));
                }
            });
            bar.finish_and_clear();
            let results = match results {
                Err(e) if e.downcast_ref::<apply::Refused>().is_some() => {
                    eprintln!("error: {e:#}");
                    return Ok(ExitCode::from(1));
                }
                results => results?,
            };
            Ok(if results.iter().any(|r| r.error.is_some()) { ExitCode::from(1) } else { ExitCode::SUCCESS })
        }
    }
}

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { ExitCode::from(2) } else { ExitCode::SUCCESS };
        }
    };
    if !matches!(cli.command, Command::Verify { .. } | Command::Apply { .. }) {
        pgsafe::interrupt::exit_on_broken_pipe();
    }
    pgsafe::interrupt::fail_writes_past_the_file_size_limit();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
