//! Emit: turn a plan into files (`0001_<slug>.sql` …, `manifest.json`, `down.sql`), a flattened
//! single-file form (for the diff view and the pre-commit hook), and write them atomically.

pub mod leftover;
pub mod long_step;
pub mod manifest;
pub mod parts;
pub mod render;
pub mod undo;
pub mod write;

use crate::config::Config;
use crate::ir::migration::Migration;
use crate::passes::Rewritten;
use crate::plan::{Plan, Step, StepMode};
use crate::source::Source;
use rayon::prelude::*;
use render::{step_body, step_reason, unit_text};
use std::fmt::Write as _;

/// One emitted file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanFile {
    pub name: String,
    pub mode: Option<StepMode>,
    /// The step's reason (empty for `down.sql`, and when rendered without headers).
    pub reason: String,
    /// Header comment lines (empty when rendered without headers, see [`files`]).
    pub header: String,
    /// Everything after the header, as the parts a runner treats differently (the text is kept
    /// once, in the parts: see [`PlanFile::body`]).
    pub parts: Vec<parts::Part>,
    /// The step holds the draft's statements as written, its own `BEGIN`/`COMMIT` (if any)
    /// included, and pgsafe adds no transaction of its own: a runner must not wrap it in one.
    pub as_written: bool,
    /// The `lock_timeout` and `statement_timeout` the step sets for its statements (as written,
    /// without quotes), or `None`.
    pub lock_timeout: Option<String>,
    pub statement_timeout: Option<String>,
    /// The lines pgsafe writes whole here (its header, `BEGIN`/`COMMIT`, timeouts, and the file's
    /// separator in a flattened plan) end in `\r\n`: the draft's lines mostly do.
    pub crlf: bool,
}

impl PlanFile {
    /// Everything after the header: the parts, concatenated.
    pub fn body(&self) -> String {
        self.parts.iter().map(|p| p.text.as_str()).collect()
    }

    /// The whole file: header, then body.
    pub fn text(&self) -> String {
        std::iter::once(self.header.as_str()).chain(self.parts.iter().map(|p| p.text.as_str())).collect()
    }
}

/// What of each step file [`files`] renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Render {
    /// Everything: header, reason, the body in its parts.
    Full,
    /// For the diff view, which shows each step by its name and reads only text: no header or
    /// reason, the body one part (a big plan's 600k parts, each its own string, were a third of
    /// the memory `diff` adds to a compile).
    View,
    /// For the manifest alone: the name, reason and timeouts, no text (each body is rendered for
    /// its timeouts and dropped at once).
    Outline,
}

/// Render every step (and the down section) into files, as much of each as `render` asks.
pub fn files(
    source: &Source,
    m: &Migration<'_>,
    r: &Rewritten,
    plan: &Plan,
    config: &Config,
    render: Render,
) -> Vec<PlanFile> {
    let view = render == Render::View;
    let total = plan.steps.len();
    let line_end = line_end(&source.text);
    // Each step's file depends only on the plan: a plan of many steps renders them in parallel.
    let step_file = |(n, step): (usize, &Step)| {
        let body = step_body(m, r, step, config);
        let reason = if view { String::new() } else { step_reason(m, r, step) };
        let name = step_name(m, r, plan, n);
        let mut header =
            if render != Render::Full { String::new() } else { header(source, m, r, step, n + 1, total, &reason) };
        let mut parts = if render == Render::Outline { Vec::new() } else { body.parts.0 };
        if line_end == LineEnd::MostlyCrlf {
            own_lines_crlf(&mut header, &mut parts);
        }
        let parts = if view { parts::joined(parts) } else { parts };
        PlanFile {
            name,
            mode: Some(step.mode),
            reason,
            header,
            parts,
            as_written: step.as_written || (step.raw && !step.wrapped),
            lock_timeout: body.lock_timeout,
            statement_timeout: body.statement_timeout,
            crlf: line_end != LineEnd::Lf,
        }
    };
    let mut out: Vec<PlanFile> = plan.steps.par_iter().enumerate().with_min_len(64).map(step_file).collect();
    if !plan.down.is_empty() {
        let mut parts = parts::Parts::default();
        for &u in &plan.down {
            parts.extend(parts::unit_parts(m, &r.units[u], unit_text(m, &r.units[u])));
        }
        let mut header = format!(
            "-- pgsafe: the down section of {}, kept verbatim. It is NOT a step of this plan: do not run it\n-- with the numbered files; it is here for your migration tool's rollback.\n",
            one_line(&source.name)
        );
        if line_end == LineEnd::MostlyCrlf {
            header = crlf(&header);
        }
        out.push(PlanFile {
            name: "down.sql".into(),
            mode: None,
            reason: String::new(),
            header,
            parts: parts.0,
            as_written: true,
            lock_timeout: None,
            statement_timeout: None,
            crlf: line_end != LineEnd::Lf,
        });
    }
    // A CRLF draft gets CRLF lines from pgsafe too: every line, where every line of the draft
    // ends so. In a draft with some lone `\n`s, one may sit in a string or a quoted name, and
    // adding a `\r` there would change a value (found by the eighth fuzz run): only the lines
    // pgsafe writes whole get one then (above, and the separators of `Flat`).
    if line_end == LineEnd::Crlf {
        for f in &mut out {
            f.header = crlf(&f.header);
            f.parts.iter_mut().for_each(|p| p.text = crlf(&p.text));
        }
    }
    out
}

