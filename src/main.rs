//! The `pgsafe` command line: parse arguments, call the library, set the exit code.
//!
//! Exit codes: 0 success (for `check`: nothing to rewrite); 1 `check`/`fix` found something to
//! rewrite; 2 unusable input or usage error.

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use pgsafe::diff::{self, Format};
use pgsafe::emit::write::{write_dir, write_file};
use pgsafe::{compile, Compilation, Config};
use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// pgsafe rewrites a draft PostgreSQL migration into a safe multi-file plan: CONCURRENTLY index
/// builds in their own steps, NOT VALID + later VALIDATE for constraints, lock_timeout on every
/// step that blocks traffic. Every change is shown as a diff, with its rule and reason.
#[derive(Parser)]
#[command(name = "pgsafe", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Compile DRAFT into a plan directory (0001_….sql, …, manifest.json) and show the diff.
    Rewrite {
        /// The draft migration (`-` for standard input).
        draft: PathBuf,
        /// Where to write the plan.
        #[arg(short, long, value_name = "DIR")]
        out: PathBuf,
        /// Replace OUT if it exists and is not empty.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        view: View,
        #[command(flatten)]
        settings: Settings,
    },
    /// Show what `rewrite` would change, without writing anything.
    Diff {
        draft: PathBuf,
        #[command(flatten)]
        view: View,
        #[command(flatten)]
        settings: Settings,
    },
    /// Exit 0 if nothing would be rewritten, 1 if something would (listing why), 2 on bad input.
    Check {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Also exit 1 on warnings (what pgsafe reports but cannot rewrite safely).
        #[arg(long)]
        strict: bool,
        #[command(flatten)]
        settings: Settings,
    },
    /// Rewrite migration files in place (for a pre-commit hook): each becomes its plan as one file,
    /// runnable with `psql -f`. Exits 1 when a file was changed, as pre-commit hooks do.
    Fix {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[command(flatten)]
        settings: Settings,
    },
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

#[derive(Args)]
struct View {
    /// How to show the diff.
    #[arg(long, value_enum, default_value = "terminal")]
    diff_format: DiffFormat,
    /// Colour the terminal diff (also off when NO_COLOR is set).
    #[arg(long, value_enum, default_value = "auto")]
    color: Color,
}

#[derive(Args)]
struct Settings {
    /// lock_timeout for steps that take locks blocking reads or writes. It bounds the stall a
    /// waiting step causes (every later query on the table queues behind it); `pgsafe apply`
    /// retries a step that times out.
    #[arg(long, default_value = "100ms", value_name = "DURATION")]
    lock_timeout: String,
    /// statement_timeout for those steps.
    #[arg(long, default_value = "5s", value_name = "DURATION")]
    statement_timeout: String,
    /// Oldest PostgreSQL major version the plan must run on.
    #[arg(long, default_value_t = 12, value_parser = clap::value_parser!(u32).range(12..=18))]
    pg_version: u32,
    /// Rows per transaction when pgsafe batches a backfill (UPDATE/DELETE, volatile defaults).
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..))]
    batch_size: u32,
    /// What the database looks like before the draft runs: a `pg_dump --schema-only` file, or a
    /// file or directory of earlier migrations (its *.sql files in name order). pgsafe then knows
    /// column types, indexes and partitions instead of assuming the worst.
    #[arg(long, value_name = "FILE|DIR")]
    schema: Option<PathBuf>,
    /// Table sizes, one `table,rows` per line (e.g. from pg_class.reltuples); with
    /// --small-table-rows, tables that small skip the scan-avoiding recipes.
    #[arg(long, value_name = "FILE", requires = "small_table_rows")]
    stats: Option<PathBuf>,
    /// Tables with at most this many rows (per --stats) are rewritten only for timeouts.
    #[arg(long, value_name = "ROWS", requires = "stats")]
    small_table_rows: Option<u64>,
    /// The configuration, built once (the schema is read once for every file).
    #[arg(skip)]
    built: std::cell::OnceCell<Config>,
}

#[derive(Clone, Copy, ValueEnum)]
enum DiffFormat {
    Terminal,
    Markdown,
    None,
}

#[derive(Clone, Copy, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

