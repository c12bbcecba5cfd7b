//! Input errors: what is wrong and where (file:line:column). Never a panic.

use crate::source::Source;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    /// `file:line:column`, or just the file name when there is no position.
    pub at: String,
    /// The line and column of `at` (1-based), for reports that give them apart (SARIF, JSON,
    /// GitHub annotations).
    pub line_col: Option<(usize, usize)>,
    pub message: String,
}

impl InputError {
    /// An error at byte `offset` of `source`.
    pub fn located(source: &Source, offset: usize, message: impl Into<String>) -> InputError {
        InputError { at: source.position(offset), line_col: Some(source.line_col(offset)), message: message.into() }
    }

    /// An error about a whole file (or directory).
    pub fn in_file(name: impl Into<String>, message: impl Into<String>) -> InputError {
        InputError { at: name.into(), line_col: None, message: message.into() }
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.at, self.message)
    }
}

impl std::error::Error for InputError {}
