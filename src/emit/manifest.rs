//! `manifest.json`: the plan for machines (runners, CI annotations, `pgsafe verify`).

use super::PlanFile;
use crate::config::Config;
use crate::ir::migration::Migration;
use crate::passes::Rewritten;
use crate::plan::Plan;
use crate::source::Source;
use rayon::prelude::*;
use serde::Serialize;

/// The manifest as data; [`Manifest::to_json`] writes it. Kept typed in a compilation, so commands
/// that never write `manifest.json` (check, diff) never pay for printing it.
#[derive(Debug, Serialize)]
pub struct Manifest {
    pub pgsafe: &'static str,
    pub draft: String,
    pub settings: Settings,
    pub steps: Vec<StepEntry>,
    pub down: Option<String>,
    pub changes: Vec<Point>,
    pub diagnostics: Vec<Point>,
}

#[derive(Debug, Serialize)]
pub struct Settings {
    pub lock_timeout: String,
    pub statement_timeout: String,
    pub pg_version: u32,
}

#[derive(Debug, Serialize)]
pub struct StepEntry {
    pub file: String,
    pub mode: &'static str,
    pub why: String,
    pub draft_lines: String,
    pub rules: Vec<&'static str>,
    pub locks: Vec<Lock>,
    /// How to revert what this step commits (newest first), or `none needed` / `none known`.
    pub undo: String,
    /// The `lock_timeout` the step runs its statements under (the longest it makes other sessions
    /// queue behind a lock it waits for), as the step sets it; `null` when it sets none.
    pub lock_timeout: Option<String>,
    /// The `statement_timeout` likewise (`0`: none, deliberately, for a long statement).
    pub statement_timeout: Option<String>,
    /// What to do when `statement_timeout` cancels this step (SQLSTATE 57014): see `long_step`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_timeout: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Lock {
    pub table: String,
    pub mode: &'static str,
    pub scans: bool,
}

#[derive(Debug, Serialize)]
pub struct Point {
    pub rule: &'static str,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl Manifest {
    /// `manifest.json`'s text: pretty JSON ending in a newline.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("the manifest serialises") + "\n"
    }
}

pub fn manifest(
    source: &Source,
    m: &Migration<'_>,
    r: &Rewritten,
    plan: &Plan,
    config: &Config,
    files: &[PlanFile],
) -> Manifest {
    let type_changes = super::long_step::TypeChanges::new(r);
    // One entry per step, independent of the others: built in parallel, like the step files.
    let steps = plan
        .steps
        .par_iter()
        .zip(files)
        .with_min_len(64)
        .map(|(step, f)| {
            let mut rules: Vec<&'static str> = step.units().flat_map(|u| r.units[u].rules.iter().copied()).collect();
            rules.sort_unstable();
            rules.dedup();
            let locks = step
                .units()
                .flat_map(|u| r.units[u].locks.iter())
                .map(|l| Lock { table: l.table.text.to_string(), mode: l.mode.sql_name(), scans: l.scans })
                .collect();
            StepEntry {
                file: f.name.clone(),
                mode: if step.mode == crate::plan::StepMode::Autocommit { "autocommit" } else { "transaction" },
                why: f.reason.clone(),
                draft_lines: super::draft_lines(source, m, r, step),
                rules,
                locks,
                undo: super::undo::step_undo(m, r, step),
                lock_timeout: f.lock_timeout.clone(),
                statement_timeout: f.statement_timeout.clone(),
                on_timeout: super::long_step::long_unit(m, r, &type_changes, step, config).map(|(_, why)| why),
            }
        })
        .collect();
    let point = |rule, at, message| {
        let (line, column) = source.line_col(at);
        Point { rule, line, column, message: String::from(message) }
    };
    Manifest {
        pgsafe: env!("CARGO_PKG_VERSION"),
        draft: source.name.clone(),
        settings: Settings {
            lock_timeout: config.lock_timeout.clone(),
            statement_timeout: config.statement_timeout.clone(),
            pg_version: config.pg_version,
        },
        steps,
        down: files.iter().find(|f| f.mode.is_none()).map(|f| f.name.clone()),
        changes: r.changes.iter().map(|x| point(x.rule, x.at, x.message.as_str())).collect(),
        diagnostics: r.diagnostics.iter().map(|x| point(x.rule, x.at, x.message.as_str())).collect(),
    }
}