/// The file name of step `k` (0-based) of `plan`.
fn step_name(m: &Migration<'_>, r: &Rewritten, plan: &Plan, k: usize) -> String {
    step_file_name(k + 1, plan.steps.len(), render::step_title(m, r, &plan.steps[k]))
}

/// A warning for every draft transaction the plan commits in several steps, naming them: atomicity
/// is never lost in silence.
pub fn split_warnings(
    source: &Source,
    m: &Migration<'_>,
    r: &Rewritten,
    plan: &Plan,
) -> Vec<crate::diagnostic::Diagnostic> {
    use crate::diagnostic::{Diagnostic, Severity};
    crate::plan::splits(m, r, plan)
        .into_iter()
        .map(|split| {
            let (first, last) = (source.line_col(m.stmts[split.begin].body.start).0, source.line_col(m.stmts[split.end].body.start).0);
            let names: Vec<String> = split.steps.iter().map(|&k| step_name(m, r, plan, k)).collect();
            Diagnostic::new(
                crate::passes::TRANSACTIONS,
                Severity::Warning,
                m.stmts[split.begin].body.clone(),
                format!(
                    "the draft runs lines {first}-{last} as one transaction; the plan commits them in {} steps: {}. If a later step fails, the earlier ones stay committed, where the draft would have rolled everything back",
                    names.len(),
                    names.join(", ")
                ),
            )
            .help("each step's `undo` in manifest.json says how to revert it, and `pgsafe apply` prints the undo of what committed when a step fails for good")
        })
        .collect()
}

/// How a draft ends its lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LineEnd {
    /// `\n` (or no line break at all, or as many lone `\n` as `\r\n`).
    Lf,
    /// `\r\n`, every line.
    Crlf,
    /// `\r\n` more often than a lone `\n`.
    MostlyCrlf,
}

fn line_end(text: &str) -> LineEnd {
    let b = text.as_bytes();
    let (crlf, lf) = memchr::memchr_iter(b'\n', b).fold((0usize, 0usize), |(crlf, lf), i| {
        if i > 0 && b[i - 1] == b'\r' {
            (crlf + 1, lf)
        } else {
            (crlf, lf + 1)
        }
    });
    match (crlf, lf) {
        (0, _) => LineEnd::Lf,
        (_, 0) => LineEnd::Crlf,
        (crlf, lf) if crlf > lf => LineEnd::MostlyCrlf,
        _ => LineEnd::Lf,
    }
}

/// The lines pgsafe writes whole in a step (its header, `BEGIN`/`COMMIT`, timeouts) end in
/// `\r\n`. A `SET … TO` that puts back the draft's value changes only its own last line break.
fn own_lines_crlf(header: &mut String, parts: &mut [parts::Part]) {
    use parts::PartKind::{Begin, End, Restore, Setting};
    *header = crlf(header);
    for p in parts.iter_mut().filter(|p| matches!(p.kind, Begin | End(_) | Setting | Restore)) {
        if p.text.ends_with('\n') && !p.text.ends_with("\r\n") {
            p.text.insert(p.text.len() - 1, '\r');
        }
    }
}

