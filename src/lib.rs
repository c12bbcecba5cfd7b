//! pgsafe: compile a draft PostgreSQL migration into a safe multi-file plan.
//!
//! The pipeline is visible in the modules: [`front`] (split with pest, parse with sqlparser) →
//! [`ir`] (lower to migration operations with their locks) → [`passes`] (rewrite rules) →
//! [`plan`] (group into steps) → [`emit`] (files, manifest) and [`diff`] (the review view).

// No unsafe code: system calls go through safe wrappers (rustix, signal-hook).
#![forbid(unsafe_code)]
pub mod config;
pub mod config_file;
pub mod diagnostic;
pub mod diff;
pub mod directives;
pub mod emit;
pub mod error;
pub mod front;
pub mod interrupt;
pub mod ir;
pub mod passes;
pub mod plan;
pub mod report;
pub mod runner;
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
    /// Step files in run order, then `down.sql` if the draft had a down section (none when
    /// compiled with [`Want::Findings`]).
    pub files: Vec<PlanFile>,
    /// `manifest.json`'s data; `None` unless compiled with [`Want::Everything`], [`Want::Manifest`]
    /// or [`Want::Review`].
    pub manifest: Option<emit::manifest::Manifest>,
}

/// What a caller will read of a compilation: rendering the step files and the manifest's
/// entries (each step's undo, draft lines, locks) is each about a tenth of a big compile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// Findings, step files and the manifest (`rewrite`, `verify`, reports that show the plan).
    Everything,
    /// Findings and step files (`fix`).
    NoManifest,
    /// Findings and step files without their header comments and reasons, each body one part
    /// (`diff`: the view shows each step by its name and reads only text; at 100k statements
    /// rendering the headers was 3 % of its time, and the parts apart a third of its step files'
    /// memory).
    View,
    /// Findings, the manifest, and each step file's name, mode, reason and timeouts without its
    /// text (`check --format json`, which shows no step's text: rendered and dropped step by step,
    /// the texts of a big plan are never all held).
    Manifest,
    /// Findings, the manifest, and the step files as [`Want::View`] renders them (the review: its
    /// table of steps reads the manifest, its diff the step names and bodies, as `diff` does).
    Review,
    /// Changes and diagnostics only (`check` in its text formats): no step files.
    Findings,
}

impl Compilation {
    /// Would pgsafe rewrite anything? (`pgsafe check` exits 1 when so.)
    pub fn changed(&self) -> bool {
        !self.changes.is_empty()
    }

    /// Did pgsafe meet a statement that may take strong locks and that it could not understand?
    /// (`pgsafe check` fails then: nobody has judged that statement's locks.)
    pub fn not_understood(&self) -> bool {
        self.diagnostics.iter().any(|d| d.rule == passes::NOT_UNDERSTOOD)
    }

    pub fn steps(&self) -> impl Iterator<Item = &PlanFile> {
        self.files.iter().filter(|f| f.mode.is_some())
    }

    /// The plan as one file (see [`emit::flatten`]), with the draft's byte order mark if it had
    /// one: what `pgsafe fix` writes in place of the draft.
    pub fn flattened(&self) -> String {
        let flat = emit::flatten(&self.files);
        if self.source.bom {
            format!("{}{flat}", source::BOM)
        } else {
            flat
        }
    }

    /// Name the steps `names` (in run order): a runner's layout names them otherwise than
    /// pgsafe's plan directory, and the reports must name the files the user's tool runs. The
    /// step files, the manifest's steps and the findings that name a step are renamed alike.
    pub fn rename_steps(&mut self, names: &[String]) {
        let steps = self.files.iter_mut().filter(|f| f.mode.is_some());
        let mut renamed: Vec<(String, String)> = Vec::new();
        for (f, new) in steps.zip(names) {
            renamed.push((std::mem::replace(&mut f.name, new.clone()), new.clone()));
        }
        if let Some(m) = &mut self.manifest {
            for (entry, (_, new)) in m.steps.iter_mut().zip(&renamed) {
                entry.file = new.clone();
            }
            for p in m.changes.iter_mut().chain(&mut m.diagnostics) {
                p.message = renamed_in(&p.message, &renamed);
            }
        }
        for d in self.changes.iter_mut().chain(&mut self.diagnostics) {
            d.message = renamed_in(&d.message, &renamed);
            d.help = d.help.as_deref().map(|h| renamed_in(h, &renamed));
        }
    }

