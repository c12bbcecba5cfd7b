//! Built-in calls that change the session the statements after them run in: `setseed` (what
//! `random()` draws next), pg_trgm's `set_limit` (the threshold of its `%` operator), dblink's
//! named connections, and session-level advisory locks (held to their unlock or to the session's
//! end, not the transaction's). Each step of a plan runs in a new session, which would have none
//! of them, so the statements from the call on stay in one step: for a lock to its unlock, else
//! to the end of the draft (what reads a seed or a threshold cannot be bounded: a trigger, a
//! default or a view may).
//!
//! Read from the words of a statement that runs a query (not from a string, a function body or
//! what a `CREATE` defines): a call inside a `DO` block or a function the draft creates is read
//! by `session::changed_by_code`. A word that is no such call only keeps more as written.

use super::migration::{Migration, Section};
use crate::front::tokens::{Lexer, Tok, Token};

/// What a call leaves in its session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// `setseed(…)`: what `random()` draws next.
    Seed,
    /// pg_trgm's `set_limit(…)`: `pg_trgm.similarity_threshold`, which `%` reads.
    SimilarityLimit,
    /// `dblink_connect[_u](…)`: a named connection.
    RemoteConnection,
    /// `pg_[try_]advisory_lock[_shared](…)`: a lock held to its unlock or the session's end.
    AdvisoryLock,
}

impl Effect {
    pub fn describe(self) -> &'static str {
        match self {
            Effect::Seed => "seeds random() for the rest of the session",
            Effect::SimilarityLimit => {
                "sets pg_trgm.similarity_threshold, which the % operator reads, for the rest of the session"
            }
            Effect::RemoteConnection => "opens a dblink connection that lives as long as the session",
            Effect::AdvisoryLock => {
                "takes a session-level advisory lock, held to its pg_advisory_unlock or the session's end (a COMMIT does not release it)"
            }
        }
    }

    fn of(function: &str) -> Option<Effect> {
        match function {
            "setseed" => Some(Effect::Seed),
            "set_limit" => Some(Effect::SimilarityLimit),
            "dblink_connect" | "dblink_connect_u" => Some(Effect::RemoteConnection),
            "pg_advisory_lock" | "pg_advisory_lock_shared" | "pg_try_advisory_lock" | "pg_try_advisory_lock_shared" => {
                Some(Effect::AdvisoryLock)
            }
            _ => None,
        }
    }
}

/// A call, and the stretch of the draft it keeps in one session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionCall {
    /// The statement that calls it.
    pub at: usize,
    /// The last statement that relies on it (a lock's unlock); `None`: the end of the draft.
    pub until: Option<usize>,
    /// The call as written, its words folded (`pg_advisory_lock(4242)`).
    pub call: String,
    pub effect: Effect,
}

/// Every such call in the draft's up section, in draft order.
pub fn session_calls(m: &Migration<'_>) -> Vec<SessionCall> {
    let mut out: Vec<SessionCall> = Vec::new();
    // Session advisory locks held: (shared, key), the call in `out` that took it first, how many
    // times it is held (a session lock taken twice needs two unlocks).
    let mut held: Vec<((bool, String), usize, u32)> = Vec::new();
    for (i, s) in m.stmts.iter().enumerate() {
        if s.section != Section::Up || s.is_trivia() {
            continue;
        }
        for Call { function, args, text } in calls(m.text(&s.body)) {
            let shared = function.ends_with("_shared");
            if let Some(effect) = Effect::of(&function) {
                if effect == Effect::AdvisoryLock {
                    let key = (shared, args);
                    // Taken again while held: the first call's stretch covers it.
                    if let Some((_, _, count)) = held.iter_mut().find(|(k, _, _)| *k == key) {
                        *count += 1;
                        continue;
                    }
                    held.push((key, out.len(), 1));
                }
                // One stretch to the end is enough: the first call's.
                if effect != Effect::AdvisoryLock && out.iter().any(|c| c.effect == effect) {
                    continue;
                }
                out.push(SessionCall { at: i, until: None, call: text, effect });
                continue;
            }
            let ended: Vec<usize> = match function.as_str() {
                "pg_advisory_unlock_all" => (0..held.len()).collect(),
                "pg_advisory_unlock" | "pg_advisory_unlock_shared" => {
                    let key = (shared, args);
                    held.iter().position(|(k, _, _)| *k == key).into_iter().collect()
                }
                _ => Vec::new(),
            };
            for &k in ended.iter().rev() {
                let (_, first, count) = &mut held[k];
                *count = if function == "pg_advisory_unlock_all" { 0 } else { *count - 1 };
                if *count == 0 {
                    out[*first].until = Some(i);
                    held.remove(k);
                }
            }
        }
    }
    out
}

