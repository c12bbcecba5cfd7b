//! Session state the draft creates and uses later: temporary tables, sequences and views, prepared
//! statements, cursors. Each step of a plan runs in a new session, where that state does not exist,
//! so the statements from the one that creates it to the last that uses it must stay in one step.
//!
//! This is lowering-level knowledge (it reads statement text): what creates an object is read from
//! the statement's first words; a *use* is any later statement that mentions the object's name —
//! as a word, inside a string (`nextval('s')`, `EXECUTE 'SELECT … FROM t'`) or inside a function or
//! `DO` body. A mention that is not a use only keeps more statements together, which is safe.
//! Settings (`SET`, `SET ROLE`) are not here: the planner repeats them at the top of later steps.

use super::migration::{Migration, Section};
use crate::front::tokens::{fold_word, Lexer, Tok};
use std::collections::HashMap;

/// What kind of session object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    TempTable,
    TempSequence,
    TempView,
    /// A function or procedure made in `pg_temp`.
    TempFunction,
    Prepared,
    Cursor,
}

impl Kind {
    pub fn describe(self) -> &'static str {
        match self {
            Kind::TempTable => "temporary table",
            Kind::TempSequence => "temporary sequence",
            Kind::TempView => "temporary view",
            Kind::TempFunction => "temporary function",
            Kind::Prepared => "prepared statement",
            Kind::Cursor => "cursor",
        }
    }
}

/// What a `DO` block does to its session that the statements after it would see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeChange {
    /// `SET`, `RESET`, `set_config(…, false)`, `DISCARD`.
    Setting,
    /// A temporary table, view, sequence or function.
    TemporaryObject,
    /// `ALTER DATABASE|ROLE|USER … SET`: a default for the sessions that start after it.
    NewSessionDefault,
    /// A call of a built-in that changes the session (`setseed`, `set_limit`, `dblink_connect`:
    /// `session_calls`).
    SessionState,
}

impl CodeChange {
    pub fn describe(self) -> &'static str {
        match self {
            CodeChange::Setting => "makes a setting",
            CodeChange::TemporaryObject => "creates a temporary object",
            CodeChange::NewSessionDefault => "changes a setting's default for new sessions",
            CodeChange::SessionState => "changes its session (a random seed, a similarity limit, a dblink connection)",
        }
    }
}

/// What a `DO` block's body does to its session, as far as its words show, in the strings it
/// `EXECUTE`s too (`EXECUTE format('ALTER DATABASE %I SET search_path = …', …)`): each later
/// step of a plan runs in a new session, which would not have it (a `search_path` set by
/// `set_config` inside a `DO` made the plan build an index on another schema's table). A word
/// that is no such change only keeps more statements as written, which is safe.
pub fn changed_by_code(text: &str) -> Option<CodeChange> {
    let mut toks = Lexer::new(text);
    if !toks.next().is_some_and(|t| t.is_word("do")) {
        return None;
    }
    toks.filter(|t| t.tok == Tok::Literal).find_map(|t| code_words(super::lower::string_body(&text[t.span.clone()]), 1))
}

/// What the body of a function or procedure does to the session that calls it (as
/// [`changed_by_code`] reads a `DO` block's).
pub fn changed_by_body(body: &str) -> Option<CodeChange> {
    code_words(body, 1)
}

