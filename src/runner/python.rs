//! Shared by the Python adapters (Django, Alembic): SQL as a Python string literal, the step
//! header as `#` comments.

/// A triple-quoted Python string holding `sql` exactly.
pub fn string(sql: &str) -> String {
    format!("\"\"\"{}\"\"\"", sql.replace('\\', "\\\\").replace('"', "\\\""))
}

/// pgsafe's `--` header lines as Python comments.
pub fn comments(header: &str) -> String {
    header.lines().map(|l| format!("# {}\n", l.trim_start_matches("--").trim_start())).collect()
}

/// The migration files already in a directory: `(file name, text)` of its `.py` files.
pub fn modules(at: &super::Placement) -> Vec<(String, String)> {
    at.existing
        .iter()
        .filter(|n| n.ends_with(".py") && *n != "__init__.py")
        .filter_map(|n| Some((n.clone(), std::fs::read_to_string(at.root.join(n)).ok()?)))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn strings_round_trip() {
        assert_eq!(super::string("a \"b\" \\n"), "\"\"\"a \\\"b\\\" \\\\n\"\"\"");
    }
}
