//! The flags that shape a plan, merged with `pgsafe.toml`: a flag wins over the file, the file
//! (its matching `[[override]]`s first) over the defaults.

use super::Ctx;
use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use pgsafe::config_file;
use pgsafe::diff::{self, Format};
use pgsafe::{Compilation, Config};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

#[derive(Args)]
pub struct Settings {
    /// lock_timeout for steps that take locks blocking reads or writes [default: 100ms]. It
    /// bounds the stall a waiting step causes (every later query on the table queues behind it);
    /// `pgsafe apply` retries a step that times out.
    #[arg(long, value_name = "DURATION")]
    pub lock_timeout: Option<String>,
    /// statement_timeout for those steps [default: 5s].
    #[arg(long, value_name = "DURATION")]
    pub statement_timeout: Option<String>,
    /// Oldest PostgreSQL major version the plan must run on [default: 12].
    #[arg(long, value_parser = clap::value_parser!(u32).range(12..=18))]
    pub pg_version: Option<u32>,
    /// Rows per transaction when pgsafe batches a backfill (UPDATE/DELETE, volatile defaults)
    /// [default: 10000].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub batch_size: Option<u32>,
    /// The migration runner whose layout `fix` (and `rewrite`) write: psql, sqlx, dbmate, goose,
    /// golang-migrate, flyway, prisma, diesel, atlas, sqitch, django, alembic, node-pg-migrate,
    /// graphile-migrate. Default: from pgsafe.toml, else detected from the file's markers and
    /// directory, else psql.
    #[arg(long, value_name = "RUNNER", value_parser = runner_name)]
    pub runner: Option<String>,
    /// What the database looks like before the draft runs: a `pg_dump --schema-only` file, or a
    /// file or directory of earlier migrations (its *.sql files in name order). pgsafe then knows
    /// column types, indexes and partitions instead of assuming the worst.
    #[arg(long, value_name = "FILE|DIR")]
    pub schema: Option<PathBuf>,
    /// Table sizes, one `table,rows` per line (e.g. from pg_class.reltuples); with
    /// --small-table-rows, tables that small skip the scan-avoiding recipes.
    #[arg(long, value_name = "FILE", requires = "small_table_rows")]
    pub stats: Option<PathBuf>,
    /// Tables with at most this many rows (per --stats) are rewritten only for timeouts.
    #[arg(long, value_name = "ROWS", requires = "stats")]
    pub small_table_rows: Option<u64>,
    /// What is read once for every file: the catalog and the small tables.
    #[arg(skip)]
    shared: OnceLock<std::result::Result<Shared, String>>,
}

#[derive(Clone)]
struct Shared {
    catalog: Option<Arc<pgsafe::ir::catalog::Catalog>>,
    small_tables: Vec<pgsafe::ir::name::Name>,
}

fn runner_name(s: &str) -> std::result::Result<String, String> {
    match pgsafe::runner::Runner::from_name(s) {
        Some(r) => Ok(r.name().to_string()),
        None => Err(format!("unknown runner (known: {})", pgsafe::runner::Runner::ALL.map(|r| r.name()).join(", "))),
    }
}

impl Settings {
    fn shared(&self, ctx: &Ctx) -> Result<Shared> {
        let shared = self.shared.get_or_init(|| {
            (|| -> Result<Shared> {
                let schema = self.schema.clone().or_else(|| ctx.file.schema.clone());
                let catalog = match &schema {
                    Some(path) => Some(Arc::new(pgsafe::ir::catalog::Catalog::load(path)?)),
                    None => None,
                };
                let small_tables = match (&self.stats, self.small_table_rows) {
                    (Some(path), Some(max)) => {
                        let text = std::fs::read_to_string(path)
                            .with_context(|| format!("{}: cannot read", path.display()))?;
                        pgsafe::config::small_tables(&text, max)
                            .map_err(|(line, e)| anyhow::anyhow!("{}:{line}:1: {e}", path.display()))?
                    }
                    _ => Vec::new(),
                };
                Ok(Shared { catalog, small_tables })
            })()
            .map_err(|e| format!("{e:#}"))
        });
        shared.clone().map_err(|e| anyhow::anyhow!(e))
    }

    /// The configuration for one file: flags over `file` (the settings pgsafe.toml gives it)
    /// over the defaults.
    pub fn config(&self, file: &config_file::Settings, ctx: &Ctx) -> Result<Config> {
        let defaults = Config::default();
        let lock_timeout =
            self.lock_timeout.clone().or_else(|| file.lock_timeout.clone()).unwrap_or(defaults.lock_timeout);
        let statement_timeout = self
            .statement_timeout
            .clone()
            .or_else(|| file.statement_timeout.clone())
            .unwrap_or(defaults.statement_timeout);
        for (flag, v) in [("--lock-timeout", &lock_timeout), ("--statement-timeout", &statement_timeout)] {
            pgsafe::config::check_duration(v).map_err(|e| anyhow::anyhow!("{flag} {e}"))?;
        }
        let shared = self.shared(ctx)?;
        Ok(Config {
            lock_timeout,
            statement_timeout,
            pg_version: self.pg_version.or(file.pg_version).unwrap_or(defaults.pg_version),
            batch_size: self.batch_size.or(file.batch_size).unwrap_or(defaults.batch_size),
            catalog: shared.catalog,
            small_tables: shared.small_tables,
            disabled_rules: file.rules.iter().filter(|(_, on)| !**on).map(|(r, _)| r.clone()).collect(),
            ignores: pgsafe::config::Ignores::All,
            runs_under_psql: true,
            runner_transaction: false,
            one_query_steps: false,
        })
    }
}

#[derive(Args)]
pub struct View {
    /// How to show the diff.
    #[arg(long, value_enum, default_value = "terminal")]
    diff_format: DiffFormat,
    /// Colour the terminal diff (also off when NO_COLOR is set).
    #[arg(long, value_enum, default_value = "auto")]
    color: Color,
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

impl View {
    /// `==> FILE <==` before a file's terminal view when `diff` is given several: that view names
    /// no file, and one file's diff ran into the next's. Nothing for a file with nothing to show,
    /// nor for markdown (its heading names the file).
    pub fn print_header(&self, c: &Compilation) -> std::io::Result<()> {
        if !matches!(self.diff_format, DiffFormat::Terminal) || (c.changes.is_empty() && c.diagnostics.is_empty()) {
            return Ok(());
        }
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), "==> {} <==", pgsafe::emit::one_line(&c.source.name))
    }

    /// Print the review view to stdout as it is made (see [`diff::write`]).
    pub fn print(&self, c: &Compilation) -> std::io::Result<()> {
        let format = match self.diff_format {
            DiffFormat::None => return Ok(()),
            DiffFormat::Markdown => Format::Markdown,
            DiffFormat::Terminal => Format::Terminal {
                color: match self.color {
                    Color::Always => true,
                    Color::Never => false,
                    Color::Auto => std::env::var_os("NO_COLOR").is_none() && std::io::stdout().is_terminal(),
                },
            },
        };
        // The view of a big draft is tens of megabytes: written 256 KiB at a time, not 8 KiB.
        let mut out = std::io::BufWriter::with_capacity(1 << 18, std::io::stdout().lock());
        diff::write(c, format, &mut out)?;
        std::io::Write::flush(&mut out)
    }
}
