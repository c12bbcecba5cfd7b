//! `manifest.json`: the plan for machines (runners, CI annotations, `pgsafe verify`).

use super::PlanFile;
use crate::config::Config;
use crate::ir::migration::Migration;
use crate::passes::Rewritten;
use crate::plan::Plan;
use crate::source::Source;
use serde::Serialize;

#[derive(Serialize)]
struct Manifest<'a> {
    pgsafe: &'static str,
    draft: &'a str,
    settings: Settings<'a>,
    steps: Vec<StepEntry<'a>>,
    down: Option<&'a str>,
    changes: Vec<Point<'a>>,
    diagnostics: Vec<Point<'a>>,
}

#[derive(Serialize)]
struct Settings<'a> {
    lock_timeout: &'a str,
    statement_timeout: &'a str,
    pg_version: u32,
}

#[derive(Serialize)]
struct StepEntry<'a> {
    file: &'a str,
    mode: &'static str,
    why: &'a str,
    draft_lines: String,
    rules: Vec<&'static str>,
    locks: Vec<Lock>,
    /// How to revert what this step commits (newest first), or `none needed` / `none known`.
    undo: String,
    /// The `lock_timeout` the step runs its statements under (the longest it makes other sessions
    /// queue behind a lock it waits for), as the step sets it; `null` when it sets none.
    lock_timeout: Option<&'a str>,
    /// The `statement_timeout` likewise (`0`: none, deliberately, for a long statement).
    statement_timeout: Option<&'a str>,
    /// What to do when `statement_timeout` cancels this step (SQLSTATE 57014): see `long_step`.
    #[serde(skip_serializing_if = "Option::is_none")]
    on_timeout: Option<String>,
}

#[derive(Serialize)]
struct Lock {
    table: String,
    mode: &'static str,
    scans: bool,
}

#[derive(Serialize)]
struct Point<'a> {
    rule: &'static str,
    line: usize,
    column: usize,
    message: &'a str,
}

pub fn manifest(
    source: &Source,
    m: &Migration<'_>,
    r: &Rewritten,
    plan: &Plan,
    config: &Config,
    files: &[PlanFile],
) -> String {
    let steps = plan
        .steps
        .iter()
        .zip(files)
        .map(|(step, f)| {
            let mut rules: Vec<&'static str> = step.units().flat_map(|u| r.units[u].rules.iter().copied()).collect();
            rules.sort_unstable();
            rules.dedup();
            let locks = step
                .units()
                .flat_map(|u| r.units[u].locks.iter())
                .map(|l| Lock { table: l.table.text.clone(), mode: l.mode.sql_name(), scans: l.scans })
                .collect();
            StepEntry {
                file: &f.name,
                mode: if step.mode == crate::plan::StepMode::Autocommit { "autocommit" } else { "transaction" },
                why: &f.reason,
                draft_lines: super::draft_lines(source, m, r, step),
                rules,
                locks,
                undo: super::undo::step_undo(m, r, step),
                lock_timeout: f.lock_timeout.as_deref(),
                statement_timeout: f.statement_timeout.as_deref(),
                on_timeout: super::long_step::long_unit(m, r, step, config).map(|(_, why)| why),
            }
        })
        .collect();
    let point = |rule, at, message| {
        let (line, column) = source.line_col(at);
        Point { rule, line, column, message }
    };
    let manifest = Manifest {
        pgsafe: env!("CARGO_PKG_VERSION"),
        draft: &source.name,
        settings: Settings {
            lock_timeout: &config.lock_timeout,
            statement_timeout: &config.statement_timeout,
            pg_version: config.pg_version,
        },
        steps,
        down: files.iter().find(|f| f.mode.is_none()).map(|f| f.name.as_str()),
        changes: r.changes.iter().map(|x| point(x.rule, x.at, x.message.as_str())).collect(),
        diagnostics: r.diagnostics.iter().map(|x| point(x.rule, x.at, x.message.as_str())).collect(),
    };
    serde_json::to_string_pretty(&manifest).expect("the manifest serialises") + "\n"
}