    /// Every file of the plan directory: steps, `down.sql`, `manifest.json` (when it was built),
    /// each text made as it is asked for (a big plan's texts and manifest, all made before the
    /// first is written, were a quarter of `rewrite`'s peak).
    pub fn plan_dir(&self) -> impl Iterator<Item = (String, String)> + '_ {
        let files = self.files.iter().map(|f| (f.name.clone(), f.text()));
        files.chain(self.manifest.iter().map(|m| ("manifest.json".into(), m.to_json())))
    }
}

/// `text` with each word that is a step's old name in `renamed` (old, new) replaced by its new
/// name (a word: letters, digits, `_`, `-` and `.`, less a sentence's closing dots).
fn renamed_in(text: &str, renamed: &[(String, String)]) -> String {
    if !renamed.iter().any(|(old, _)| text.contains(old.as_str())) {
        return text.to_string();
    }
    let names: std::collections::HashMap<&str, &str> =
        renamed.iter().map(|(old, new)| (old.as_str(), new.as_str())).collect();
    let in_word = |c: char| c.is_alphanumeric() || matches!(c, '_' | '-' | '.');
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if !in_word(c) {
            out.push(c);
            rest = &rest[c.len_utf8()..];
            continue;
        }
        let len = rest.find(|c: char| !in_word(c)).unwrap_or(rest.len());
        let word = match rest[..len].trim_end_matches('.') {
            "" => &rest[..len],
            word => word,
        };
        out.push_str(names.get(word).copied().unwrap_or(word));
        rest = &rest[word.len()..];
    }
    out
}

/// Compile `text` (named `name` in messages): split → parse → lower → passes → plan → emit.
pub fn compile(name: &str, text: &str, config: &Config) -> Result<Compilation, InputError> {
    compile_owned(name, text.to_string(), config)
}

/// [`compile`] taking the text by value: the compilation keeps it as its source without a copy
/// (a 100 MB draft is then held once less).
pub fn compile_owned(name: &str, text: String, config: &Config) -> Result<Compilation, InputError> {
    compile_for(name, text, config, Want::Everything)
}

