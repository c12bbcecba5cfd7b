//! The savepoints of a transaction block as PostgreSQL keeps them, each with what a tracker of the
//! draft's state must put back when the draft rolls back to it: the catalogue (`timeline`), the
//! settings a plan replays (`plan`), the search path (`migration`), the timeouts (`timeouts`);
//! [`Rollbacks`], a whole transaction block followed the same way (the time zone of
//! `type-change`); and [`UndoLog`], the changes a rollback undoes (the relations the draft
//! created, the indexes `concurrent-drop-index` knows it built, the proofs of `set-not-null`).

use super::op::{OpKind, Psql, SavepointAction};

/// The savepoints in force, oldest first, each with the state saved where it was set.
#[derive(Debug, Clone)]
pub struct Savepoints<S>(Vec<(String, S)>);

impl<S> Default for Savepoints<S> {
    fn default() -> Self {
        Savepoints(Vec::new())
    }
}

impl<S: Clone> Savepoints<S> {
    /// `SAVEPOINT`, `RELEASE` or `ROLLBACK TO` the savepoint `name`, with `now` the state in
    /// force: for a rollback, the state to put back (the savepoint stays, later ones go; of a name
    /// set twice, the newest counts; an unknown name changes nothing, as PostgreSQL refuses it).
    pub fn run(&mut self, name: &str, action: SavepointAction, now: impl FnOnce() -> S) -> Option<S> {
        if action == SavepointAction::Set {
            self.0.push((name.to_string(), now()));
            return None;
        }
        // Looked for only here: a block of thousands of savepoints sets each without a scan.
        let k = self.0.iter().rposition(|(n, _)| n == name)?;
        if action == SavepointAction::Release {
            self.0.truncate(k);
            return None;
        }
        self.0.truncate(k + 1);
        Some(self.0[k].1.clone())
    }

    /// The transaction ended (or began): its savepoints end with it.
    pub fn clear(&mut self) {
        self.0.clear();
    }
}

/// The draft's transaction blocks as one tracker follows them: the state each `BEGIN` and
/// savepoint found, which a `ROLLBACK` or `ROLLBACK TO SAVEPOINT` puts back. A psql `\if` block
/// is followed the same way: what a branch did is put back where the branch ends (at its `\elif`,
/// `\else` or `\endif`), because the branch may not have run. For a tracker of what lets pgsafe
/// spare a statement its recipe (a table the draft created, a proof), that is the safe guess.
#[derive(Debug, Clone)]
pub struct Rollbacks<S> {
    /// Inside a transaction block: the draft's own, or the one its migration tool runs it in.
    in_block: bool,
    /// The state where the draft's own `BEGIN` opened the block (a tool's block has none: the
    /// draft cannot roll it back to where it started).
    at_begin: Option<S>,
    savepoints: Savepoints<S>,
    /// The state where each open psql `\if` began, outermost first.
    branches: Vec<S>,
}

impl<S: Clone> Rollbacks<S> {
    /// `runner_transaction`: the draft's migration tool runs it in a transaction block.
    pub fn new(runner_transaction: bool) -> Self {
        Rollbacks {
            in_block: runner_transaction,
            at_begin: None,
            savepoints: Savepoints::default(),
            branches: Vec::new(),
        }
    }

    /// Inside a psql `\if` block (whose branches may not run)?
    pub fn in_branch(&self) -> bool {
        !self.branches.is_empty()
    }

    /// Is a transaction block open (so `SET LOCAL` lasts until it ends)?
    pub fn in_block(&self) -> bool {
        self.in_block
    }

    /// Op `kind` runs, with `now` the state in force: the state to put back when it rolls back
    /// or ends a psql branch. (A `BEGIN` inside a block starts nothing, as PostgreSQL only warns.)
    pub fn follow(&mut self, kind: &OpKind, now: impl FnOnce() -> S) -> Option<S> {
        match kind {
            OpKind::Begin if !self.in_block => {
                (self.in_block, self.at_begin) = (true, Some(now()));
                self.savepoints.clear();
                None
            }
            OpKind::Commit { rollback } => {
                let back = self.at_begin.take().filter(|_| *rollback);
                self.in_block = false;
                self.savepoints.clear();
                back
            }
            OpKind::Savepoint { name, action } if self.in_block => self.savepoints.run(name, *action, now),
            OpKind::Psql(Psql::If) => {
                self.branches.push(now());
                None
            }
            OpKind::Psql(Psql::Else) => self.branches.last().cloned(),
            OpKind::Psql(Psql::EndIf) => self.branches.pop(),
            _ => None,
        }
    }
}