/// A call of a function [`Effect::of`] names, or of an advisory unlock.
struct Call {
    /// Its name, folded, without its schema.
    function: String,
    /// Its arguments' words, folded, one blank apart: the lock's key.
    args: String,
    /// The call as written, its words folded.
    text: String,
}

/// The calls in one statement that runs a query (`SELECT`, `WITH`, `VALUES` or a write).
fn calls(text: &str) -> Vec<Call> {
    let lower = text.to_ascii_lowercase();
    if !["setseed", "set_limit", "dblink_connect", "advisory_"].iter().any(|w| lower.contains(w)) {
        return Vec::new();
    }
    let toks: Vec<Token<'_>> = Lexer::new(text).collect();
    let runs_a_query = ["select", "with", "values", "insert", "update", "delete", "merge"];
    if !toks.first().is_some_and(|t| runs_a_query.iter().any(|w| t.is_word(w))) {
        return Vec::new();
    }
    let word = |t: &Token<'_>| match t.tok {
        Tok::Word(w) => w.to_ascii_lowercase(),
        _ => text[t.span.clone()].to_string(),
    };
    let mut out = Vec::new();
    for (k, t) in toks.iter().enumerate() {
        let Tok::Word(w) = t.tok else { continue };
        let function = w.to_ascii_lowercase();
        let unlock = function.starts_with("pg_advisory_unlock");
        if (Effect::of(&function).is_none() && !unlock) || !toks.get(k + 1).is_some_and(|t| t.is_punct('(')) {
            continue;
        }
        // The arguments, to the matching `)`.
        let mut depth = 0;
        let mut end = toks.len();
        for (j, t) in toks.iter().enumerate().skip(k + 1) {
            if t.is_punct('(') {
                depth += 1;
            } else if t.is_punct(')') {
                depth -= 1;
                if depth == 0 {
                    end = j;
                    break;
                }
            }
        }
        let args = toks[k + 2..end].iter().map(word).collect::<Vec<_>>().join(" ");
        let text = format!("{function}({args})");
        out.push(Call { function, args, text });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(src: &str) -> Vec<(usize, Option<usize>, String, Effect)> {
        let m = Migration::split_and_lower(src).unwrap();
        session_calls(&m).into_iter().map(|c| (c.at, c.until, c.call, c.effect)).collect()
    }

    #[test]
    fn a_session_lock_holds_to_its_unlock_and_a_seed_to_the_end() {
        let lock = "SELECT pg_advisory_lock(4242);\nALTER TABLE t ADD c int;\nSELECT pg_advisory_unlock(4242);\n";
        assert_eq!(found(lock), [(0, Some(2), "pg_advisory_lock(4242)".into(), Effect::AdvisoryLock)]);
        // Another key, or the shared kind, is another lock: held to the end.
        let other = lock.replace("unlock(4242)", "unlock(1)");
        assert_eq!(found(&other), [(0, None, "pg_advisory_lock(4242)".into(), Effect::AdvisoryLock)]);
        let shared = lock.replace("unlock(", "unlock_shared(");
        assert_eq!(found(&shared)[0].1, None);
        assert_eq!(found(&lock.replace("lock(4242)", "lock_shared(4242)"))[0].1, Some(2));
        // Taken twice, released twice; unlock_all releases all.
        let twice = format!("SELECT pg_try_advisory_lock(1, 2);\n{lock}SELECT pg_advisory_unlock(1,2);\n");
        assert_eq!(found(&twice).iter().map(|c| (c.0, c.1)).collect::<Vec<_>>(), [(0, Some(4)), (1, Some(3))]);
        let all = "SELECT pg_advisory_lock(1);\nSELECT pg_advisory_lock(1);\nSELECT pg_advisory_unlock_all();\n";
        assert_eq!(found(all).iter().map(|c| (c.0, c.1)).collect::<Vec<_>>(), [(0, Some(2))]);
        // The transaction's kind ends with its transaction (transactions::regions keeps that).
        assert!(found("SELECT pg_advisory_xact_lock(1);\nSELECT 1;\n").is_empty());
        let seed = "SELECT setseed(0.42);\nUPDATE t SET b = random();\nSELECT pg_catalog.setseed(0.1);\n";
        assert_eq!(found(seed), [(0, None, "setseed(0.42)".into(), Effect::Seed)]);
        assert_eq!(found("SELECT public.set_limit(0.6);\n")[0].3, Effect::SimilarityLimit);
        assert_eq!(found("SELECT dblink_connect('c', 'dbname=x');\n")[0].3, Effect::RemoteConnection);
        // Not a call: in a string, or in what a CREATE defines (its body runs later, if at all).
        assert!(found("SELECT 'setseed(1)';\n").is_empty());
        assert!(found("CREATE FUNCTION f() RETURNS void BEGIN ATOMIC SELECT setseed(0.1); END;\n").is_empty());
    }
}
