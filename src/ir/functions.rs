//! What pgsafe knows about PostgreSQL's built-in functions: their volatility (as `pg_proc`
//! declares it) and whether they aggregate. An allow-list: a function not listed here, or one
//! qualified by a schema other than `pg_catalog`, is a user function and counts as volatile.

use super::expr::Volatility;

/// Built-ins whose result depends only on their arguments.
const IMMUTABLE: &[&str] = &[
    // strings
    "lower",
    "upper",
    "initcap",
    "trim",
    "btrim",
    "ltrim",
    "rtrim",
    "length",
    "char_length",
    "character_length",
    "octet_length",
    "bit_length",
    "substr",
    "substring",
    "replace",
    "translate",
    "left",
    "right",
    "lpad",
    "rpad",
    "repeat",
    "reverse",
    "split_part",
    "strpos",
    "position",
    "overlay",
    "md5",
    "sha224",
    "sha256",
    "sha384",
    "sha512",
    "encode",
    "decode",
    "regexp_replace",
    "regexp_match",
    "regexp_split_to_array",
    "regexp_like",
    "regexp_count",
    "regexp_instr",
    "regexp_substr",
    "starts_with",
    "ascii",
    "chr",
    "to_hex",
    "quote_ident",
    "quote_literal",
    "quote_nullable",
    "unistr",
    "normalize",
    "string_to_array",
    "convert_from",
    "convert_to",
    // numbers
    "abs",
    "round",
    "trunc",
    "floor",
    "ceil",
    "ceiling",
    "sign",
    "sqrt",
    "cbrt",
    "power",
    "pow",
    "exp",
    "ln",
    "log",
    "log10",
    "mod",
    "div",
    "gcd",
    "lcm",
    "width_bucket",
    "scale",
    "min_scale",
    "trim_scale",
    "degrees",
    "radians",
    "pi",
    "sin",
    "cos",
    "tan",
    "asin",
    "acos",
    "atan",
    "atan2",
    "factorial",
    // conditionals (grammar constructs in PostgreSQL, immutable given immutable arguments)
    "coalesce",
    "nullif",
    "greatest",
    "least",
    "num_nulls",
    "num_nonnulls",
    // arrays
    "array_length",
    "array_lower",
    "array_upper",
    "array_ndims",
    "array_dims",
    "cardinality",
    "array_append",
    "array_prepend",
    "array_cat",
    "array_remove",
    "array_replace",
    "array_position",
    "array_positions",
    "array_fill",
    // json
    "jsonb_set",
    "jsonb_set_lax",
    "jsonb_insert",
    "jsonb_typeof",
    "json_typeof",
    "jsonb_strip_nulls",
    "json_strip_nulls",
    "jsonb_extract_path",
    "jsonb_extract_path_text",
    "json_extract_path",
    "json_extract_path_text",
    "jsonb_array_length",
    "json_array_length",
    "jsonb_pretty",
    "jsonb_build_array",
    "jsonb_concat",
    "jsonb_exists",
    "jsonb_path_exists",
    "jsonb_path_query_first",
    // dates on timestamps without time zone, and constructors
    "make_date",
    "make_time",
    "make_timestamp",
    "make_interval",
    "justify_days",
    "justify_hours",
    "justify_interval",
    "isfinite",
    // uuids, bytes, network
    "uuid_send",
    "get_byte",
    "set_byte",
    "get_bit",
    "set_bit",
    "host",
    "masklen",
    "network",
    "broadcast",
    "family",
    "abbrev",
];

/// Built-ins that give the same result throughout a session whose settings do not change
/// (`to_char` follows `lc_time`, `concat` the output format of its arguments): every batch of a
/// loop run in one session computes the same value.
const STABLE: &[&str] = &[
    "to_char",
    "to_date",
    "to_number",
    "to_timestamp",
    "concat",
    "concat_ws",
    "format",
    "array_to_string",
    "to_json",
    "to_jsonb",
    "json_build_object",
    "jsonb_build_object",
    "json_build_array",
    "row_to_json",
    "date_trunc",
    "date_part",
    "extract",
    "age",
    "timezone",
    "date_bin",
    "current_setting",
    "current_user",
    "session_user",
    "current_role",
    "user",
    "current_schema",
    "current_schemas",
    "current_database",
    "current_catalog",
    "version",
    "pg_typeof",
    "format_type",
];

/// Stable built-ins whose value moves with the transaction (or the statement): each transaction
/// of a batched loop sees another one.
const PER_TRANSACTION: &[&str] = &[
    "now",
    "current_timestamp",
    "current_date",
    "current_time",
    "localtime",
    "localtimestamp",
    "transaction_timestamp",
    "statement_timestamp",
    "txid_current",
    "txid_current_snapshot",
    "pg_current_xact_id",
    "pg_current_snapshot",
];