impl Rollbacks<usize> {
    /// An undo log was cut to `len` changes: no mark points past its end any more (a rollback
    /// inside a branch to a `BEGIN` before it, then the branch's end, or the other way round,
    /// must each undo what was logged after the cut).
    fn cut_to(&mut self, len: usize) {
        let marks = self.at_begin.iter_mut().chain(self.savepoints.0.iter_mut().map(|(_, at)| at));
        marks.chain(&mut self.branches).for_each(|at| *at = (*at).min(len));
    }
}

/// The changes a tracker made in the open transaction block, each as its undoing needs it: the
/// changes a rollback undoes, for trackers whose state is too big to copy at every savepoint (what
/// the draft created, the indexes it built, the proofs of `set-not-null`).
#[derive(Debug, Clone)]
pub struct UndoLog<E> {
    /// Oldest first; empty outside a block (nothing can roll a change back there).
    log: Vec<E>,
    /// The log's length where the block began and at each savepoint.
    rollbacks: Rollbacks<usize>,
}

impl<E> UndoLog<E> {
    /// `runner_transaction`: the draft's migration tool runs it in a transaction block.
    pub fn new(runner_transaction: bool) -> Self {
        UndoLog { log: Vec::new(), rollbacks: Rollbacks::new(runner_transaction) }
    }

    /// A change was made: kept only inside a transaction block or a psql `\if` block (`change`
    /// is not called outside them, where most of a big draft's changes are).
    pub fn record(&mut self, change: impl FnOnce() -> E) {
        if self.rollbacks.in_block() || self.rollbacks.in_branch() {
            self.log.push(change());
        }
    }

    /// Is a transaction block open (the draft's own, or its tool's)?
    pub fn in_block(&self) -> bool {
        self.rollbacks.in_block()
    }

