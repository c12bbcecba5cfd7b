//! The review view: a unified diff from the draft to the flattened plan, and the list of changes
//! with their rule and reason, for a terminal (optionally coloured) or a pull request (markdown).
//!
//! The diff costs time linear in the number of lines (see [`line_ops`]): a whole-file Myers diff
//! is quadratic when plan and draft differ on every statement, which a 16,000-statement draft
//! turned into a minute.

use crate::Compilation;
use rustc_hash::FxHashMap as HashMap;
use similar::udiff::UnifiedHunkHeader;
use similar::{Algorithm, DiffOp, DiffableStr};
use std::fmt;
use std::io::{self, Write as _};
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

/// The diff and the change list, ready to print (see [`write`]).
pub fn render(c: &Compilation, format: Format) -> String {
    in_memory(|out| write(c, format, out))
}

/// The change and diagnostic lines alone (what `pgsafe check` prints), uncoloured.
pub fn render_findings(c: &Compilation) -> String {
    in_memory(|out| write_findings(c, false, out))
}

fn in_memory(f: impl FnOnce(&mut Vec<u8>) -> io::Result<()>) -> String {
    let mut out = Vec::new();
    f(&mut out).expect("writing to memory cannot fail");
    String::from_utf8(out).expect("the draft, the plan and the messages are UTF-8")
}

/// Write the diff and the change list to `out` as they are made: on a big draft the view is
/// larger than the draft (57 MB for 100,000 statements), and a string of it would be held whole
/// before the first line is printed.
pub fn write(c: &Compilation, format: Format, out: &mut impl io::Write) -> io::Result<()> {
    let flat = if c.changes.is_empty() { String::new() } else { crate::emit::flatten(&c.files) };
    let diff = LineDiff::new(&c.source.text, &flat);
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
                    writeln!(out, "| `{}` | `{}` | {message} |", ch.rule, c.source.position(ch.at))?;
                }
            }
            if !c.diagnostics.is_empty() {
                write!(out, "\n**Needs a reviewer:**\n\n")?;
                for d in &c.diagnostics {
                    writeln!(out, "- `{}` `{}`: {}", d.rule, c.source.position(d.at), d.message)?;
                }
            }
        }
        Format::Terminal { color } => {
            if !c.changes.is_empty() {
                for hunk in diff.hunks() {
                    for (sign, line) in diff.lines_of(&hunk) {
                        let line = line.trim_end_matches(['\n', '\r']);
                        match sign {
                            '-' => writeln!(out, "{}", Paint(color, RED, format_args!("{sign}{line}")))?,
                            '+' => writeln!(out, "{}", Paint(color, GREEN, format_args!("{sign}{line}")))?,
                            _ => writeln!(out, "{sign}{line}")?,
                        }
                    }
                    writeln!(out, "{}", Paint(color, CYAN, "···"))?;
                }
                writeln!(out)?;
            }
            write_findings(c, color, out)?;
        }
    }
    Ok(())
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
        let (at, rule) = (Paint(color, BOLD, c.source.position(ch.at)), Paint(color, GREEN, ch.rule));
        writeln!(out, "{at} {rule} {}", ch.message)?;
    }
    for d in &c.diagnostics {
        let (at, rule) =
            (Paint(color, BOLD, c.source.position(d.at)), Paint(color, YELLOW, format_args!("warning[{}]", d.rule)));
        writeln!(out, "{at} {rule} {}", d.message)?;
    }
    Ok(())
}

/// A line diff of two texts: their lines (each with its line ending) and the edit script.
pub struct LineDiff<'a> {
    old: Vec<&'a str>,
    new: Vec<&'a str>,
    ops: Vec<DiffOp>,
}

