//! The review view: a unified diff from the draft to the flattened plan, and the list of changes
//! with their rule and reason, for a terminal (optionally coloured) or a pull request (markdown).
//!
//! The diff costs time linear in the number of lines (see `script`): a whole-file Myers diff
//! is quadratic when plan and draft differ on every statement, which a 16,000-statement draft
//! turned into a minute.

use crate::report::in_memory;
use crate::Compilation;
use hashbrown::hash_table::{Entry, HashTable};
use rayon::prelude::*;
use rustc_hash::{FxBuildHasher, FxHashMap as HashMap};
use similar::udiff::UnifiedHunkHeader;
use similar::Algorithm;
/// An operation of a [`LineDiff`]'s script.
pub use similar::DiffOp;
use std::borrow::Cow;
use std::fmt;
use std::hash::BuildHasher as _;
use std::io;
use std::ops::Range;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Terminal { color: bool },
    Markdown,
}

const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const CYAN: &str = "\x1b[36m";
const BOLD: &str = "\x1b[1m";
const YELLOW: &str = "\x1b[33m";
const RESET: &str = "\x1b[0m";

/// Lines of context around each change.
const CONTEXT: usize = 3;

/// The diff and the change list, ready to print (see [`write()`]).
pub fn render(c: &Compilation, format: Format) -> String {
    in_memory(|out| write(c, format, out))
}

/// The change and diagnostic lines alone (what `pgsafe check` prints), uncoloured.
pub fn render_findings(c: &Compilation) -> String {
    in_memory(|out| write_findings(c, false, out))
}

/// Write the diff and the change list to `out` as they are made: on a big draft the view is
/// larger than the draft (57 MB for 100,000 statements), and a string of it would be held whole
/// before the first line is printed.
pub fn write(c: &Compilation, format: Format, out: &mut impl io::Write) -> io::Result<()> {
    let files = plan_files(c);
    let flat = crate::emit::Flat::new(files);
    let diff = plan_diff(c, &flat);
    match format {
        Format::Markdown => {
            writeln!(out, "### pgsafe: `{}` → {} step(s)\n", c.source.name, c.steps().count())?;
            if c.changes.is_empty() {
                writeln!(out, "No change needed: the draft is already safe.")?;
            } else {
                writeln!(out, "```diff")?;
                let unified = diff.unified(&c.source.name, "plan");
                out.write_all(unified.as_bytes())?;
                if !unified.ends_with('\n') {
                    writeln!(out)?;
                }
                write!(out, "```\n\n| rule | where | why |\n|---|---|---|\n")?;
                for ch in &c.changes {
                    let message = ch.message.replace('|', "\\|");
                    writeln!(out, "| `{}` | `{}` | {message} |", ch.rule, c.source.at(ch.at))?;
                }
            }
            if !c.diagnostics.is_empty() {
                write!(out, "\n**Needs a reviewer:**\n\n")?;
                for d in &c.diagnostics {
                    writeln!(out, "- `{}` `{}`: {}", d.rule, c.source.at(d.at), d.message)?;
                }
            }
        }
        Format::Terminal { color } => {
            if !c.changes.is_empty() {
                diff.walk(|row| match row {
                    Row::Hunk(_) => Ok(()),
                    Row::Line(sign, line) => {
                        let line = line.trim_end_matches(['\n', '\r']);
                        let code = match sign {
                            '-' => RED,
                            '+' => GREEN,
                            _ => "",
                        };
                        // Written as bytes: the view is larger than the draft, and formatting
                        // each line was a tenth of its time.
                        let paint = color && !code.is_empty();
                        let (open, close) = if paint { (code, RESET) } else { ("", "") };
                        let sign = [sign as u8];
                        for part in [open.as_bytes(), &sign, line.as_bytes(), close.as_bytes(), b"\n"] {
                            out.write_all(part)?;
                        }
                        Ok(())
                    }
                    Row::HunkEnd => writeln!(out, "{}", Paint(color, CYAN, "···")),
                })?;
                writeln!(out)?;
            }
            write_findings(c, color, out)?;
        }
    }
    Ok(())
}

/// The files the view compares with the draft: the plan's, or none when nothing changes (the
/// view then shows no diff).
pub fn plan_files(c: &Compilation) -> &[crate::emit::PlanFile] {
    if c.changes.is_empty() {
        &[]
    } else {
        &c.files
    }
}

/// The diff from the draft to the plan `flat` puts together (every view of it: the terminal,
/// `--diff-format markdown`, the review). The plan is compared as the pieces it is made of: a
/// copy of it would be held whole.
pub fn plan_diff<'a>(c: &'a Compilation, flat: &'a crate::emit::Flat<'a>) -> LineDiff<'a> {
    LineDiff::new(Lines::new(&c.source.text), Lines::of_pieces(flat.pieces_gathered()))
}