/// Every lone `\n` as `\r\n`.
fn crlf(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 20);
    let mut prev = '\0';
    for c in text.chars() {
        if c == '\n' && prev != '\r' {
            out.push('\r');
        }
        out.push(c);
        prev = c;
    }
    out
}

fn header(
    source: &Source,
    m: &Migration<'_>,
    r: &Rewritten,
    step: &Step,
    n: usize,
    total: usize,
    reason: &str,
) -> String {
    let mut rules: Vec<&str> = step.units().flat_map(|u| r.units[u].rules.iter().copied()).collect();
    rules.sort_unstable();
    rules.dedup();
    let lines = draft_lines(source, m, r, step);
    let mut h = format!("-- pgsafe step {n} of {total} · {}\n", one_line(reason));
    if !lines.is_empty() {
        h.push_str(&format!("-- from {} {}", one_line(&source.name), lines));
        if !rules.is_empty() {
            h.push_str(&format!(" · rules: {}", rules.join(", ")));
        }
        h.push('\n');
    }
    h
}

/// Text for a `--` comment: a line break in it (a quoted name may hold one) would end the comment
/// and leave the rest as SQL, so each is written as `\n`.
pub fn one_line(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains(['\n', '\r']) {
        text.replace("\r\n", "\\n").replace(['\n', '\r'], "\\n").into()
    } else {
        text.into()
    }
}

/// "line 4" / "lines 4-9, 12": the draft lines this step's statements came from.
pub fn draft_lines(source: &Source, m: &Migration<'_>, r: &Rewritten, step: &Step) -> String {
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    for u in step.units() {
        let unit = &r.units[u];
        let mut s = &m.stmts[unit.stmt];
        // A unit run among an earlier statement's (a check `passes::not_null` adds with the first
        // of its transaction's) comes from the statement of the action it was made for.
        if unit.generated.is_some() && unit.at >= s.body.end {
            s = &m.stmts[m.stmts.partition_point(|t| t.body.start <= unit.at).saturating_sub(1)];
        }
        if s.is_trivia() {
            continue;
        }
        let (a, b) =
            (source.line_col(s.body.start).0, source.line_col(s.body.end.saturating_sub(1).max(s.body.start)).0);
        match ranges.last_mut() {
            Some(last) if a <= last.1 + 1 && a >= last.0 => last.1 = last.1.max(b),
            _ => ranges.push((a, b)),
        }
    }
    if ranges.is_empty() {
        return String::new();
    }
    let single = ranges.len() == 1 && ranges[0].0 == ranges[0].1;
    let list: Vec<String> =
        ranges.iter().map(|&(a, b)| if a == b { a.to_string() } else { format!("{a}-{b}") }).collect();
    format!("{} {}", if single { "line" } else { "lines" }, list.join(", "))
}

/// `NNNN_<slug>.sql`: the number has at least four digits, and as many as the last step's, so that
/// lexical order is run order however many steps there are.
pub fn step_file_name(n: usize, total: usize, title: &str) -> String {
    let width = total.checked_ilog10().map_or(1, |d| d as usize + 1).max(4);
    let mut name = String::with_capacity(width + 54);
    // Writing to a String cannot fail.
    let _ = write!(name, "{n:0width$}_");
    push_slug(&mut name, title);
    name.push_str(".sql");
    name
}

/// A file-name slug from the first words of a statement (ASCII letters, digits and `_` only),
/// appended to `out`.
fn push_slug(out: &mut String, sql: &str) {
    let start = out.len();
    // By bytes: a character beyond ASCII is bytes of 0x80 and up, which end a word as it would.
    let words = sql.as_bytes().split(|b| !b.is_ascii_alphanumeric() && *b != b'_').filter(|w| !w.is_empty());
    for word in words.take(6) {
        let len = out.len() - start;
        if len + word.len() > 48 {
            break;
        }
        if len > 0 {
            out.push('_');
        }
        out.extend(word.iter().map(|b| char::from(b.to_ascii_lowercase())));
    }
    if out.len() == start {
        out.push_str("step");
    }
}

