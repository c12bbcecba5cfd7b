//! The plain-text report of `pgsafe check`: one line per finding, `file:line:column rule message`.

use super::Outcome;
use crate::Compilation;

pub fn findings(_o: &Outcome, c: &Compilation) -> String {
    crate::diff::render_findings(c)
}