/// `text` in the terminal colour `code` when `.0` is set.
struct Paint<'c, T>(bool, &'c str, T);

impl<T: fmt::Display> fmt::Display for Paint<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Paint(true, code, text) => write!(f, "{code}{text}{RESET}"),
            Paint(false, _, text) => text.fmt(f),
        }
    }
}

/// One line per change, then per diagnostic: `file:line:column rule message`.
pub fn write_findings(c: &Compilation, color: bool, out: &mut impl io::Write) -> io::Result<()> {
    for ch in &c.changes {
        let (at, rule) = (Paint(color, BOLD, c.source.at(ch.at)), Paint(color, GREEN, ch.rule));
        writeln!(out, "{at} {rule} {}", ch.message)?;
    }
    for d in &c.diagnostics {
        let (at, rule) =
            (Paint(color, BOLD, c.source.at(d.at)), Paint(color, YELLOW, format_args!("warning[{}]", d.rule)));
        writeln!(out, "{at} {rule} {}", d.message)?;
    }
    Ok(())
}

/// A text's lines, each with its line ending (`\n`, `\r\n` or a lone `\r`, as `similar` splits
/// them). The text may come in pieces (the flattened plan, [`crate::emit::Flat`]); a line that
/// spans two pieces is joined when it is read. Nothing is kept per line: the diff numbers each
/// line once, and the printing reads the lines again, front to back (a table of 4 million line
/// offsets was a third of the diff view's memory on a 100 MB function).
pub struct Lines<'a> {
    pieces: Vec<&'a str>,
}

impl<'a> Lines<'a> {
    pub fn new(text: &'a str) -> Lines<'a> {
        Lines::of_pieces([text])
    }

    pub fn of_pieces(pieces: impl IntoIterator<Item = &'a str>) -> Lines<'a> {
        Lines { pieces: pieces.into_iter().filter(|p| !p.is_empty()).collect() }
    }

    /// Bytes, all pieces together.
    fn len(&self) -> usize {
        self.pieces.iter().map(|p| p.len()).sum()
    }

    pub fn iter(&self) -> LineIter<'_, 'a> {
        self.iter_pieces(0..self.pieces.len())
    }

    /// The lines of some of the pieces alone (see [`Lines::cut_near`]).
    fn iter_pieces(&self, pieces: Range<usize>) -> LineIter<'_, 'a> {
        LineIter { pieces: &self.pieces[pieces], piece: 0, from: 0 }
    }

    /// The piece index nearest `bytes` bytes from the start where the lines can be cut in two
    /// runs: no line spans it (the piece before it ends with `\n`). 0 always can.
    fn cut_near(&self, bytes: usize) -> usize {
        let (mut at, mut cut, mut off) = (0, 0, bytes);
        for (k, piece) in self.pieces.iter().enumerate() {
            at += piece.len();
            if piece.ends_with('\n') {
                if at.abs_diff(bytes) < off {
                    (cut, off) = (k + 1, at.abs_diff(bytes));
                }
                if at >= bytes {
                    break;
                }
            }
        }
        cut
    }
}

/// The lines of [`Lines`], in order.
pub struct LineIter<'p, 'a> {
    pieces: &'p [&'a str],
    /// The next line starts at byte `from` of piece `piece` (always inside it).
    piece: usize,
    from: usize,
}

impl<'a> Iterator for LineIter<'_, 'a> {
    type Item = Cow<'a, str>;

    fn next(&mut self) -> Option<Cow<'a, str>> {
        let mut line: Option<Cow<'a, str>> = None;
        while let Some(&piece) = self.pieces.get(self.piece) {
            let bytes = piece.as_bytes();
            if line.as_ref().is_some_and(|l| l.ends_with('\r')) {
                // The last piece ended in a `\r`: a `\n` opening this one belongs to its line ending.
                let newline = usize::from(bytes[0] == b'\n');
                return Some(self.take(line, newline));
            }
            match memchr::memchr2(b'\n', b'\r', &bytes[self.from..]) {
                Some(k) => {
                    let mut end = self.from + k + 1;
                    if bytes[end - 1] == b'\r' && end < bytes.len() && bytes[end] == b'\n' {
                        end += 1;
                    }
                    let cr_at_the_end = end == bytes.len() && bytes[end - 1] == b'\r';
                    line = Some(self.take(line, end - self.from));
                    if !cr_at_the_end {
                        return line;
                    }
                }
                None => line = Some(self.take(line, bytes.len() - self.from)),
            }
        }
        line
    }
}

impl<'a> LineIter<'_, 'a> {
    /// `line` followed by the next `len` bytes of the current piece, which it moves past.
    fn take(&mut self, line: Option<Cow<'a, str>>, len: usize) -> Cow<'a, str> {
        let piece = self.pieces[self.piece];
        let part = &piece[self.from..self.from + len];
        self.from += len;
        if self.from == piece.len() {
            (self.piece, self.from) = (self.piece + 1, 0);
        }
        match line {
            None => Cow::Borrowed(part),
            Some(line) => Cow::Owned(line.into_owned() + part),
        }
    }
}