/// [`changed_by_code`] on one body; `depth`: how many more levels of strings to read.
fn code_words(body: &str, depth: u8) -> Option<CodeChange> {
    // At the start of a PL/pgSQL statement (or of an `EXECUTE`d string).
    let mut at_start = true;
    let (mut after_alter, mut names_an_object) = (false, false);
    let mut toks = Lexer::new(body).peekable();
    while let Some(t) = toks.next() {
        let word = |w: &str| t.is_word(w);
        let next_is = |toks: &mut std::iter::Peekable<Lexer<'_>>, ws: &[&str]| {
            toks.peek().is_some_and(|n| ws.iter().any(|w| n.is_word(w)))
        };
        // `SET LOCAL`, `SET CONSTRAINTS` and `SET TRANSACTION` end with the block's transaction.
        let setting = (word("set") && !next_is(&mut toks, &["local", "constraints", "transaction"]))
            || word("reset")
            || word("discard");
        if at_start && setting || word("set_config") {
            return Some(CodeChange::Setting);
        }
        // `pg_temp.f()` calls a temporary function made earlier; `CREATE FUNCTION pg_temp.f`
        // makes one.
        if word("temp") || word("temporary") || names_an_object && word("pg_temp") {
            return Some(CodeChange::TemporaryObject);
        }
        if ["setseed", "set_limit", "dblink_connect", "dblink_connect_u"].iter().any(|w| word(w)) {
            return Some(CodeChange::SessionState);
        }
        if after_alter && (word("database") || word("role") || word("user")) {
            return Some(CodeChange::NewSessionDefault);
        }
        if t.tok == Tok::Literal && depth > 0 {
            if let Some(change) = code_words(super::lower::string_body(&body[t.span.clone()]), depth - 1) {
                return Some(change);
            }
        }
        after_alter = word("alter");
        names_an_object = ["function", "procedure", "table", "view", "sequence", "exists"].iter().any(|w| word(w));
        at_start = t.is_punct(';') || word("begin") || word("then") || word("else") || word("loop");
    }
    None
}

/// One session object: where it is created and the last statement that uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionObject {
    pub name: String,
    pub kind: Kind,
    pub created: usize,
    pub last_use: usize,
    /// Made `ON COMMIT DELETE ROWS` or `ON COMMIT DROP`: what it holds depends on where each
    /// transaction ends, so the statements that use it must commit where the draft's do.
    pub ends_with_commits: bool,
}

/// Every session object of the draft's up section that a later statement uses.
pub fn session_objects(m: &Migration<'_>) -> Vec<SessionObject> {
    let mut found: Vec<SessionObject> = Vec::new();
    // Live objects by folded name → index in `found`.
    let mut live: HashMap<String, usize> = HashMap::new();
    // A call of a function the draft creates uses what its body names (a temporary table read
    // only through a function the draft made).
    let mut bodies = Bodies { m, made: HashMap::new(), read: HashMap::new() };
    for (i, s) in m.stmts.iter().enumerate() {
        if s.section != Section::Up || s.is_trivia() {
            continue;
        }
        let text = m.text(&s.body);
        // With nothing live, only a statement that may create an object needs reading.
        let may_create = || Lexer::new(text).next().is_some_and(|t| CREATING.iter().any(|w| t.is_word(w)));
        if live.is_empty() && !may_create() {
            continue;
        }
        let head = head(text);
        if let Some(name) = function_made(text, &head) {
            bodies.made.insert(name, i);
        }
        // A `search_path` that names `pg_temp` may put an unqualified new object there (first in
        // the path, or after schemas that do not exist): counted as temporary, which only keeps
        // more statements together.
        let temp_path = m.search_path_at(i).iter().any(|schema| schema == "pg_temp");
        let created = creates(text, &head, temp_path);
        if live.is_empty() && created.is_none() {
            continue;
        }
        // Uses: every word and every identifier-like piece of a string or body, and what the
        // bodies of the functions it calls name.
        let used = words(text);
        let named = used.iter().filter_map(|w| live.get(w.as_str()).copied());
        let uses: Vec<usize> = named.chain(bodies.reached(&used, &live)).collect();
        for &k in &uses {
            found[k].last_use = i;
        }
        let uses_live = !uses.is_empty();
        // `DROP`/`DEALLOCATE`/`CLOSE`/`DISCARD` end what they name (a later same name is another).
        if matches!(head.first().map(String::as_str), Some("drop" | "deallocate" | "close" | "discard")) {
            let all = head.first().is_some_and(|w| w == "discard") || head.get(1).is_some_and(|w| w == "all");
            live.retain(|name, _| !all && !used.contains(name));
        }
        // A view over a temporary relation is temporary too.
        let created =
            created.or_else(|| (uses_live && is_view(&head)).then_some((Kind::TempView, view_name_at(&head))));
        if let Some((kind, at)) = created {
            if let Some(name) = name_after(text, at) {
                live.insert(name.clone(), found.len());
                let ends_with_commits = used.windows(2).any(|w| w[0] == "on" && w[1] == "commit");
                found.push(SessionObject { name, kind, created: i, last_use: i, ends_with_commits });
            }
        }
    }
    found.retain(|o| o.last_use > o.created);
    found
}

