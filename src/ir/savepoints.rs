//! The savepoints of a transaction block as PostgreSQL keeps them, each with what a tracker of the
//! draft's state must put back when the draft rolls back to it: the catalogue (`timeline`), the
//! settings a plan replays (`plan`), the search path (`migration`), the timeouts (`timeouts`).

use super::op::SavepointAction;

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
        let at = self.0.iter().rposition(|(n, _)| n == name);
        match (action, at) {
            (SavepointAction::Set, _) => self.0.push((name.to_string(), now())),
            (SavepointAction::Release, Some(k)) => self.0.truncate(k),
            (SavepointAction::RollbackTo, Some(k)) => {
                self.0.truncate(k + 1);
                return Some(self.0[k].1.clone());
            }
            (_, None) => {}
        }
        None
    }

    /// The transaction ended (or began): its savepoints end with it.
    pub fn clear(&mut self) {
        self.0.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use SavepointAction::{Release, RollbackTo, Set};

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
}