/// A line diff of two texts: their lines and the edit script.
pub struct LineDiff<'a> {
    old: Lines<'a>,
    new: Lines<'a>,
    ops: Vec<DiffOp>,
    /// Unchanged lines shown around each change.
    context: usize,
}

/// What [`LineDiff::walk`] shows, in order.
pub enum Row<'h, 'a> {
    /// A hunk starts: its operations (for a `@@` header).
    Hunk(&'h [DiffOp]),
    /// A line with its sign: `' '` context, `'-'` draft only, `'+'` plan only.
    Line(char, Cow<'a, str>),
    /// The hunk ends.
    HunkEnd,
}

impl<'a> LineDiff<'a> {
    pub fn new(old: Lines<'a>, new: Lines<'a>) -> LineDiff<'a> {
        let on_two_threads = old.len() + new.len() >= PARALLEL_BYTES;
        LineDiff::numbered(old, new, on_two_threads)
    }

    /// [`LineDiff::new`], its lines numbered on two threads or on one, whatever their size: both
    /// give the same script (the fuzz property checks it on every input).
    pub fn numbered(old: Lines<'a>, new: Lines<'a>, on_two_threads: bool) -> LineDiff<'a> {
        let (a, b) = interned(&old, &new, on_two_threads);
        let ops = script(&a, &b);
        LineDiff { old, new, ops, context: CONTEXT }
    }

    /// The diff of two texts, each in one piece.
    pub fn of(old: &'a str, new: &'a str) -> LineDiff<'a> {
        LineDiff::new(Lines::new(old), Lines::new(new))
    }

    /// Show `lines` unchanged lines around each change instead of three.
    pub fn context(self, lines: usize) -> LineDiff<'a> {
        LineDiff { context: lines, ..self }
    }

    pub fn ops(&self) -> &[DiffOp] {
        &self.ops
    }

    /// The changes with their context lines around them, one group per hunk.
    pub fn hunks(&self) -> Vec<Vec<DiffOp>> {
        similar::group_diff_ops(self.ops.clone(), self.context).into_iter().filter(|g| !g.is_empty()).collect()
    }

    /// Every hunk and its lines, in order, reading both texts once from the front.
    pub fn walk(&self, mut row: impl FnMut(Row<'_, 'a>) -> io::Result<()>) -> io::Result<()> {
        let (mut old, mut new) = (Cursor::new(self.old.iter()), Cursor::new(self.new.iter()));
        for hunk in self.hunks() {
            row(Row::Hunk(&hunk))?;
            for op in &hunk {
                let (sign, olds, news) = match *op {
                    DiffOp::Equal { .. } => (' ', op.old_range(), 0..0),
                    DiffOp::Delete { .. } => ('-', op.old_range(), 0..0),
                    DiffOp::Insert { .. } => ('-', 0..0, op.new_range()),
                    DiffOp::Replace { .. } => ('-', op.old_range(), op.new_range()),
                };
                for i in olds {
                    row(Row::Line(sign, old.line(i)))?;
                }
                for i in news {
                    row(Row::Line('+', new.line(i)))?;
                }
            }
            row(Row::HunkEnd)?;
        }
        Ok(())
    }

    /// The classic unified format (`---`, `+++`, `@@ -a,b +c,d @@` hunks), as `diff -u` prints it.
    pub fn unified(&self, old_name: &str, new_name: &str) -> String {
        in_memory(|out| self.write_unified(old_name, new_name, out))
    }

    /// [`LineDiff::unified`], written to `out` as it is made (on a big draft it is larger than the
    /// draft).
    pub fn write_unified(&self, old_name: &str, new_name: &str, out: &mut impl io::Write) -> io::Result<()> {
        let mut first = true;
        self.walk(|row| match row {
            Row::Hunk(hunk) => {
                if std::mem::take(&mut first) {
                    writeln!(out, "--- {old_name}\n+++ {new_name}")?;
                }
                writeln!(out, "{}", UnifiedHunkHeader::new(hunk))
            }
            Row::Line(sign, line) => {
                write!(out, "{sign}{line}")?;
                if !line.ends_with(['\n', '\r']) {
                    write!(out, "\n\\ No newline at end of file\n")?;
                }
                Ok(())
            }
            Row::HunkEnd => Ok(()),
        })
    }

    /// How many lines [`LineDiff::unified`] has, without making it.
    pub fn unified_lines(&self) -> usize {
        let mut lines = 0;
        let counted = self.walk(|row| {
            lines += match row {
                Row::Hunk(_) if lines == 0 => 3,
                Row::Hunk(_) => 1,
                Row::Line(_, line) if line.ends_with(['\n', '\r']) => 1,
                Row::Line(..) => 2,
                Row::HunkEnd => 0,
            };
            Ok(())
        });
        counted.expect("counting writes nothing, so cannot fail");
        lines
    }
}