/// [`compile_owned`], building only what `want` asks for.
pub fn compile_for(name: &str, text: String, config: &Config, want: Want) -> Result<Compilation, InputError> {
    let source = Source::new(name, text);
    let text = source.text.as_str();
    if u32::try_from(text.len()).is_err() {
        return Err(InputError::located(&source, 0, "input larger than 4 GiB: split it into several files"));
    }
    if text.contains('\0') {
        let at = text.find('\0').unwrap_or(0);
        return Err(InputError::located(&source, at, "binary input (NUL byte): not a SQL file"));
    }
    // A call of a function an earlier migration created (`--schema`) takes what its code does.
    let known = config.catalog.as_ref().map(|c| c.functions.clone()).unwrap_or_default();
    let mut m = Migration::split_and_lower_knowing(text, known)
        .map_err(|e| InputError::located(&source, e.offset, e.message))?;
    if config.runner_transaction {
        m.run_in_the_tools_transaction();
    }
    let mut rewritten = passes::run(&m, config);
    // A rule turned off in the configuration reports nothing (passes that rewrite already skip it).
    rewritten.diagnostics.retain(|d| !config.disabled(d.rule));
    // Planning and giving each change its edits both only read the units: on a big draft, at once.
    let mut changes = std::mem::take(&mut rewritten.changes);
    let changed = !changes.is_empty();
    let parallel = m.stmts.len() >= PARALLEL_FROM;
    let plan = || if changed { plan::plan(&m, &rewritten) } else { plan::verbatim(&m, &rewritten) };
    let (plan, ()) = both(parallel, plan, || locate_changes(&m, &rewritten.units, &mut changes));
    rewritten.changes = changes;
    // The step files and the warnings about the plan both only read it.
    let files = || match want {
        Want::Findings => Vec::new(),
        Want::View | Want::Review => emit::files(&source, &m, &rewritten, &plan, config, emit::Render::View),
        Want::Manifest => emit::files(&source, &m, &rewritten, &plan, config, emit::Render::Outline),
        Want::Everything | Want::NoManifest => emit::files(&source, &m, &rewritten, &plan, config, emit::Render::Full),
    };
    let warnings = || {
        let mut splits = emit::split_warnings(&source, &m, &rewritten, &plan);
        splits.extend(emit::long_step::warnings(&m, &rewritten, &plan, config));
        splits
    };
    let (files, warnings) = both(parallel, files, warnings);
    rewritten.diagnostics.extend(warnings);
    rewritten.diagnostics.retain(|d| !config.disabled(d.rule));
    let directives = directives::check(&m, config, &rewritten, &plan);
    rewritten.diagnostics.extend(directives);
    locate(&m, &mut rewritten);
    let manifest = matches!(want, Want::Everything | Want::Manifest | Want::Review)
        .then(|| emit::manifest::manifest(&source, &m, &rewritten, &plan, config, &files));
    if parallel {
        // Freeing a big draft's statements, units and plan is about 2 % of its compile: done on
        // another core while the caller goes on with the result.
        let done = (std::mem::take(&mut m.stmts), std::mem::take(&mut rewritten.units), plan);
        rayon::spawn(move || drop(done));
    }
    Ok(Compilation {
        source,
        config: config.clone(),
        changes: rewritten.changes,
        diagnostics: rewritten.diagnostics,
        files,
        manifest,
    })
}

/// Statements from which the independent stages after the passes run side by side (below,
/// starting the threads costs more than it saves).
const PARALLEL_FROM: usize = 4096;

/// `a()` and `b()`, on two threads when `parallel`.
fn both<A: Send, B: Send>(parallel: bool, a: impl FnOnce() -> A + Send, b: impl FnOnce() -> B + Send) -> (A, B) {
    if parallel {
        rayon::join(a, b)
    } else {
        (a(), b())
    }
}

/// Widen every point finding to the end of its statement (the changes were, by
/// [`locate_changes`]).
fn locate(m: &Migration<'_>, r: &mut passes::Rewritten) {
    r.diagnostics.iter_mut().for_each(|d| widen(m, d));
}

/// Widen `d` to the end of its statement when it is a point.
fn widen(m: &Migration<'_>, d: &mut Diagnostic) {
    if d.end == d.at {
        if let Some(s) = m.stmts.partition_point(|s| s.span.start <= d.at).checked_sub(1).map(|i| &m.stmts[i]) {
            d.end = s.body.end.max(d.at);
        }
    }
}