/// Aggregate functions (with `FILTER`, `WITHIN GROUP` or `OVER` any function aggregates).
const AGGREGATES: &[&str] = &[
    "count",
    "sum",
    "avg",
    "min",
    "max",
    "array_agg",
    "string_agg",
    "json_agg",
    "jsonb_agg",
    "json_object_agg",
    "jsonb_object_agg",
    "bool_and",
    "bool_or",
    "every",
    "bit_and",
    "bit_or",
    "bit_xor",
    "stddev",
    "stddev_pop",
    "stddev_samp",
    "variance",
    "var_pop",
    "var_samp",
    "corr",
    "covar_pop",
    "covar_samp",
    "mode",
    "percentile_cont",
    "percentile_disc",
    "xmlagg",
    "range_agg",
    "range_intersect_agg",
];

/// What pgsafe knows about calling `name` (lower-cased, possibly schema-qualified): its
/// volatility and whether it moves with the transaction.
pub fn volatility(name: &str) -> (Volatility, bool) {
    let Some(base) = builtin(name) else { return (Volatility::Volatile, false) };
    if IMMUTABLE.contains(&base) {
        (Volatility::Immutable, false)
    } else if PER_TRANSACTION.contains(&base) {
        (Volatility::Stable, true)
    } else if STABLE.contains(&base) {
        (Volatility::Stable, false)
    } else {
        (Volatility::Volatile, false)
    }
}

/// Does a call of `name` (lower-cased, possibly schema-qualified) read the session's settings?
/// Stable, but a plan may run it in another session, or after a step changed them.
pub fn reads_settings(name: &str) -> bool {
    builtin(name) == Some("current_setting")
}

/// Built-ins that return text: cast to a date/time type, their result may say `'now'`.
const TEXT: &[&str] = &[
    "lower",
    "upper",
    "initcap",
    "trim",
    "btrim",
    "ltrim",
    "rtrim",
    "substr",
    "substring",
    "replace",
    "translate",
    "left",
    "right",
    "lpad",
    "rpad",
    "repeat",
    "reverse",
    "split_part",
    "overlay",
    "md5",
    "encode",
    "regexp_replace",
    "regexp_substr",
    "chr",
    "to_hex",
    "quote_ident",
    "quote_literal",
    "quote_nullable",
    "unistr",
    "normalize",
    "convert_from",
    "to_char",
    "concat",
    "concat_ws",
    "format",
    "array_to_string",
    "jsonb_extract_path_text",
    "json_extract_path_text",
    "current_setting",
    "version",
    "current_user",
    "session_user",
    "current_role",
    "user",
    "current_schema",
    "current_database",
    "current_catalog",
    "format_type",
];

/// Does the built-in `name` (lower-cased, possibly schema-qualified) return text?
pub fn returns_text(name: &str) -> bool {
    builtin(name).is_some_and(|b| TEXT.contains(&b))
}

/// Built-ins whose every parameter is text (or another type that is not a date/time one:
/// `lpad`'s length, `encode`'s bytes; `concat` and `format` read any value as text): a string
/// constant passed to one is text, never read as a time.
const TAKES_TEXT: &[&str] = &[
    "lower",
    "upper",
    "initcap",
    "trim",
    "btrim",
    "ltrim",
    "rtrim",
    "length",
    "char_length",
    "character_length",
    "octet_length",
    "substr",
    "substring",
    "replace",
    "translate",
    "left",
    "right",
    "lpad",
    "rpad",
    "repeat",
    "reverse",
    "split_part",
    "strpos",
    "position",
    "overlay",
    "md5",
    "regexp_replace",
    "regexp_match",
    "regexp_like",
    "regexp_substr",
    "starts_with",
    "string_to_array",
    "concat",
    "concat_ws",
    "format",
];

/// Does every parameter of the built-in `name` (lower-cased, possibly schema-qualified) take
/// text, so that a constant passed to it is never read as a time?
pub fn takes_text(name: &str) -> bool {
    builtin(name).is_some_and(|b| TAKES_TEXT.contains(&b))
}

/// Built-ins that return a date/time type, a number or an interval, never text: a cast of their
/// result to a date/time type reads no `'now'` (`to_timestamp` reads its text by a format).
const NO_TEXT: &[&str] = &[
    "now",
    "current_timestamp",
    "current_date",
    "current_time",
    "localtime",
    "localtimestamp",
    "transaction_timestamp",
    "statement_timestamp",
    "clock_timestamp",
    "date_trunc",
    "date_bin",
    "date_part",
    "extract",
    "age",
    "to_timestamp",
    "to_date",
    "make_date",
    "make_time",
    "make_timestamp",
    "make_timestamptz",
    "make_interval",
    "justify_days",
    "justify_hours",
    "justify_interval",
];

/// Does the built-in `name` (lower-cased, possibly schema-qualified) never return text?
pub fn returns_no_text(name: &str) -> bool {
    builtin(name).is_some_and(|b| NO_TEXT.contains(&b))
}

/// `name` (lower-cased) without `pg_catalog.`, where it may be a built-in: `None` for a name
/// qualified by another schema.
pub fn builtin_name(name: &str) -> Option<&str> {
    builtin(name)
}