/// Reads lines by increasing number from a line iterator.
struct Cursor<I> {
    lines: I,
    /// The number of the line `lines` gives next.
    at: usize,
}

impl<'a, I: Iterator<Item = Cow<'a, str>>> Cursor<I> {
    fn new(lines: I) -> Self {
        Cursor { lines, at: 0 }
    }

    /// Line `i`, at or after the last line read (the script's ranges only move forward).
    fn line(&mut self, i: usize) -> Cow<'a, str> {
        let skip = i.saturating_sub(self.at);
        self.at = i.max(self.at) + 1;
        self.lines.nth(skip).unwrap_or_default()
    }
}

/// A gap whose two sides hold at most this many lines together is diffed with Myers' algorithm,
/// which is optimal but costs up to the square of the gap: the bound keeps the whole diff linear.
const MYERS_MAX_LINES: usize = 1_000;

/// Anchors from which the gaps between them are diffed on all cores (below, the threads cost
/// more than they save).
const PARALLEL_ANCHORS: usize = 4096;

/// How often a gap is re-anchored on the lines unique within it before it is shown as removed
/// and added whole (only inputs with thousands of identical lines get that far).
const MAX_DEPTH: usize = 4;

/// Each line as a number, equal lines the same number, so the script compares numbers (it only
/// ever asks whether two numbers are equal).
///
/// A big diff is numbered on two threads, each a run of lines about half the bytes: the draft and
/// the plan's first part, the plan's rest (cut where no line spans the cut). Each numbers its run
/// with its own parity (0, 2, 4… and 1, 3, 5…); then each distinct line of the second run that the
/// first run has too takes the first run's number. Each line is read and hashed once (numbering
/// was half of the diff view's time on one core; two threads that each read every line and kept
/// the lines of one half of the hashes took four fifths of it).
fn interned(old: &Lines<'_>, new: &Lines<'_>, on_two_threads: bool) -> (Vec<u32>, Vec<u32>) {
    // Room for a distinct line per 128 bytes: a big plan's tables then never grow.
    let room = (old.len() + new.len()) / 128;
    if !on_two_threads {
        let mut all = Numbering::new(0, 1, room);
        let a = old.iter().map(|l| all.number(l)).collect();
        return (a, new.iter().map(|l| all.number(l)).collect());
    }
    let cut = new.cut_near(((old.len() + new.len()) / 2).saturating_sub(old.len()));
    let ((a, mut b, first), (rest, second)) = rayon::join(
        || {
            let mut first = Numbering::new(0, 2, room / 2);
            let a: Vec<u32> = old.iter().map(|l| first.number(l)).collect();
            let b: Vec<u32> = new.iter_pieces(0..cut).map(|l| first.number(l)).collect();
            (a, b, first)
        },
        || {
            let mut second = Numbering::new(1, 2, room / 2);
            let rest: Vec<u32> = new.iter_pieces(cut..new.pieces.len()).map(|l| second.number(l)).collect();
            (rest, second)
        },
    );
    // The second run's `k`-th distinct line, numbered `1 + 2k` there: the first run's number for
    // it, or that odd number (the first run's numbers are even).
    let again: Vec<u32> = second
        .distinct
        .par_iter()
        .enumerate()
        .with_min_len(4096)
        .map(|(k, (hash, line))| first.find(*hash, line).unwrap_or(second.first + second.step * k as u32))
        .collect();
    b.extend(rest.into_iter().map(|n| again[(n / 2) as usize]));
    (a, b)
}

fn line_hash(line: &str) -> u64 {
    FxBuildHasher.hash_one(line)
}

/// Numbers lines: the `k`-th distinct line gets `first + step * k`. The table holds `k` only,
/// each distinct line is kept once with its hash: growing the table hashes no text again, and a
/// probe reads a line only when the hashes agree.
struct Numbering<'t> {
    table: HashTable<u32>,
    distinct: Vec<(u64, Cow<'t, str>)>,
    first: u32,
    step: u32,
}

impl<'t> Numbering<'t> {
    fn new(first: u32, step: u32, room: usize) -> Self {
        Numbering { table: HashTable::with_capacity(room), distinct: Vec::with_capacity(room), first, step }
    }

    /// The number of `line` (whose hash is `hash`), if it has one.
    fn find(&self, hash: u64, line: &str) -> Option<u32> {
        let distinct = &self.distinct;
        let k = self.table.find(hash, |&k| distinct[k as usize].0 == hash && distinct[k as usize].1 == line)?;
        Some(self.first + self.step * k)
    }

    fn number(&mut self, line: Cow<'t, str>) -> u32 {
        self.number_hashed(line_hash(&line), line)
    }