/// Widen each change to the end of its statement, and give it the in-place edits its rule made to
/// that statement (the part of the fix a reviewer can see on the draft's lines). Where one
/// statement has several changes of a rule (an `ALTER TABLE` of many actions), each edit goes to
/// the nearest change before it, so that every edit is in one fix: applying all fixes applies
/// each edit once, and thousands of actions do not cost their square in copies.
fn locate_changes(m: &Migration<'_>, units: &[passes::Unit], changes: &mut [Change]) {
    // The draft's own units by statement, found once: a scan of all units per change is
    // changes × units, minutes on a draft of 100k statements.
    let mut own: Vec<(usize, usize)> =
        units.iter().enumerate().filter(|(_, u)| u.generated.is_none()).map(|(k, u)| (u.stmt, k)).collect();
    own.sort_unstable();
    // The changes with a fix, by statement, rule and position.
    let mut fixes: Vec<(usize, &'static str, usize, usize)> = Vec::new();
    for (n, c) in changes.iter_mut().enumerate() {
        widen(m, c);
        let Some(i) = m.stmts.partition_point(|s| s.span.start <= c.at).checked_sub(1) else { continue };
        if c.fix.is_some() {
            fixes.push((i, c.rule, c.at, n));
        }
    }
    fixes.sort_unstable();
    for group in fixes.chunk_by(|a, b| (a.0, a.1) == (b.0, b.1)) {
        let (i, rule) = (group[0].0, group[0].1);
        let from = own.partition_point(|&(s, _)| s < i);
        let to = from + own[from..].partition_point(|&(s, _)| s == i);
        let edits = own[from..to].iter().flat_map(|&(_, k)| &units[k].edits).filter(|e| e.rule == rule);
        for e in edits {
            let nearest = group.partition_point(|&(_, _, at, _)| at <= e.at.start).saturating_sub(1);
            if let Some(fix) = &mut changes[group[nearest].3].fix {
                fix.edits.push(diagnostic::FixEdit { start: e.at.start, end: e.at.end, text: e.text.clone() });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn findings_span_their_statement_and_changes_carry_their_edits() {
        let src = "SELECT 1;\nCREATE INDEX i ON t (c);\n";
        let c = compile("d.sql", src, &Config::default()).unwrap();
        let ch = c.changes.iter().find(|c| c.rule == "concurrent-index").unwrap();
        // From the insertion point after INDEX to the end of the statement.
        assert_eq!(&src[ch.span()], " i ON t (c)");
        let fix = ch.fix.as_ref().unwrap();
        assert!(fix.applied);
        assert_eq!(fix.edits.len(), 1);
        assert_eq!(fix.edits[0].text.trim(), "CONCURRENTLY");
    }

    #[test]
    fn each_edit_of_a_statement_is_in_the_fix_of_one_change() {
        let src = "ALTER TABLE orders ADD CONSTRAINT fa FOREIGN KEY (a) REFERENCES users (id),\n  ADD CONSTRAINT fb FOREIGN KEY (b) REFERENCES users (id);\n";
        let c = compile("d.sql", src, &Config::default()).unwrap();
        let fks: Vec<&Change> = c.changes.iter().filter(|c| c.rule == "fk-not-valid").collect();
        assert_eq!(fks.len(), 2);
        // Each change's NOT VALID follows its own action: applying both fixes adds each once.
        for (fk, action_end) in fks.iter().zip([src.find("),").unwrap() + 1, src.find(");").unwrap() + 1]) {
            let edits = &fk.fix.as_ref().unwrap().edits;
            assert_eq!(edits.iter().map(|e| (e.start, e.text.trim())).collect::<Vec<_>>(), [(action_end, "NOT VALID")]);
        }
    }

    #[test]
    fn a_change_carries_only_the_edits_its_own_rule_made() {
        // `check-not-valid` edits the statement, `timeouts` only runs it under a lock_timeout: a
        // report's consumer applying every fix must add NOT VALID once (it was added twice).
        for src in [
            "ALTER TABLE orders ADD CONSTRAINT ck CHECK (c > 0);\n",
            "ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (u) REFERENCES users (id);\n",
        ] {
            let c = compile("d.sql", src, &Config::default()).unwrap();
            let edits: Vec<(&str, &str)> = c
                .changes
                .iter()
                .flat_map(|c| c.fix.iter().flat_map(|f| &f.edits).map(|e| (c.rule, e.text.trim())))
                .collect();
            assert_eq!(edits.len(), 1, "{src}: {edits:?}");
            assert!(c.changes.iter().any(|c| c.rule == "timeouts"), "{src}");
        }
    }

    #[test]
    fn psql_commands_that_run_unseen_sql_are_not_understood() {
        let draft = "\\i other.sql\nCREATE INDEX i ON t (c);\n";
        let c = compile("d.sql", draft, &Config::default()).unwrap();
        assert!(c.not_understood());
        assert!(c.diagnostics.iter().any(|d| d.rule == passes::NOT_UNDERSTOOD && d.at == 0));
        // Still where the draft runs it: before the step's own timeouts, not in a transaction.
        assert!(c.flattened().contains("====\n\\i other.sql\nSET lock_timeout"), "{}", c.flattened());
        let plain = compile("d.sql", "\\set x 1\nCREATE INDEX i ON t (c);\n", &Config::default()).unwrap();
        assert!(!plain.not_understood());
        // A query sent with `\gexec` runs its rows, here a concurrent build: as in the draft, not
        // in the transaction of the step (PostgreSQL would refuse it there).
        let draft = "ALTER TABLE t ADD COLUMN x int;\nSELECT 'CREATE INDEX CONCURRENTLY i ON t (a)'\n\\gexec\nALTER TABLE t ADD COLUMN y int;\n";
        let c = compile("d.sql", draft, &Config::default()).unwrap();
        assert!(c.not_understood());
        let flat = c.flattened();
        let gexec = flat.find("\\gexec").unwrap();
        assert!(flat[..gexec].rfind("COMMIT;") > flat[..gexec].rfind("BEGIN;"), "{flat}");
    }

    #[test]
    fn a_call_of_a_function_the_schema_created_takes_what_its_code_does() {
        let schema = "CREATE FUNCTION public.add_partition(k int) RETURNS void LANGUAGE plpgsql AS $$ BEGIN \
                      EXECUTE format('CREATE TABLE %I PARTITION OF events FOR VALUES IN (%s)', 'e' || k, k); END $$;";
        let catalog = std::sync::Arc::new(ir::catalog::Catalog::from_sql(schema));
        let config = Config { catalog: Some(catalog), ..Config::default() };
        let c = compile("d.sql", "SELECT add_partition(2);\n", &config).unwrap();
        let timeouts = c.changes.iter().find(|c| c.rule == "timeouts").expect("the call gets a lock_timeout");
        assert!(timeouts.message.contains("the code of add_partition") && timeouts.message.contains("on events"));
        // Without the schema pgsafe does not know the function: a plain SELECT.
        assert!(!compile("d.sql", "SELECT add_partition(2);\n", &Config::default()).unwrap().changed());
    }

    #[test]
    fn a_call_that_changes_the_session_keeps_the_function_it_calls_in_its_step() {
        // Checked alone, a step holding the call but not the function's creation would not know
        // what the call does: a second `fix` would build the index concurrently, elsewhere.
        let draft = "CREATE TABLE a (x int);\n\
                     CREATE FUNCTION use_archive() RETURNS void LANGUAGE plpgsql AS $$ BEGIN \
                     PERFORM set_config('search_path', 'archive, public', false); END $$;\n\
                     SELECT use_archive();\nCREATE INDEX i ON orders (note);\n";
        let c = compile("d.sql", draft, &Config::default()).unwrap();
        let last = c.steps().last().unwrap().body();
        assert!(last.contains("CREATE FUNCTION use_archive") && last.contains("CREATE INDEX i ON"), "{last}");
        for step in c.steps() {
            let again = compile(&step.name, &step.text(), &Config::default()).unwrap();
            assert!(!again.changed(), "{} is not a fixed point: {:?}", step.name, again.changes);
        }
    }

    #[test]
    fn an_operator_an_earlier_step_makes_stops_the_batches_of_a_later_one() {
        // The step of the UPDATE, checked alone, does not show the `CREATE OPERATOR`: its fact does.
        let draft = "ALTER TABLE quota ADD COLUMN b text;\n\
                     CREATE OPERATOR + (LEFTARG = int, RIGHTARG = text, FUNCTION = add_taken);\n\
                     UPDATE quota SET c = a + b;\n";
        let c = compile("d.sql", draft, &Config::default()).unwrap();
        let last = c.steps().last().unwrap().text();
        assert!(last.contains("-- pgsafe:fact user-operator +\n") && last.contains("UPDATE quota SET c = a + b;"));
        for step in c.steps() {
            let again = compile(&step.name, &step.text(), &Config::default()).unwrap();
            assert!(!again.changed(), "{} is not a fixed point: {:?}", step.name, again.changes);
        }
    }

    #[test]
    fn a_psql_if_block_stays_whole_in_one_step() {
        let draft = "\\if :apply\nCREATE INDEX i ON t (a);\nALTER TABLE t ADD COLUMN b int;\n\\endif\nCREATE INDEX k ON t (b);\n";
        let c = compile("d.sql", draft, &Config::default()).unwrap();
        let steps: Vec<String> = c.steps().map(|f| f.body()).collect();
        assert_eq!(steps.len(), 2, "{steps:#?}");
        assert!(steps[0].contains("\\if :apply\nCREATE INDEX i ON t (a);\nALTER TABLE t ADD COLUMN b int;\n\\endif\n"));
        assert!(steps[1].contains("CREATE INDEX CONCURRENTLY k"));
    }

    #[test]
    fn every_want_gives_the_same_findings() {
        // A split transaction (its warning names step files) and rewrites: `check` compiled with
        // Want::Findings, and `diff` with Want::View, must report exactly what a full compile
        // reports.
        let src = "BEGIN;\nCREATE INDEX i ON t (c);\nALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES u (id);\nCOMMIT;\n";
        let config = Config::default();
        let full = compile_for("d.sql", src.into(), &config, Want::Everything).unwrap();
        assert!(full.manifest.is_some() && !full.files.is_empty());
        assert!(full.diagnostics.iter().any(|d| d.message.contains(&full.files[1].name)), "{:?}", full.diagnostics);
        for want in [Want::NoManifest, Want::View, Want::Manifest, Want::Review, Want::Findings] {
            let c = compile_for("d.sql", src.into(), &config, want).unwrap();
            let seen = |c: &Compilation| format!("{:?} {:?}", c.changes, c.diagnostics);
            assert_eq!(seen(&c), seen(&full), "{want:?}");
            assert_eq!(c.files.is_empty(), want == Want::Findings);
            if want == Want::Manifest {
                // The manifest whole, the step files without their text.
                assert_eq!(format!("{:?}", c.manifest), format!("{:?}", full.manifest));
                let outline = |c: &Compilation| {
                    c.files.iter().map(|f| (f.name.clone(), f.mode, f.reason.clone())).collect::<Vec<_>>()
                };
                assert_eq!(outline(&c), outline(&full));
                assert!(c.files.iter().filter(|f| f.mode.is_some()).all(|f| f.header.is_empty() && f.parts.is_empty()));
                continue;
            }
            if want == Want::Review {
                // The manifest's steps as a full compile has them, but for their reasons, which
                // the review reads from the findings.
                let steps = |c: &Compilation| {
                    let steps = c.manifest.as_ref().unwrap().steps.iter();
                    steps
                        .map(|s| (s.file.clone(), s.mode, format!("{:?}", s.locks), s.lock_timeout.clone()))
                        .collect::<Vec<_>>()
                };
                assert_eq!(steps(&c), steps(&full));
            } else {
                assert!(c.manifest.is_none());
            }
            if want != Want::Findings {
                // What the diff view and `fix` show: the step names and bodies (the view's each
                // in one part).
                assert_eq!(c.flattened(), full.flattened(), "{want:?}");
                let view = matches!(want, Want::View | Want::Review);
                assert!(!view || c.files.iter().all(|f| f.parts.len() == 1), "{:?}", c.files);
            }
        }
    }
}