/// Every word of `text` and every identifier-like piece of its strings and bodies, folded.
fn words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    for t in Lexer::new(text) {
        match t.tok {
            Tok::Word(w) => words.push(fold_word(w)),
            Tok::Quoted(q) => words.push(q),
            Tok::Literal => words.extend(
                text[t.span.clone()]
                    .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$'))
                    .filter(|w| !w.is_empty())
                    .map(str::to_lowercase),
            ),
            Tok::Punct(_) => {}
        }
    }
    words
}

/// The functions and procedures the draft creates.
struct Bodies<'m, 'a> {
    m: &'m Migration<'a>,
    /// Where each is created (its last `CREATE [OR REPLACE]`), by folded name.
    made: HashMap<String, usize>,
    /// The words of those a call has needed so far, by statement: read once, and only where a
    /// call meets a live object (a 100 MB function body is not held for nothing).
    read: HashMap<usize, Vec<String>>,
}

impl Bodies<'_, '_> {
    /// The live objects that the bodies of the functions `used` names name, and of the
    /// functions those name, each body read once per call (a function that calls itself ends).
    fn reached(&mut self, used: &[String], live: &HashMap<String, usize>) -> Vec<usize> {
        let Bodies { m, made, read } = self;
        let mut found = Vec::new();
        if made.is_empty() || live.is_empty() {
            return found;
        }
        let mut next: Vec<usize> = used.iter().filter_map(|w| made.get(w.as_str()).copied()).collect();
        let mut seen = Vec::new();
        while let Some(at) = next.pop() {
            if seen.contains(&at) {
                continue;
            }
            seen.push(at);
            for w in read.entry(at).or_insert_with(|| words(m.text(&m.stmts[at].body))).iter() {
                found.extend(live.get(w.as_str()));
                next.extend(made.get(w.as_str()));
            }
        }
        found
    }
}

/// The folded name of the function or procedure `CREATE [OR REPLACE] FUNCTION|PROCEDURE`
/// makes (temporary or not), if that is what the statement is.
fn function_made(text: &str, head: &[String]) -> Option<String> {
    let w = |i: usize| head.get(i).map(String::as_str).unwrap_or("");
    let at = if w(1) == "or" && w(2) == "replace" { 3 } else { 1 };
    (w(0) == "create" && matches!(w(at), "function" | "procedure")).then(|| name_after(text, at)).flatten()
}

/// The first words of a statement, lower-cased (words only, up to the object's name).
fn head(text: &str) -> Vec<String> {
    Lexer::new(text)
        .take(8)
        .map(|t| match t.tok {
            Tok::Word(w) => fold_word(w),
            Tok::Quoted(q) => format!("\"{q}"),
            _ => String::new(),
        })
        .collect()
}

/// The first words of the statements that may create a session object (see [`creates`]).
const CREATING: [&str; 4] = ["prepare", "declare", "create", "select"];