    fn number_hashed(&mut self, hash: u64, line: Cow<'t, str>) -> u32 {
        let distinct = &mut self.distinct;
        let same = |&k: &u32| distinct[k as usize].0 == hash && distinct[k as usize].1 == line;
        let k = match self.table.entry(hash, same, |&k| distinct[k as usize].0) {
            Entry::Occupied(e) => *e.get(),
            Entry::Vacant(e) => {
                let k = distinct.len() as u32;
                e.insert(k);
                distinct.push((hash, line));
                k
            }
        };
        self.first + self.step * k
    }
}

/// A diff whose two texts hold at least this many bytes together numbers its lines on two
/// threads (below, starting them costs more than it saves).
const PARALLEL_BYTES: usize = 1 << 20;

/// The edit script from `a` to `b` (lines as [`interned`] numbers), in time linear in their number.
///
/// Patience diff with bounded gaps: lines that occur exactly once in each side anchor the
/// alignment (their longest common subsequence, O(k log k)); each gap between anchors is trimmed
/// of common lines at both ends, then diffed with Myers when small, re-anchored on the lines
/// unique within it when large, and after [`MAX_DEPTH`] rounds shown as removed and added. A
/// small file is one gap, so its diff is exactly Myers'. Deterministic: no clocks, no deadlines.
fn script(a: &[u32], b: &[u32]) -> Vec<DiffOp> {
    script_with(a, b, PARALLEL_ANCHORS)
}

/// [`script`], diffing the gaps between anchors on all cores from `parallel_from` anchors on (the
/// same script either way: tests compare them).
fn script_with(a: &[u32], b: &[u32], parallel_from: usize) -> Vec<DiffOp> {
    let mut ops = Ops::default();
    gap(a, 0..a.len(), b, 0..b.len(), 0, parallel_from, &mut ops);
    ops.ops
}

/// The edit script being built, front to back: each operation starts where the last one ended
/// (positions are recomputed here, never taken over), and adjacent operations of one kind are
/// merged, so that context grouping sees one run of equal lines where gaps and anchors meet.
#[derive(Default)]
struct Ops {
    ops: Vec<DiffOp>,
    old_at: usize,
    new_at: usize,
}

impl Ops {
    fn equal(&mut self, len: usize) {
        if len == 0 {
            return;
        }
        match self.ops.last_mut() {
            Some(DiffOp::Equal { len: l, .. }) => *l += len,
            _ => self.ops.push(DiffOp::Equal { old_index: self.old_at, new_index: self.new_at, len }),
        }
        self.old_at += len;
        self.new_at += len;
    }

    fn delete(&mut self, len: usize) {
        if len == 0 {
            return;
        }
        match self.ops.last_mut() {
            Some(DiffOp::Delete { old_len, .. }) => *old_len += len,
            _ => self.ops.push(DiffOp::Delete { old_index: self.old_at, old_len: len, new_index: self.new_at }),
        }
        self.old_at += len;
    }

    fn insert(&mut self, len: usize) {
        if len == 0 {
            return;
        }
        match self.ops.last_mut() {
            Some(DiffOp::Insert { new_len, .. }) => *new_len += len,
            _ => self.ops.push(DiffOp::Insert { old_index: self.old_at, new_index: self.new_at, new_len: len }),
        }
        self.new_at += len;
    }

    fn replace(&mut self, old: usize, new: usize) {
        self.delete(old);
        self.insert(new);
    }

    fn extend(&mut self, ops: Vec<DiffOp>) {
        for op in ops {
            match op {
                DiffOp::Equal { len, .. } => self.equal(len),
                other => self.replace(other.old_range().len(), other.new_range().len()),
            }
        }
    }
}