    /// Op `kind` runs: the changes it undoes, newest first (none unless it is a rollback or the
    /// end of a psql branch).
    pub fn follow(&mut self, kind: &OpKind) -> Vec<E> {
        let logged = self.log.len();
        let mut undone = match self.rollbacks.follow(kind, || logged) {
            Some(back) => {
                let undone = self.log.split_off(back.min(self.log.len()));
                self.rollbacks.cut_to(self.log.len());
                undone
            }
            None => Vec::new(),
        };
        if !self.rollbacks.in_block() && !self.rollbacks.in_branch() {
            self.log.clear();
        }
        undone.reverse();
        undone
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use SavepointAction::{Release, RollbackTo, Set};

    #[test]
    fn a_block_puts_back_what_its_begin_or_savepoint_found() {
        let savepoint = |action| OpKind::Savepoint { name: "s".into(), action };
        let (commit, rollback) = (OpKind::Commit { rollback: false }, OpKind::Commit { rollback: true });
        let mut r = Rollbacks::new(false);
        assert!(!r.in_block());
        assert_eq!(r.follow(&OpKind::Begin, || 1), None);
        // A BEGIN inside the block starts nothing: the rollback goes back to the first.
        assert_eq!(r.follow(&OpKind::Begin, || 2), None);
        assert_eq!(r.follow(&savepoint(Set), || 3), None);
        assert_eq!(r.follow(&savepoint(RollbackTo), || 4), Some(3));
        assert_eq!(r.follow(&rollback, || 5), Some(1));
        assert!(!r.in_block());
        // A committed block leaves nothing to put back, and a savepoint outside one is refused.
        r.follow(&OpKind::Begin, || 6);
        assert_eq!(r.follow(&commit, || 7), None);
        r.follow(&savepoint(Set), || 8);
        assert_eq!(r.follow(&savepoint(RollbackTo), || 9), None);
        // In the tool's block, savepoints work, but no BEGIN of the draft's was found to go back to.
        let mut tool = Rollbacks::new(true);
        tool.follow(&savepoint(Set), || 1);
        assert_eq!(tool.follow(&savepoint(RollbackTo), || 2), Some(1));
        assert_eq!(tool.follow(&rollback, || 3), None);
    }

    #[test]
    fn an_undo_log_gives_back_what_a_rollback_undoes_newest_first() {
        let savepoint = |action| OpKind::Savepoint { name: "s".into(), action };
        let mut log = UndoLog::new(false);
        log.record(|| 0);
        assert!(log.follow(&OpKind::Begin).is_empty());
        log.record(|| 1);
        log.follow(&savepoint(Set));
        log.record(|| 2);
        log.record(|| 3);
        assert_eq!(log.follow(&savepoint(RollbackTo)), [3, 2]);
        log.record(|| 4);
        // The change made outside the block is not the block's to undo.
        assert_eq!(log.follow(&OpKind::Commit { rollback: true }), [4, 1]);
        log.record(|| 5);
        assert!(log.follow(&OpKind::Commit { rollback: true }).is_empty());
    }

    #[test]
    fn a_rollback_returns_to_the_newest_savepoint_of_its_name() {
        let mut s = Savepoints::default();
        s.run("a", Set, || 1);
        s.run("b", Set, || 2);
        s.run("a", Set, || 3);
        assert_eq!(s.run("a", RollbackTo, || 9), Some(3));
        // It stays, and can be rolled back to again.
        assert_eq!(s.run("a", RollbackTo, || 9), Some(3));
        // Releasing the newest `a` leaves the older one and `b`.
        s.run("a", Release, || 9);
        assert_eq!(s.run("b", RollbackTo, || 9), Some(2));
        // Rolling back to `b` destroyed nothing before it: the first `a` is still there.
        assert_eq!(s.run("a", RollbackTo, || 9), Some(1));
        // …and `b`, set after it, is gone.
        assert_eq!(s.run("b", RollbackTo, || 9), None);
        s.clear();
        assert_eq!(s.run("a", RollbackTo, || 9), None);
    }

    #[test]
    fn a_psql_branch_puts_back_what_its_if_found_where_it_ends() {
        let psql = |p| OpKind::Psql(p);
        let mut r = Rollbacks::new(false);
        assert_eq!(r.follow(&psql(Psql::If), || 1), None);
        assert!(r.in_branch() && !r.in_block());
        assert_eq!(r.follow(&psql(Psql::If), || 2), None);
        assert_eq!(r.follow(&psql(Psql::Else), || 3), Some(2));
        assert_eq!(r.follow(&psql(Psql::EndIf), || 4), Some(2));
        assert_eq!(r.follow(&psql(Psql::Else), || 5), Some(1));
        assert_eq!(r.follow(&psql(Psql::EndIf), || 6), Some(1));
        assert!(!r.in_branch());
        // An `\endif` without its `\if` (psql refuses it) puts nothing back.
        assert_eq!(r.follow(&psql(Psql::EndIf), || 7), None);
    }

    #[test]
    fn an_undo_log_gives_back_what_a_psql_branch_did() {
        let psql = |p| OpKind::Psql(p);
        let mut log = UndoLog::new(false);
        log.record(|| 0);
        assert!(log.follow(&psql(Psql::If)).is_empty());
        log.record(|| 1);
        log.record(|| 2);
        assert_eq!(log.follow(&psql(Psql::Else)), [2, 1]);
        log.record(|| 3);
        assert_eq!(log.follow(&psql(Psql::EndIf)), [3]);
        // Outside both kinds of block nothing is kept.
        log.record(|| 4);
        assert!(log.follow(&OpKind::Commit { rollback: true }).is_empty());
        // A rollback inside a branch to a BEGIN before it, then the branch's end: each change is
        // given back once.
        log.follow(&OpKind::Begin);
        log.record(|| 5);
        log.follow(&psql(Psql::If));
        log.record(|| 6);
        assert_eq!(log.follow(&OpKind::Commit { rollback: true }), [6, 5]);
        log.record(|| 7);
        assert_eq!(log.follow(&psql(Psql::EndIf)), [7]);
        // A BEGIN inside a branch rolled back after it.
        log.follow(&psql(Psql::If));
        log.follow(&OpKind::Begin);
        log.record(|| 8);
        assert_eq!(log.follow(&psql(Psql::EndIf)), [8]);
        log.record(|| 9);
        assert_eq!(log.follow(&OpKind::Commit { rollback: true }), [9]);
        // The same with changes logged before the branch: the BEGIN's mark is cut with the log.
        log.follow(&OpKind::Begin);
        log.record(|| 10);
        log.follow(&psql(Psql::If));
        log.follow(&OpKind::Savepoint { name: "s".into(), action: SavepointAction::Set });
        log.record(|| 11);
        assert_eq!(log.follow(&psql(Psql::EndIf)), [11]);
        log.record(|| 12);
        let s = OpKind::Savepoint { name: "s".into(), action: SavepointAction::RollbackTo };
        assert_eq!(log.follow(&s), [12]);
        assert_eq!(log.follow(&OpKind::Commit { rollback: true }), [10]);
    }
}