/// Does the statement `text`, starting with `head`, create a session object? Its kind and the
/// index of the token after which its name comes. `temp_path`: the `search_path` names
/// `pg_temp`, so an unqualified name may be made there.
fn creates(text: &str, head: &[String], temp_path: bool) -> Option<(Kind, usize)> {
    let w = |i: usize| head.get(i).map(String::as_str).unwrap_or("");
    // Is the name after token `at` written without a schema?
    let unqualified = |at: usize| Lexer::new(text).nth(at + 2).is_none_or(|t| t.tok != Tok::Punct('.'));
    match w(0) {
        "prepare" if w(1) != "transaction" => return Some((Kind::Prepared, 0)),
        "declare" => return Some((Kind::Cursor, 0)),
        "select" => {
            return selects_into(text, temp_path)
                .filter(|&(temp, at)| temp || unqualified(at))
                .map(|(_, at)| (Kind::TempTable, at))
        }
        "create" => {}
        _ => return None,
    }
    let mut i = 1;
    if w(i) == "or" && w(i + 1) == "replace" {
        i += 2;
    }
    if w(i) == "local" || w(i) == "global" {
        i += 1;
    }
    let temp = w(i) == "temp" || w(i) == "temporary";
    if temp {
        i += 1;
    }
    if w(i) == "unlogged" {
        i += 1;
    }
    let kind = match w(i) {
        "table" => Kind::TempTable,
        "sequence" => Kind::TempSequence,
        "view" => Kind::TempView,
        "recursive" if w(i + 1) == "view" => {
            i += 1;
            Kind::TempView
        }
        "function" | "procedure" if !temp => Kind::TempFunction,
        _ => return None,
    };
    if w(i + 1) == "if" && w(i + 2) == "not" && w(i + 3) == "exists" {
        i += 3;
    }
    // Without TEMP, an object is temporary when made in the session's own schema, `pg_temp`.
    let in_pg_temp = w(i + 1) == "pg_temp" && w(i + 2).is_empty();
    (temp || in_pg_temp || (temp_path && unqualified(i))).then_some((kind, i))
}

/// `SELECT … INTO TEMP[ORARY] [TABLE] name …` makes a temporary table (and, with `any_table`,
/// `SELECT … INTO name`: the caller judges where): whether `TEMP` was written and the index of
/// the token after which its name comes (an `INTO` at the top level, not in a subquery).
fn selects_into(text: &str, any_table: bool) -> Option<(bool, usize)> {
    let mut depth = 0i32;
    let toks: Vec<_> = Lexer::new(text).collect();
    for (k, t) in toks.iter().enumerate() {
        match t.tok {
            Tok::Punct('(') => depth += 1,
            Tok::Punct(')') => depth -= 1,
            _ if depth == 0 && t.is_word("into") => {
                let temp = toks.get(k + 1).is_some_and(|n| n.is_word("temp") || n.is_word("temporary"));
                let unlogged = !temp && toks.get(k + 1).is_some_and(|n| n.is_word("unlogged"));
                let table = toks.get(k + 1 + usize::from(temp || unlogged)).is_some_and(|n| n.is_word("table"));
                let at = k + usize::from(temp || unlogged) + usize::from(table);
                return (temp || any_table).then_some((temp, at));
            }
            _ => {}
        }
    }
    None
}

fn is_view(head: &[String]) -> bool {
    head.first().is_some_and(|w| w == "create") && head.iter().take(5).any(|w| w == "view")
}

fn view_name_at(head: &[String]) -> usize {
    head.iter().position(|w| w == "view").unwrap_or(0)
}