/// The operators PostgreSQL 15 has built in (`SELECT DISTINCT oprname FROM pg_operator`). Any
/// other is a user's (`CREATE OPERATOR`), which runs a function pgsafe cannot see.
const OPERATORS: &[&str] = &[
    "!!", "!~", "!~*", "!~~", "!~~*", "#", "##", "#-", "#>", "#>>", "%", "&", "&&", "&<", "&<|", "&>", "*", "*<",
    "*<=", "*<>", "*=", "*>", "*>=", "+", "-", "->", "->>", "-|-", "/", "<", "<->", "<<", "<<=", "<<|", "<=", "<>",
    "<@", "<^", "=", ">", ">=", ">>", ">>=", ">^", "?", "?#", "?&", "?-", "?-|", "?|", "?||", "@", "@-@", "@>", "@?",
    "@@", "@@@", "^", "^@", "|", "|&>", "|/", "|>>", "||", "||/", "~", "~*", "~<=~", "~<~", "~=", "~>=~", "~>~", "~~",
    "~~*", // `!=` is read as `<>`.
    "!=",
];

/// Is `op` (as written: `||`, or `OPERATOR(pg_catalog.||)`'s `pg_catalog.||`) a built-in operator?
pub fn is_builtin_operator(op: &str) -> bool {
    builtin_operator(op).is_some()
}

/// The built-in operator `op` names (as [`is_builtin_operator`] reads it), as PostgreSQL names it
/// (`<>` for `!=`): a name kept without a copy.
pub fn builtin_operator(op: &str) -> Option<&'static str> {
    let b = builtin(op)?;
    let b = if b == "!=" { "<>" } else { b };
    OPERATORS.iter().find(|&&o| o == b).copied()
}

/// Volatile functions known to draw from no sequence: the random values and clocks a default
/// takes (built-in, or from the extensions migrations use for them).
const SEQUENCE_FREE: &[&str] = &[
    "random",
    "random_normal",
    "gen_random_uuid",
    "clock_timestamp",
    "timeofday",
    "uuid_generate_v1",
    "uuid_generate_v1mc",
    "uuid_generate_v4",
    "gen_random_bytes",
];

/// May a call of `name` (lower-cased, possibly schema-qualified) draw from a sequence, so that
/// rows get other values when filled in another order? `nextval`, and any volatile function
/// pgsafe does not know to draw from none (a user's `next_code()` may wrap `nextval`).
pub fn may_draw_from_a_sequence(name: &str) -> bool {
    let base = name.rsplit('.').next().unwrap_or(name);
    base == "nextval" || (volatility(name).0 == Volatility::Volatile && !SEQUENCE_FREE.contains(&base))
}

/// Volatile built-ins that return at once: they read or set a value of the session, draw one, or
/// take an advisory lock (whose wait `lock_timeout` bounds, as any lock's).
const AT_ONCE: &[&str] = &[
    "nextval",
    "setval",
    "currval",
    "lastval",
    "set_config",
    "pg_notify",
    "txid_current",
    "pg_current_xact_id",
    "pg_advisory_lock",
    "pg_advisory_lock_shared",
    "pg_advisory_xact_lock",
    "pg_advisory_xact_lock_shared",
    "pg_try_advisory_lock",
    "pg_try_advisory_lock_shared",
    "pg_try_advisory_xact_lock",
    "pg_try_advisory_xact_lock_shared",
    "pg_advisory_unlock",
    "pg_advisory_unlock_shared",
    "pg_advisory_unlock_all",
];

/// Does a call of `name` (lower-cased, possibly schema-qualified) return at once? A built-in that
/// is not volatile, or one of the quick volatile ones; not a user's function, whose code may run
/// for any time, nor `pg_sleep`.
pub fn returns_at_once(name: &str) -> bool {
    match volatility(name).0 {
        Volatility::Volatile => builtin(name).is_some_and(|b| AT_ONCE.contains(&b) || SEQUENCE_FREE.contains(&b)),
        _ => true,
    }
}

/// Is `name` a built-in aggregate?
pub fn is_aggregate(name: &str) -> bool {
    builtin(name).is_some_and(|b| AGGREGATES.contains(&b))
}

/// The built-in's own name: unqualified, or qualified by `pg_catalog`; `None` for a function in
/// another schema (a user or extension function).
fn builtin(name: &str) -> Option<&str> {
    match name.rsplit_once('.') {
        None => Some(name),
        Some(("pg_catalog", base)) => Some(base),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_and_user_functions_are_volatile() {
        assert_eq!(volatility("lower"), (Volatility::Immutable, false));
        assert_eq!(volatility("pg_catalog.lower"), (Volatility::Immutable, false));
        assert_eq!(volatility("now"), (Volatility::Stable, true));
        assert_eq!(volatility("to_char"), (Volatility::Stable, false));
        assert_eq!(volatility("random"), (Volatility::Volatile, false));
        assert_eq!(volatility("my_lower"), (Volatility::Volatile, false));
        assert_eq!(volatility("app.lower"), (Volatility::Volatile, false));
        assert!(is_aggregate("max") && !is_aggregate("app.max") && !is_aggregate("lower"));
    }
}