fn gap(a: &[u32], mut ar: Range<usize>, b: &[u32], mut br: Range<usize>, depth: usize, par: usize, ops: &mut Ops) {
    let prefix = a[ar.clone()].iter().zip(&b[br.clone()]).take_while(|(x, y)| x == y).count();
    ops.equal(prefix);
    ar.start += prefix;
    br.start += prefix;
    let suffix = a[ar.clone()].iter().rev().zip(b[br.clone()].iter().rev()).take_while(|(x, y)| x == y).count();
    ar.end -= suffix;
    br.end -= suffix;
    if ar.is_empty() || br.is_empty() {
        ops.replace(ar.len(), br.len());
    } else if ar.len() + br.len() <= MYERS_MAX_LINES {
        ops.extend(similar::capture_diff(Algorithm::Myers, a, ar, b, br));
    } else if depth < MAX_DEPTH {
        let anchors = unique_common(a, ar.clone(), b, br.clone());
        if anchors.is_empty() {
            ops.replace(ar.len(), br.len());
        } else {
            // The gaps before each anchor, from `from` on, then the anchor; where they end.
            let between = |ops: &mut Ops, from: (usize, usize), pairs: &[(usize, usize)]| {
                let (mut at_a, mut at_b) = from;
                for &(i, j) in pairs {
                    gap(a, at_a..i, b, at_b..j, depth + 1, par, ops);
                    ops.equal(1);
                    (at_a, at_b) = (i + 1, j + 1);
                }
                (at_a, at_b)
            };
            let (at_a, at_b) = if anchors.len() < par {
                between(ops, (ar.start, br.start), &anchors)
            } else {
                // Gaps are independent: a big draft's are diffed on every core, each run of them
                // into its own script, and the scripts joined in order. Joining merges what meets
                // as one run would have, so the script is the same.
                let run = anchors.len().div_ceil(4 * rayon::current_num_threads());
                let scripts: Vec<Vec<DiffOp>> = anchors
                    .par_chunks(run)
                    .enumerate()
                    .map(|(k, pairs)| {
                        let from = k.checked_sub(1).map_or((ar.start, br.start), |_| {
                            let (i, j) = anchors[k * run - 1];
                            (i + 1, j + 1)
                        });
                        let mut part = Ops::default();
                        between(&mut part, from, pairs);
                        part.ops
                    })
                    .collect();
                scripts.into_iter().for_each(|s| ops.extend(s));
                let (i, j) = anchors[anchors.len() - 1];
                (i + 1, j + 1)
            };
            gap(a, at_a..ar.end, b, at_b..br.end, depth + 1, par, ops);
        }
    } else {
        ops.replace(ar.len(), br.len());
    }
    ops.equal(suffix);
}

/// The longest run, in order on both sides, of lines that occur exactly once in `a[ar]` and once
/// in `b[br]`: pairs of positions `(i, j)`, increasing in both.
fn unique_common(a: &[u32], ar: Range<usize>, b: &[u32], br: Range<usize>) -> Vec<(usize, usize)> {
    let ids = a[ar.clone()].iter().chain(&b[br.clone()]).max().map_or(0, |&id| id as usize + 1);
    let pairs = if (ar.len() + br.len()) * 4 >= ids {
        // Most numbers occur (a big diff's first round): counted in a table indexed by number,
        // not hashed (18 ms of 100k statements' view, on one core, that way).
        unique_pairs(a, ar, b, br, &mut vec![Seen::default(); ids])
    } else {
        unique_pairs(a, ar.clone(), b, br, &mut HashMap::with_capacity_and_hasher(ar.len(), Default::default()))
    };
    longest_increasing(&pairs)
}

/// How often a line's number occurs in each side, and where in `b` last.
#[derive(Debug, Clone, Copy, Default)]
struct Seen {
    in_a: u32,
    in_b: u32,
    at_b: usize,
}

/// Where [`unique_pairs`] counts: a table indexed by number, or a map of the numbers of `a`.
trait Tally {
    fn in_a(&mut self, id: u32) -> &mut Seen;
    /// `None` for a number `a` does not have (a map need not keep it).
    fn in_b(&mut self, id: u32) -> Option<&mut Seen>;
}

impl Tally for Vec<Seen> {
    fn in_a(&mut self, id: u32) -> &mut Seen {
        &mut self[id as usize]
    }

    fn in_b(&mut self, id: u32) -> Option<&mut Seen> {
        self.get_mut(id as usize)
    }
}

impl Tally for HashMap<u32, Seen> {
    fn in_a(&mut self, id: u32) -> &mut Seen {
        self.entry(id).or_default()
    }

    fn in_b(&mut self, id: u32) -> Option<&mut Seen> {
        self.get_mut(&id)
    }
}

/// The positions `(i, j)` of the lines that occur exactly once in `a[ar]` and once in `b[br]`,
/// by increasing `i`.
fn unique_pairs(
    a: &[u32],
    ar: Range<usize>,
    b: &[u32],
    br: Range<usize>,
    seen: &mut impl Tally,
) -> Vec<(usize, usize)> {
    for &id in &a[ar.clone()] {
        seen.in_a(id).in_a += 1;
    }
    for j in br {
        if let Some(s) = seen.in_b(b[j]) {
            s.in_b += 1;
            s.at_b = j;
        }
    }
    ar.filter_map(|i| {
        let s = *seen.in_a(a[i]);
        (s.in_a == 1 && s.in_b == 1).then_some((i, s.at_b))
    })
    .collect()
}