/// The (unqualified, folded) name that follows token `at` of `text`.
fn name_after(text: &str, at: usize) -> Option<String> {
    let mut toks = Lexer::new(text).skip(at + 1);
    let mut name = None;
    loop {
        let t = toks.next()?;
        let Some(part) = t.ident() else { return name };
        name = Some(part);
        match toks.next() {
            Some(t) if t.tok == Tok::Punct('.') => continue,
            _ => return name,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::front::split::split;

    fn objects(src: &str) -> Vec<(String, Kind, usize, usize)> {
        let pieces = split(src).unwrap();
        let m = Migration::lower(src, &pieces);
        session_objects(&m).into_iter().map(|o| (o.name, o.kind, o.created, o.last_use)).collect()
    }

    #[test]
    fn a_call_of_a_function_uses_what_its_body_names() {
        // Made after the table, made before it and reached through another function; a
        // function that calls itself; a `DROP FUNCTION` ends no table its body names.
        let src = "create temp table leaving as select id from users;\n\
                   create function ids() returns setof bigint language sql as $$ select id from leaving $$;\n\
                   create function n() returns bigint language plpgsql as $$ begin return (select count(*) from staying); end $$;\n\
                   create or replace function counted() returns bigint language sql as $$ select public.n() $$;\n\
                   create function loop_forever() returns int language sql as $$ select loop_forever() $$;\n\
                   create temp table staying as select id from users;\n\
                   create index on users (name);\n\
                   drop function ids;\n\
                   update users set score = 1 where id in (select ids());\n\
                   select loop_forever();\n\
                   update users set score = counted() where id = 1;\n";
        assert_eq!(
            objects(src),
            vec![("leaving".into(), Kind::TempTable, 0, 8), ("staying".into(), Kind::TempTable, 5, 10)]
        );
    }

    #[test]
    fn temp_tables_views_and_prepared_statements_with_their_last_use() {
        let src = "create temporary table history as select entity, id from entities;\n\
                   create or replace view history_data as select e.* from entities e join history h using (id);\n\
                   create table new_entities as select * from history_data;\n\
                   update deployment_schemas set version = 'relational';\n\
                   drop view history_data;\n\
                   drop table history;\n\
                   CREATE INDEX i ON entities (id);\n";
        assert_eq!(
            objects(src),
            [("history".into(), Kind::TempTable, 0, 5), ("history_data".into(), Kind::TempView, 1, 4)]
        );
        let src = "PREPARE ins (int) AS INSERT INTO t VALUES ($1);\nSELECT 1;\nEXECUTE ins(2);\nSELECT 2;\n";
        assert_eq!(objects(src), [("ins".into(), Kind::Prepared, 0, 2)]);
        let src = "CREATE TEMP SEQUENCE s;\nSELECT 1;\nUPDATE t SET id = nextval('s');\n";
        assert_eq!(objects(src), [("s".into(), Kind::TempSequence, 0, 2)]);
        let src = "CREATE TEMP TABLE t (a int);\nDO $$ BEGIN INSERT INTO t VALUES (1); END $$;\n";
        assert_eq!(objects(src), [("t".into(), Kind::TempTable, 0, 1)]);
    }

    #[test]
    fn unused_or_dropped_objects_keep_nothing_together() {
        assert_eq!(objects("CREATE TEMP TABLE t (a int);\nCREATE INDEX i ON orders (a);\n"), []);
        let src = "CREATE TEMP TABLE t (a int);\nDROP TABLE t;\nCREATE INDEX i ON t (a);\n";
        assert_eq!(objects(src), [("t".into(), Kind::TempTable, 0, 1)]);
        assert_eq!(objects("CREATE TABLE t (a int);\nINSERT INTO t VALUES (1);\n"), []);
    }

    #[test]
    fn objects_made_in_pg_temp_and_select_into_temp_are_session_objects() {
        let src =
            "CREATE FUNCTION pg_temp.f(t text) RETURNS text AS $$ SELECT t $$ LANGUAGE sql;\nSELECT pg_temp.f('a');\n";
        assert_eq!(objects(src), [("f".into(), Kind::TempFunction, 0, 1)]);
        let src = "CREATE TABLE IF NOT EXISTS pg_temp.t AS SELECT 1 AS a;\nINSERT INTO log SELECT a FROM t;\n";
        assert_eq!(objects(src), [("t".into(), Kind::TempTable, 0, 1)]);
        let src =
            "SELECT a, (SELECT 1 INTO x) INTO TEMP TABLE t FROM s;\nSELECT 2;\nINSERT INTO log SELECT a FROM t;\n";
        assert_eq!(objects(src), [("t".into(), Kind::TempTable, 0, 2)]);
        // An unqualified name under a search_path that names pg_temp may be made there (here it
        // hides a permanent table of the same name); a qualified one is not.
        let src = "SET search_path = pg_temp, public;\nCREATE TABLE notes (a int);\nCREATE INDEX i ON o (a);\n\
                   DELETE FROM notes;\nSELECT 1 INTO copy;\nSELECT a FROM copy;\nCREATE TABLE public.kept (a int);\n\
                   INSERT INTO kept VALUES (1);\n";
        assert_eq!(objects(src), [("notes".into(), Kind::TempTable, 1, 3), ("copy".into(), Kind::TempTable, 4, 5)]);
        // Made elsewhere, or a SELECT INTO a permanent table: not session state.
        assert_eq!(objects("CREATE FUNCTION app.f() RETURNS int AS 'SELECT 1' LANGUAGE sql;\nSELECT app.f();\n"), []);
        assert_eq!(objects("SELECT a INTO copy FROM s;\nINSERT INTO log SELECT a FROM copy;\n"), []);
    }
}

#[cfg(test)]
mod code_change_tests {
    use super::*;

    #[test]
    fn a_do_block_changes_its_session_only_where_its_words_show_it() {
        let change = |sql: &str| changed_by_code(sql);
        assert_eq!(
            change("DO $$BEGIN PERFORM set_config('search_path', 's', false); END$$"),
            Some(CodeChange::Setting)
        );
        assert_eq!(change("DO $$ BEGIN SET search_path = s, public; END $$"), Some(CodeChange::Setting));
        assert_eq!(change("DO $$BEGIN CREATE TEMP TABLE x AS SELECT 1; END$$"), Some(CodeChange::TemporaryObject));
        // In the strings it EXECUTEs too.
        assert_eq!(
            change("DO $$BEGIN EXECUTE format('ALTER DATABASE %I SET search_path = s', current_database()); END$$"),
            Some(CodeChange::NewSessionDefault)
        );
        assert_eq!(change("DO $$BEGIN EXECUTE 'SET work_mem = ''1GB'''; END$$"), Some(CodeChange::Setting));
        // A built-in that changes the session (found by a probe: `setseed` before a draw).
        assert_eq!(change("DO $$BEGIN PERFORM setseed(0.42); END$$"), Some(CodeChange::SessionState));
        assert_eq!(change("DO $$BEGIN PERFORM public.set_limit(0.6); END$$"), Some(CodeChange::SessionState));
        // Not a session change: an UPDATE's SET, a setting that ends with the block's transaction,
        // conditional DDL.
        assert_eq!(change("DO $$BEGIN UPDATE t SET a = 1; EXECUTE 'UPDATE t SET b = 2'; END$$"), None);
        assert_eq!(change("DO $$BEGIN SET LOCAL lock_timeout = '1s'; SET CONSTRAINTS ALL DEFERRED; END$$"), None);
        assert_eq!(
            change("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_type WHERE typname = 'x') THEN CREATE TYPE x AS ENUM ('a'); END IF; END $$"),
            None
        );
        assert_eq!(change("SELECT set_config('search_path', 's', false)"), None, "lowered as the SET it is");
        // A function made in pg_temp is temporary; a call of one made earlier makes nothing.
        let in_pg_temp =
            "DO $$BEGIN EXECUTE 'CREATE FUNCTION pg_temp.f() RETURNS int LANGUAGE sql AS $f$SELECT 1$f$'; END$$";
        assert_eq!(change(in_pg_temp), Some(CodeChange::TemporaryObject));
        let table = "DO $$BEGIN CREATE TABLE IF NOT EXISTS pg_temp.t (a int); END$$";
        assert_eq!(change(table), Some(CodeChange::TemporaryObject));
        assert_eq!(change("DO $$DECLARE id text; BEGIN id := pg_temp.generate_ulid(); END$$"), None);
    }
}