/// The plan as one file: every step's body after a separator line naming its file. This is what
/// the diff view compares with the draft, and what `pgsafe fix` writes back in place (runnable with
/// `psql -f`, which sends statements one at a time).
pub fn flatten(files: &[PlanFile]) -> String {
    Flat::new(files).pieces().collect()
}

/// How each file's separator line starts.
const BANNER: &str = "-- ==== ";

/// [`flatten`]'s text as the pieces it is made of, borrowed from the files: the diff view reads
/// the plan this way, so a 100 MB step is not copied into a second 100 MB string to be compared.
pub struct Flat<'f> {
    files: &'f [PlanFile],
    /// Each file's separator line.
    banners: Vec<String>,
}

impl<'f> Flat<'f> {
    pub fn new(files: &'f [PlanFile]) -> Flat<'f> {
        // Put together without `format!`, and on all cores for a big plan: 111k banners took
        // 18 ms on one core that way.
        let banner = |f: &PlanFile| {
            let mode = match f.mode {
                Some(StepMode::Transaction) => " (transaction) ====",
                Some(StepMode::Autocommit) => " (autocommit) ====",
                None => " (not a step) ====",
            };
            let end = if f.crlf { "\r\n" } else { "\n" };
            let mut banner = String::with_capacity(BANNER.len() + f.name.len() + mode.len() + end.len());
            banner.extend([BANNER, &f.name, mode, end]);
            banner
        };
        Flat { files, banners: files.par_iter().with_min_len(4096).map(banner).collect() }
    }

    /// The flattened text, piece by piece, in order.
    pub fn pieces(&self) -> impl Iterator<Item = &str> {
        self.files.iter().zip(&self.banners).flat_map(|(f, banner)| Flat::file_pieces(f, banner))
    }

    /// [`Flat::pieces`], gathered on all cores: each file's parts are apart in memory, and a big
    /// plan's 600k pieces took 20 ms to gather on one core.
    pub fn pieces_gathered(&self) -> Vec<&str> {
        let files = self.files.par_iter().zip(&self.banners).with_min_len(4096);
        files.flat_map_iter(|(f, banner)| Flat::file_pieces(f, banner)).collect()
    }

    fn file_pieces<'a>(f: &'a PlanFile, banner: &'a str) -> impl Iterator<Item = &'a str> {
        std::iter::once(banner).chain(f.parts.iter().map(|p| p.text.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_numbers_widen_so_lexical_order_is_run_order() {
        assert_eq!(step_file_name(7, 12, "CREATE INDEX i"), "0007_create_index_i.sql");
        let names: Vec<String> = [1, 2, 999, 1001, 9999, 10000, 12345].map(|n| step_file_name(n, 12345, "x")).to_vec();
        assert_eq!(names[0], "00001_x.sql");
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(sorted, names);
        // Only ASCII letters, digits and `_` make words; at most six, within 48 bytes.
        assert_eq!(step_file_name(3, 0, "ALTER TABLE \"Émile\".bürö ADD x"), "0003_alter_table_mile_b_r_add.sql");
        assert_eq!(step_file_name(1, 9, "-- ;"), "0001_step.sql");
        let long = format!("CREATE INDEX {} ON t (a)", "i".repeat(40));
        assert_eq!(step_file_name(1, 9, &long), "0001_create_index.sql");
    }

    #[test]
    fn a_big_plan_gathers_its_pieces_in_order() {
        let draft: String = (0..5_000).map(|i| format!("CREATE INDEX i{i} ON t (c{i});\n")).collect();
        let c = crate::compile("big.sql", &draft, &Config::default()).unwrap();
        let flat = Flat::new(&c.files);
        assert!(c.files.len() >= 5_000);
        assert_eq!(flat.pieces_gathered(), flat.pieces().collect::<Vec<_>>());
        assert_eq!(flat.pieces_gathered().concat(), flatten(&c.files));
    }

    #[test]
    fn comment_text_stays_on_one_line() {
        assert_eq!(one_line("plain"), "plain");
        assert_eq!(one_line("\"a\r\nb\nc\"").lines().count(), 1);
    }
}