/// The longest subsequence of `pairs` (sorted by the first element) whose second elements
/// increase: patience sorting, O(k log k).
fn longest_increasing(pairs: &[(usize, usize)]) -> Vec<(usize, usize)> {
    // tails[k]: index into pairs of the smallest end of an increasing run of length k + 1.
    let mut tails: Vec<usize> = Vec::new();
    let mut prev: Vec<Option<usize>> = vec![None; pairs.len()];
    for (p, &(_, j)) in pairs.iter().enumerate() {
        let k = tails.partition_point(|&t| pairs[t].1 < j);
        prev[p] = k.checked_sub(1).map(|k| tails[k]);
        if k == tails.len() {
            tails.push(p);
        } else {
            tails[k] = p;
        }
    }
    let mut out = Vec::with_capacity(tails.len());
    let mut at = tails.last().copied();
    while let Some(p) = at {
        out.push(pairs[p]);
        at = prev[p];
    }
    out.reverse();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Applying the script to `old` gives `new`, and every equal pair really is equal.
    fn replay<S: AsRef<str>>(old: &[S], new: &[S], ops: &[DiffOp]) {
        let (mut at_old, mut at_new) = (0, 0);
        for op in ops {
            assert_eq!(op.old_range().start, at_old, "{ops:?}");
            assert_eq!(op.new_range().start, at_new, "{ops:?}");
            if let DiffOp::Equal { old_index, new_index, len } = *op {
                for k in 0..len {
                    assert_eq!(old[old_index + k].as_ref(), new[new_index + k].as_ref());
                }
            }
            (at_old, at_new) = (op.old_range().end, op.new_range().end);
        }
        assert_eq!((at_old, at_new), (old.len(), new.len()));
    }

    fn all(lines: &Lines<'_>) -> Vec<String> {
        lines.iter().map(Cow::into_owned).collect()
    }

    #[test]
    fn a_small_diff_is_exactly_myers() {
        let old = "a\nb\nc\nd\ne\n";
        let new = "a\nx\nc\nd\ny\ne\nz\n";
        let d = LineDiff::of(old, new);
        let myers = similar::TextDiff::from_lines(old, new);
        assert_eq!(d.unified("d", "p"), myers.unified_diff().context_radius(3).header("d", "p").to_string());
    }

    #[test]
    fn any_context_is_myers_on_a_small_diff_and_its_lines_are_counted_without_making_it() {
        // Without a final line break on either side too (`\ No newline at end of file`).
        for (old, new) in
            [("a\nb\nc\nd\ne\nf\ng\n", "a\nx\nc\nd\ne\nf\ny\n"), ("a\nb", "a\nc"), ("a\n", "b"), ("", "a\n")]
        {
            for context in [0, 1, 2, 5] {
                let d = LineDiff::of(old, new).context(context);
                let myers = similar::TextDiff::from_lines(old, new);
                let unified = d.unified("d", "p");
                assert_eq!(unified, myers.unified_diff().context_radius(context).header("d", "p").to_string());
                assert_eq!(d.unified_lines(), unified.lines().count(), "{unified}");
            }
        }
        assert_eq!(LineDiff::of("a\n", "a\n").unified_lines(), 0);
    }

    #[test]
    fn a_large_diff_is_complete_and_keeps_unique_lines() {
        // 20,000 statements, each wrapped in BEGIN/COMMIT in the plan: a Myers diff of this is
        // quadratic; here every draft line stays an equal line.
        let draft: String = (0..20_000).map(|i| format!("ALTER TABLE t ADD COLUMN c{i} int;\n")).collect();
        let plan: String = (0..20_000)
            .map(|i| format!("-- ==== {i:05}.sql ====\nBEGIN;\nALTER TABLE t ADD COLUMN c{i} int;\nCOMMIT;\n"))
            .collect();
        let d = LineDiff::of(&draft, &plan);
        replay(&all(&d.old), &all(&d.new), d.ops());
        let equal: usize =
            d.ops().iter().filter(|o| matches!(o, DiffOp::Equal { .. })).map(|o| o.old_range().len()).sum();
        assert_eq!(equal, 20_000);
    }

    #[test]
    fn a_big_draft_gives_the_same_script_on_one_core_or_on_all() {
        let draft: String = (0..6_000)
            .map(|i| format!("CREATE INDEX i{i} ON t (c{i});\nALTER TABLE t ADD COLUMN d{i} int;\n"))
            .collect();
        let c = crate::compile("big.sql", &draft, &crate::Config::default()).unwrap();
        let flat = crate::emit::Flat::new(&c.files);
        let (old, new) = (Lines::new(&draft), Lines::of_pieces(flat.pieces()));
        let (a, b) = interned(&old, &new, false);
        assert_eq!(script_with(&a, &b, 1), script_with(&a, &b, usize::MAX));
        // Numbered in two runs, the plan cut between its pieces: the same script.
        assert!((1..new.pieces.len()).contains(&new.cut_near(new.len() / 2)));
        let (two_a, two_b) = interned(&old, &new, true);
        assert_eq!(script(&two_a, &two_b), script(&a, &b));
    }

    #[test]
    fn lines_are_cut_between_pieces_where_no_line_spans_the_cut() {
        let lines = Lines::of_pieces(["a\n", "b\r", "\nc", "d\n", "e"]);
        // After "a\n" (2 bytes) or after "d\n" (9 bytes); never inside "b\r\n" or "cd\n".
        assert_eq!([0, 2, 3, 5, 6, 8, 9, 20].map(|at| lines.cut_near(at)), [0, 1, 1, 1, 4, 4, 4, 4]);
        for cut in [0, 1, 4] {
            let mut both: Vec<Cow<'_, str>> = lines.iter_pieces(0..cut).collect();
            both.extend(lines.iter_pieces(cut..5));
            assert_eq!(both, lines.iter().collect::<Vec<_>>(), "cut at {cut}");
        }
    }

    #[test]
    fn identical_lines_everywhere_still_give_a_complete_diff() {
        let draft = "SELECT 1;\n".repeat(5_000);
        let plan = "BEGIN;\nSELECT 1;\nCOMMIT;\n".repeat(5_000);
        let d = LineDiff::of(&draft, &plan);
        replay(&all(&d.old), &all(&d.new), d.ops());
        let unified = d.unified("d", "p");
        assert!(unified.starts_with("--- d\n+++ p\n@@ "), "{}", &unified[..100]);
    }

    #[test]
    fn missing_final_newline_is_marked() {
        let d = LineDiff::of("a\nb", "a\nc");
        assert_eq!(
            d.unified("d", "p"),
            "--- d\n+++ p\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+c\n\\ No newline at end of file\n"
        );
    }

    #[test]
    fn lines_split_as_similar_splits_them_whatever_the_pieces() {
        let text = "a\r\nb\rc\n\nd\r\r\ne";
        let expected: Vec<&str> = similar::DiffableStr::tokenize_lines(text);
        // Every way of cutting the text in two or three pieces, through line endings too.
        for i in 0..=text.len() {
            for j in i..=text.len() {
                let lines = Lines::of_pieces([&text[..i], &text[i..j], &text[j..]]);
                assert_eq!(all(&lines), expected, "cut at {i} and {j}");
                let mut cursor = Cursor::new(lines.iter());
                assert_eq!(
                    (cursor.line(1), cursor.line(2), cursor.line(5)),
                    (expected[1].into(), expected[2].into(), expected[5].into())
                );
            }
        }
        assert_eq!(Lines::of_pieces(["", ""]).iter().count(), 0);
    }

    #[test]
    fn the_plan_in_pieces_diffs_as_the_flattened_plan() {
        let draft = "CREATE INDEX i ON t (c);\r\nALTER TABLE t ADD COLUMN d int DEFAULT random();\nSELECT 1";
        let c = crate::compile("d.sql", draft, &crate::Config::default()).unwrap();
        let flat = crate::emit::Flat::new(&c.files);
        let pieces = LineDiff::new(Lines::new(draft), Lines::of_pieces(flat.pieces()));
        let whole = crate::emit::flatten(&c.files);
        assert_eq!(pieces.unified("d", "p"), LineDiff::of(draft, &whole).unified("d", "p"));
        assert!(pieces.unified("d", "p").contains("+CREATE INDEX CONCURRENTLY"));
    }

    #[test]
    fn longest_increasing_run() {
        let pairs = [(0, 3), (1, 1), (2, 2), (3, 0), (4, 4)];
        assert_eq!(longest_increasing(&pairs), vec![(1, 1), (2, 2), (4, 4)]);
    }

    fn numbered(old: &[String], new: &[String], on_two_threads: bool) -> (Vec<u32>, Vec<u32>) {
        fn lines(side: &[String]) -> Lines<'_> {
            Lines::of_pieces(side.iter().map(String::as_str))
        }
        interned(&lines(old), &lines(new), on_two_threads)
    }

    proptest::proptest! {
        #[test]
        fn every_script_replays(old in proptest::collection::vec(0u16..400, 0..1500),
                                new in proptest::collection::vec(0u16..400, 0..1500),
                                alphabet in 2u16..400) {
            let line = |i: &u16| format!("{}\n", i % alphabet);
            let (old, new): (Vec<String>, Vec<String>) = (old.iter().map(line).collect(), new.iter().map(line).collect());
            let (a, b) = numbered(&old, &new, false);
            replay(&old, &new, &script(&a, &b));
            // Numbered on two threads, the lines give the same script.
            let (pa, pb) = numbered(&old, &new, true);
            proptest::prop_assert_eq!(script(&pa, &pb), script(&a, &b));
            // And their gaps diffed on all cores, the same script.
            proptest::prop_assert_eq!(script_with(&a, &b, 1), script_with(&a, &b, usize::MAX));
            // Unique lines counted in a table or in a map: the same pairs.
            let ids = a.iter().chain(&b).max().map_or(0, |&id| id as usize + 1);
            let (ar, br) = (a.len() / 3..a.len(), 0..b.len() * 2 / 3);
            let counted = unique_pairs(&a, ar.clone(), &b, br.clone(), &mut vec![Seen::default(); ids]);
            let hashed = unique_pairs(&a, ar, &b, br, &mut HashMap::default());
            proptest::prop_assert_eq!(counted, hashed);
        }
    }
}