impl<'a> LineDiff<'a> {
    pub fn new(old: &'a str, new: &'a str) -> LineDiff<'a> {
        let (old, new) = (old.tokenize_lines(), new.tokenize_lines());
        let ops = line_ops(&old, &new);
        LineDiff { old, new, ops }
    }

    pub fn ops(&self) -> &[DiffOp] {
        &self.ops
    }

    /// The changes with [`CONTEXT`] lines around them, one group per hunk.
    pub fn hunks(&self) -> Vec<Vec<DiffOp>> {
        similar::group_diff_ops(self.ops.clone(), CONTEXT).into_iter().filter(|g| !g.is_empty()).collect()
    }

    /// Each line of a hunk with its sign: `' '` context, `'-'` draft only, `'+'` plan only.
    pub fn lines_of<'h>(&'h self, hunk: &'h [DiffOp]) -> impl Iterator<Item = (char, &'a str)> + 'h {
        hunk.iter().flat_map(move |op| {
            let (sign, old, new) = match *op {
                DiffOp::Equal { .. } => (' ', op.old_range(), 0..0),
                DiffOp::Delete { .. } => ('-', op.old_range(), 0..0),
                DiffOp::Insert { .. } => ('-', 0..0, op.new_range()),
                DiffOp::Replace { .. } => ('-', op.old_range(), op.new_range()),
            };
            let olds = self.old[old].iter().map(move |l| (sign, *l));
            olds.chain(self.new[new].iter().map(|l| ('+', *l)))
        })
    }

    /// The classic unified format (`---`, `+++`, `@@ -a,b +c,d @@` hunks), as `diff -u` prints it.
    pub fn unified(&self, old_name: &str, new_name: &str) -> String {
        in_memory(|out| {
            for (i, hunk) in self.hunks().iter().enumerate() {
                if i == 0 {
                    writeln!(out, "--- {old_name}\n+++ {new_name}")?;
                }
                writeln!(out, "{}", UnifiedHunkHeader::new(hunk))?;
                for (sign, line) in self.lines_of(hunk) {
                    write!(out, "{sign}{line}")?;
                    if !line.ends_with(['\n', '\r']) {
                        write!(out, "\n\\ No newline at end of file\n")?;
                    }
                }
            }
            Ok(())
        })
    }
}

/// A gap whose two sides hold at most this many lines together is diffed with Myers' algorithm,
/// which is optimal but costs up to the square of the gap: the bound keeps the whole diff linear.
const MYERS_MAX_LINES: usize = 1_000;

/// How often a gap is re-anchored on the lines unique within it before it is shown as removed
/// and added whole (only inputs with thousands of identical lines get that far).
const MAX_DEPTH: usize = 4;

/// The edit script from `old` to `new` lines, in time linear in their number.
///
/// Patience diff with bounded gaps: lines that occur exactly once in each side anchor the
/// alignment (their longest common subsequence, O(k log k)); each gap between anchors is trimmed
/// of common lines at both ends, then diffed with Myers when small, re-anchored on the lines
/// unique within it when large, and after [`MAX_DEPTH`] rounds shown as removed and added. A
/// small file is one gap, so its diff is exactly Myers'. Deterministic: no clocks, no deadlines.
pub fn line_ops<'t>(old: &[&'t str], new: &[&'t str]) -> Vec<DiffOp> {
    let mut ids: HashMap<&'t str, u32> = HashMap::with_capacity_and_hasher(old.len(), Default::default());
    let mut intern = |l: &'t str| -> u32 {
        let next = ids.len() as u32;
        *ids.entry(l).or_insert(next)
    };
    let a: Vec<u32> = old.iter().map(|l| intern(l)).collect();
    let b: Vec<u32> = new.iter().map(|l| intern(l)).collect();
    let mut ops = Ops::default();
    gap(&a, 0..a.len(), &b, 0..b.len(), 0, &mut ops);
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

fn gap(a: &[u32], mut ar: Range<usize>, b: &[u32], mut br: Range<usize>, depth: usize, ops: &mut Ops) {
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
            let (mut at_a, mut at_b) = (ar.start, br.start);
            for (i, j) in anchors {
                gap(a, at_a..i, b, at_b..j, depth + 1, ops);
                ops.equal(1);
                (at_a, at_b) = (i + 1, j + 1);
            }
            gap(a, at_a..ar.end, b, at_b..br.end, depth + 1, ops);
        }
    } else {
        ops.replace(ar.len(), br.len());
    }
    ops.equal(suffix);
}

