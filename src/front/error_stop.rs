//! `\set ON_ERROR_STOP off` (or `\unset ON_ERROR_STOP`): psql then goes on past a statement that
//! fails. A plan cannot mean the same: a step's transaction rolls back the statements beside a
//! failing one (psql goes on with the next step), and a lock timeout, which pgsafe adds to bound
//! the lock queue, would make psql skip the statement it stopped where the draft waited and ran
//! it. So the split refuses the file, naming the command.

use super::split::{Piece, PieceKind};

/// The offset of the first psql command among `pieces` that lets errors pass, if any.
pub fn turned_off_at(src: &str, pieces: &[Piece]) -> Option<usize> {
    // Only a text that names the variable at all is read.
    memchr::memmem::find(src.as_bytes(), b"ON_ERROR_STOP")?;
    pieces.iter().find_map(|p| match &p.kind {
        PieceKind::Meta { body } if lets_errors_pass(&src[body.clone()]) => Some(body.start),
        _ => None,
    })
}

/// `\set ON_ERROR_STOP v` with a `v` psql does not read as true (a unique prefix of `true`, `yes`,
/// `on`, or `1`; a variable's value pgsafe cannot read either), or `\unset ON_ERROR_STOP` (off,
/// psql's default). The variable's name is case-sensitive, as psql's are.
fn lets_errors_pass(command: &str) -> bool {
    let mut words = command.split_whitespace();
    let (Some(name), Some("ON_ERROR_STOP")) = (words.next(), words.next()) else { return false };
    match name {
        "\\unset" => true,
        "\\set" => {
            let value = words.collect::<String>().trim_matches('\'').to_ascii_lowercase();
            let on = ["true", "yes", "1"].iter().any(|w| !value.is_empty() && w.starts_with(value.as_str()));
            !(on || value == "on")
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::lets_errors_pass;

    #[test]
    fn the_ways_to_let_errors_pass_are_found() {
        for off in
            ["\\set ON_ERROR_STOP off", "\\set ON_ERROR_STOP 0", "\\set ON_ERROR_STOP FALSE", "\\unset ON_ERROR_STOP"]
        {
            assert!(lets_errors_pass(off), "{off}");
        }
        assert!(lets_errors_pass("\\set ON_ERROR_STOP :stop"), "a value pgsafe cannot read");
        for on in
            ["\\set ON_ERROR_STOP on", "\\set ON_ERROR_STOP 1", "\\set ON_ERROR_STOP t", "\\set ON_ERROR_STOP 'true'"]
        {
            assert!(!lets_errors_pass(on), "{on}");
        }
        assert!(!lets_errors_pass("\\set on_error_stop off"), "another variable: psql's names are case-sensitive");
        assert!(!lets_errors_pass("\\echo ON_ERROR_STOP off"));
    }
}
