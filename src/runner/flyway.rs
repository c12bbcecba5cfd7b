//! Flyway: `V<version>__<description>.sql`, versions compared part by part (`3` < `3.1` < `3.0.1`
//! is false: `3.0.1` < `3.1`). Each script runs in a transaction unless its `<script>.sql.conf`
//! says `executeInTransaction=false`; statements are sent one by one (PostgreSQLParser.java). A
//! version lower than the last applied one is ignored unless `outOfOrder`, so new steps take
//! versions between the draft's and the next one: `<draft>.1`, `<draft>.2`, … (or deeper, e.g.
//! `<draft>.0.1`, when the next version is `<draft>.1`).

use super::{Layout, Placement, PlanView};

pub fn lay_out(plan: &PlanView<'_>, at: &Placement) -> Result<Layout, String> {
    let (v, desc) = parse(&at.draft)
        .ok_or_else(|| format!("{}: Flyway runs files named V<version>__<description>.sql", at.draft))?;
    let draft = parts(v);
    let existing: Vec<Vec<u128>> = at.existing.iter().filter_map(|n| parse(n)).map(|(v, _)| parts(v)).collect();
    let next = existing.iter().filter(|e| cmp(e, &draft).is_gt()).min_by(|a, b| cmp(a, b));
    let n = plan.steps.len();
    let versions = (0..8)
        .map(|depth| {
            (1..n as u128)
                .map(|k| {
                    let mut v = draft.clone();
                    v.extend(std::iter::repeat_n(0, depth));
                    v.push(k);
                    v
                })
                .collect::<Vec<_>>()
        })
        .find(|vs| {
            vs.iter()
                .all(|v| next.is_none_or(|next| cmp(v, next).is_lt()) && !existing.iter().any(|e| cmp(e, v).is_eq()))
        })
        .ok_or_else(|| format!("{}: no free Flyway versions between V{v} and the next migration", at.draft))?;
    let _ = desc;
    let mut out = Layout::default();
    for (i, step) in plan.steps.iter().enumerate() {
        let name = if i == 0 {
            at.draft.clone()
        } else {
            let v: Vec<String> = versions[i - 1].iter().map(u128::to_string).collect();
            format!("V{}__{}.sql", v.join("."), step.slug)
        };
        // The draft's own `.conf` said how the draft runs; each step's says how it runs, its other
        // settings kept (a draft's `executeInTransaction=false` left on a transactional step ran
        // its `SET LOCAL` timeouts outside a transaction, where they do nothing).
        let conf = if i == 0 { at.read.get(&format!("{name}.conf")).map(String::as_str) } else { None };
        if step.autocommit || conf.is_some() {
            out.add(format!("{name}.conf"), with_transaction_setting(conf.unwrap_or(""), !step.autocommit));
        }
        if step.autocommit {
            out.add_step(name, step.psql_text());
        } else {
            out.add_step(name, format!("{}{}", step.header, step.wrapped_body("Flyway")?));
        }
    }
    if plan.down.is_some() {
        out.notes.push(
            "Flyway has no down sections in versioned scripts: the draft's down section was left out (write an undo script U<version>__… if you use Flyway Teams)".into(),
        );
    }
    Ok(out)
}

/// The version for a draft without one among the scripts `existing`: one more than the highest
/// first part (`V1__init.sql`, `V1.2__x.sql` → `2`), as a person numbering Flyway scripts by hand
/// would; `1` in an empty directory.
pub fn next_version(existing: &[String]) -> u128 {
    existing.iter().filter_map(|n| parse(n)).map(|(v, _)| parts(v)[0]).max().map_or(1, |m| m.saturating_add(1))
}

/// An existing script (other than `draft`) with `draft`'s version (`V1__a.sql`, `V1.0__b.sql`).
pub fn same_version<'a>(draft: &str, existing: &'a [String]) -> Option<&'a String> {
    let v = parts(parse(draft)?.0);
    existing.iter().find(|e| *e != draft && parse(e).is_some_and(|(w, _)| cmp(&parts(w), &v).is_eq()))
}

/// A script's `.conf` (`conf`, as it is) with `executeInTransaction` set to `in_transaction`.
fn with_transaction_setting(conf: &str, in_transaction: bool) -> String {
    let setting =
        |l: &str| l.trim_start().strip_prefix("executeInTransaction").is_some_and(|r| r.trim_start().starts_with('='));
    let mut out: String = conf.split_inclusive('\n').filter(|l| !setting(l)).collect();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(&format!("executeInTransaction={in_transaction}\n"));
    out
}

/// `V1_2__add.sql` → ("1_2", "add").
fn parse(name: &str) -> Option<(&str, &str)> {
    let rest = name.strip_prefix('V')?.strip_suffix(".sql")?;
    let (v, desc) = rest.split_once("__")?;
    (!v.is_empty() && v.chars().all(|c| c.is_ascii_digit() || c == '.' || c == '_')).then_some((v, desc))
}

fn parts(v: &str) -> Vec<u128> {
    v.split(['.', '_']).map(|p| p.parse().unwrap_or(0)).collect()
}

/// Flyway's order: part by part, missing parts count as 0.
fn cmp(a: &[u128], b: &[u128]) -> std::cmp::Ordering {
    (0..a.len().max(b.len()))
        .map(|i| a.get(i).unwrap_or(&0).cmp(b.get(i).unwrap_or(&0)))
        .find(|o| o.is_ne())
        .unwrap_or(std::cmp::Ordering::Equal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_part_by_part() {
        assert!(cmp(&parts("3"), &parts("3.1")).is_lt());
        assert!(cmp(&parts("3.0.1"), &parts("3.1")).is_lt());
        assert!(cmp(&parts("3.0"), &parts("3")).is_eq());
        assert!(cmp(&parts("10"), &parts("9")).is_gt());
    }
}
