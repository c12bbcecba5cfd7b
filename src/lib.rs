//! pgsafe: compile a draft PostgreSQL migration into a safe multi-file plan.
//!
//! The pipeline is visible in the modules: [`front`] (split with pest, parse with sqlparser) →
//! [`ir`] (lower to migration operations with their locks) → [`passes`] (rewrite rules) →
//! [`plan`] (group into steps) → [`emit`] (files, manifest) and [`diff`] (the review view).

pub mod config;
pub mod diff;
pub mod emit;
pub mod error;
pub mod front;
pub mod ir;
pub mod passes;
pub mod plan;
pub mod source;
pub mod verify;

pub use config::Config;
use emit::PlanFile;
pub use error::InputError;
use ir::migration::Migration;
use passes::{Change, Diagnostic};
use source::Source;

/// The result of compiling one draft.
#[derive(Debug)]
pub struct Compilation {
    pub source: Source,
    pub config: Config,
    pub changes: Vec<Change>,
    pub diagnostics: Vec<Diagnostic>,
    /// Step files in run order, then `down.sql` if the draft had a down section.
    pub files: Vec<PlanFile>,
    pub manifest: String,
}

impl Compilation {
    /// Would pgsafe rewrite anything? (`pgsafe check` exits 1 when so.)
    pub fn changed(&self) -> bool {
        !self.changes.is_empty()
    }

    pub fn steps(&self) -> impl Iterator<Item = &PlanFile> {
        self.files.iter().filter(|f| f.mode.is_some())
    }

    /// The plan as one file (see [`emit::flatten`]).
    pub fn flattened(&self) -> String {
        emit::flatten(&self.files)
    }

    /// Every file of the plan directory: steps, `down.sql`, `manifest.json`.
    pub fn plan_dir(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self.files.iter().map(|f| (f.name.clone(), f.text())).collect();
        out.push(("manifest.json".into(), self.manifest.clone()));
        out
    }
}

/// Compile `text` (named `name` in messages): split → parse → lower → passes → plan → emit.
pub fn compile(name: &str, text: &str, config: &Config) -> Result<Compilation, InputError> {
    let source = Source::new(name, text);
    if text.contains('\0') {
        let at = text.find('\0').unwrap_or(0);
        return Err(InputError { at: source.position(at), message: "binary input (NUL byte): not a SQL file".into() });
    }
    let pieces =
        front::split::split(text).map_err(|e| InputError { at: source.position(e.offset), message: e.message })?;
    let m = Migration::lower(text, &pieces);
    let rewritten = passes::run(&m, config);
    let plan = if rewritten.changes.is_empty() { plan::verbatim(&m, &rewritten) } else { plan::plan(&m, &rewritten) };
    let files = emit::files(&source, &m, &rewritten, &plan, config);
    let manifest = emit::manifest::manifest(&source, &m, &rewritten, &plan, config, &files);
    Ok(Compilation {
        source,
        config: config.clone(),
        changes: rewritten.changes,
        diagnostics: rewritten.diagnostics,
        files,
        manifest,
    })
}