impl Settings {
    fn config(&self) -> Result<Config> {
        if let Some(c) = self.built.get() {
            return Ok(c.clone());
        }
        for (flag, v) in [("--lock-timeout", &self.lock_timeout), ("--statement-timeout", &self.statement_timeout)] {
            let ok = !v.is_empty()
                && v.trim_end_matches(|c: char| c.is_ascii_alphabetic())
                    .chars()
                    .all(|c| c.is_ascii_digit() || c == '.')
                && ["", "ms", "s", "min", "h"]
                    .contains(&v.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.'));
            anyhow::ensure!(ok, "{flag} {v:?}: expected a duration like 2s, 500ms, 1min");
        }
        let config = Config {
            lock_timeout: self.lock_timeout.clone(),
            statement_timeout: self.statement_timeout.clone(),
            pg_version: self.pg_version,
            batch_size: self.batch_size,
            catalog: match &self.schema {
                Some(path) => Some(std::sync::Arc::new(pgsafe::ir::catalog::Catalog::load(path)?)),
                None => None,
            },
            small_tables: match (&self.stats, self.small_table_rows) {
                (Some(path), Some(max)) => {
                    let text =
                        std::fs::read_to_string(path).with_context(|| format!("{}: cannot read", path.display()))?;
                    pgsafe::config::small_tables(&text, max)
                        .map_err(|(line, e)| anyhow::anyhow!("{}:{line}:1: {e}", path.display()))?
                }
                _ => Vec::new(),
            },
        };
        Ok(self.built.get_or_init(|| config).clone())
    }
}

impl View {
    fn print(&self, c: &Compilation) {
        let format = match self.diff_format {
            DiffFormat::None => return,
            DiffFormat::Markdown => Format::Markdown,
            DiffFormat::Terminal => Format::Terminal {
                color: match self.color {
                    Color::Always => true,
                    Color::Never => false,
                    Color::Auto => std::env::var_os("NO_COLOR").is_none() && std::io::stdout().is_terminal(),
                },
            },
        };
        print!("{}", diff::render(c, format));
    }
}

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
        let pos = pgsafe::source::Source::new(name.as_str(), src).position(at);
        anyhow::anyhow!("{pos}: not UTF-8 text (invalid byte here)")
    })?;
    Ok((if name == "-" { "<stdin>".into() } else { name }, text))
}

fn load(path: &Path, settings: &Settings) -> Result<Compilation> {
    let config = settings.config()?;
    let (name, text) = read(path)?;
    Ok(compile(&name, &text, &config)?)
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Rewrite { draft, out, force, view, settings } => {
            let c = load(&draft, &settings)?;
            let keep: Vec<&Path> = if draft.as_os_str() == "-" { Vec::new() } else { vec![draft.as_path()] };
            write_dir(&out, &c.plan_dir(), force, &keep)?;
            view.print(&c);
            let steps = c.steps().count();
            eprintln!(
                "pgsafe: wrote {} ({steps} step{}, {} change{})",
                out.display(),
                if steps == 1 { "" } else { "s" },
                c.changes.len(),
                if c.changes.len() == 1 { "" } else { "s" }
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Diff { draft, view, settings } => {
            let c = load(&draft, &settings)?;
            view.print(&c);
            Ok(ExitCode::SUCCESS)
        }
        Command::Check { files, strict, settings } => {
            let mut changed = false;
            for f in &files {
                let c = load(f, &settings)?;
                print!("{}", diff::render_findings(&c));
                changed |= c.changed() || (strict && !c.diagnostics.is_empty());
            }
            Ok(if changed { ExitCode::from(1) } else { ExitCode::SUCCESS })
        }
        Command::Fix { files, settings } => {
            let mut changed = false;
            for f in &files {
                let c = load(f, &settings)?;
                if !c.changed() {
                    continue;
                }
                anyhow::ensure!(
                    !c.files.iter().any(|f| f.mode.is_none()),
                    "{}: has a down section; use `pgsafe rewrite` for it instead of fixing in place",
                    c.source.name
                );
                write_file(f, &c.flattened())?;
                eprintln!(
                    "pgsafe: fixed {} ({} change{})",
                    f.display(),
                    c.changes.len(),
                    if c.changes.len() == 1 { "" } else { "s" }
                );
                changed = true;
            }
            Ok(if changed { ExitCode::from(1) } else { ExitCode::SUCCESS })
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
            let c = load(&draft, &settings)?;
            let opts = run::VerifyOptions {
                database_url,
                allow_remote,
                schema: settings.schema.clone(),
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
            let report = run::verify(&c, &opts)?;
            if format == ReportFormat::Json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", run::render_text(&report));
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
            let results = apply::apply(&plan, &opts, &mut |line| eprintln!("pgsafe: {line}"))?;
            Ok(if results.iter().any(|r| r.error.is_some()) { ExitCode::from(1) } else { ExitCode::SUCCESS })
        }
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { ExitCode::from(2) } else { ExitCode::SUCCESS };
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
