//! The lock model: which table-level lock a migration operation takes, and what ordinary traffic
//! that lock blocks. Values agree with `../shared/reference/pg15-locks.md` (measured on PostgreSQL 15);
//! `tests/lock_model.rs` keeps them honest against that table.

use serde::Serialize;
use std::fmt;

/// PostgreSQL's table lock modes, weakest first, so `Ord` compares strength.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum LockMode {
    AccessShare,
    RowShare,
    RowExclusive,
    ShareUpdateExclusive,
    Share,
    ShareRowExclusive,
    Exclusive,
    AccessExclusive,
}

impl LockMode {
    /// The SQL spelling, as `LOCK TABLE` and the PostgreSQL docs write it.
    pub fn sql_name(self) -> &'static str {
        match self {
            LockMode::AccessShare => "ACCESS SHARE",
            LockMode::RowShare => "ROW SHARE",
            LockMode::RowExclusive => "ROW EXCLUSIVE",
            LockMode::ShareUpdateExclusive => "SHARE UPDATE EXCLUSIVE",
            LockMode::Share => "SHARE",
            LockMode::ShareRowExclusive => "SHARE ROW EXCLUSIVE",
            LockMode::Exclusive => "EXCLUSIVE",
            LockMode::AccessExclusive => "ACCESS EXCLUSIVE",
        }
    }

    /// Does this lock make plain `SELECT`s wait?
    pub fn blocks_reads(self) -> bool {
        self == LockMode::AccessExclusive
    }

    /// Does this lock make `INSERT`/`UPDATE`/`DELETE` wait? (They take ROW EXCLUSIVE.)
    pub fn blocks_writes(self) -> bool {
        self >= LockMode::Share
    }

    /// What ordinary traffic waits while this lock is held or queued for.
    pub fn blocks(self) -> &'static str {
        if self.blocks_reads() {
            "reads and writes"
        } else if self.blocks_writes() {
            "writes"
        } else {
            "no reads or writes"
        }
    }
}

impl fmt::Display for LockMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.sql_name())
    }
}

/// A lock an operation takes on one relation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LockUse {
    /// The table as the draft wrote it.
    pub table: super::name::Name,
    pub mode: LockMode,
    /// The operation reads every row (or rewrites the table) while holding the lock.
    pub scans: bool,
}