/// The longest run, in order on both sides, of lines that occur exactly once in `a[ar]` and once
/// in `b[br]`: pairs of positions `(i, j)`, increasing in both.
fn unique_common(a: &[u32], ar: Range<usize>, b: &[u32], br: Range<usize>) -> Vec<(usize, usize)> {
    // id → (occurrences in a, in b, last position in a, in b)
    let mut seen: HashMap<u32, (u32, u32, usize, usize)> =
        HashMap::with_capacity_and_hasher(ar.len(), Default::default());
    for i in ar {
        let e = seen.entry(a[i]).or_insert((0, 0, 0, 0));
        e.0 += 1;
        e.2 = i;
    }
    for j in br {
        if let Some(e) = seen.get_mut(&b[j]) {
            e.1 += 1;
            e.3 = j;
        }
    }
    let mut pairs: Vec<(usize, usize)> =
        seen.into_values().filter(|e| e.0 == 1 && e.1 == 1).map(|e| (e.2, e.3)).collect();
    pairs.sort_unstable();
    longest_increasing(&pairs)
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
    fn replay(old: &[&str], new: &[&str], ops: &[DiffOp]) {
        let (mut at_old, mut at_new) = (0, 0);
        for op in ops {
            assert_eq!(op.old_range().start, at_old, "{ops:?}");
            assert_eq!(op.new_range().start, at_new, "{ops:?}");
            if let DiffOp::Equal { old_index, new_index, len } = *op {
                assert_eq!(old[old_index..old_index + len], new[new_index..new_index + len]);
            }
            (at_old, at_new) = (op.old_range().end, op.new_range().end);
        }
        assert_eq!((at_old, at_new), (old.len(), new.len()));
    }

    #[test]
    fn a_small_diff_is_exactly_myers() {
        let old = "a\nb\nc\nd\ne\n";
        let new = "a\nx\nc\nd\ny\ne\nz\n";
        let d = LineDiff::new(old, new);
        let myers = similar::TextDiff::from_lines(old, new);
        assert_eq!(d.unified("d", "p"), myers.unified_diff().context_radius(3).header("d", "p").to_string());
    }

    #[test]
    fn a_large_diff_is_complete_and_keeps_unique_lines() {
        // 20,000 statements, each wrapped in BEGIN/COMMIT in the plan: a Myers diff of this is
        // quadratic; here every draft line stays an equal line.
        let draft: String = (0..20_000).map(|i| format!("ALTER TABLE t ADD COLUMN c{i} int;\n")).collect();
        let plan: String = (0..20_000)
            .map(|i| format!("-- ==== {i:05}.sql ====\nBEGIN;\nALTER TABLE t ADD COLUMN c{i} int;\nCOMMIT;\n"))
            .collect();
        let d = LineDiff::new(&draft, &plan);
        replay(&d.old, &d.new, d.ops());
        let equal: usize =
            d.ops().iter().filter(|o| matches!(o, DiffOp::Equal { .. })).map(|o| o.old_range().len()).sum();
        assert_eq!(equal, 20_000);
    }

    #[test]
    fn identical_lines_everywhere_still_give_a_complete_diff() {
        let draft = "SELECT 1;\n".repeat(5_000);
        let plan = "BEGIN;\nSELECT 1;\nCOMMIT;\n".repeat(5_000);
        let d = LineDiff::new(&draft, &plan);
        replay(&d.old, &d.new, d.ops());
        let unified = d.unified("d", "p");
        assert!(unified.starts_with("--- d\n+++ p\n@@ "), "{}", &unified[..100]);
    }

    #[test]
    fn missing_final_newline_is_marked() {
        let d = LineDiff::new("a\nb", "a\nc");
        assert_eq!(
            d.unified("d", "p"),
            "--- d\n+++ p\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+c\n\\ No newline at end of file\n"
        );
    }

    #[test]
    fn longest_increasing_run() {
        let pairs = [(0, 3), (1, 1), (2, 2), (3, 0), (4, 4)];
        assert_eq!(longest_increasing(&pairs), vec![(1, 1), (2, 2), (4, 4)]);
    }

    proptest::proptest! {
        #[test]
        fn every_script_replays(old in proptest::collection::vec(0u16..400, 0..1500),
                                new in proptest::collection::vec(0u16..400, 0..1500),
                                alphabet in 2u16..400) {
            let line = |i: &u16| format!("{}\n", i % alphabet);
            let (old, new): (Vec<String>, Vec<String>) = (old.iter().map(line).collect(), new.iter().map(line).collect());
            let old: Vec<&str> = old.iter().map(String::as_str).collect();
            let new: Vec<&str> = new.iter().map(String::as_str).collect();
            replay(&old, &new, &line_ops(&old, &new));
        }
    }
}
