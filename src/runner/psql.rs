//! psql (`psql -X -v ON_ERROR_STOP=1 -f FILE`), the default: psql sends statements one at a time,
//! so one file can hold the whole plan, each transaction step with its own `BEGIN`/`COMMIT` and
//! each autocommit statement outside them. `pgsafe fix` replaces the draft with that file (the
//! flattened plan); `pgsafe rewrite` writes one numbered file per step and `manifest.json`.

use super::{Layout, Placement};
use crate::Compilation;

pub fn lay_out(c: &Compilation, at: &Placement) -> Result<Layout, String> {
    let mut out = Layout::default();
    out.add(at.draft.clone(), c.flattened());
    Ok(out)
}
