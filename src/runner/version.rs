//! Version numbers for the steps a draft becomes: the first step keeps the draft's version, the
//! others take the next free ones, all before the next existing migration — so the runner's
//! order is kept and no runner sees a version lower than one it may already have applied.

/// The digits of a version (`20240101120000`, `2024-01-01-120000`, `0003`) as a number.
pub fn number(version: &str) -> Option<u128> {
    let digits: String = version.chars().filter(char::is_ascii_digit).collect();
    if digits.is_empty() || digits.len() > 38 {
        return None;
    }
    digits.parse().ok()
}

/// `version` plus `k`, written the same way: same number of digits, separators where they were.
pub fn bump(version: &str, k: u128) -> Option<String> {
    shaped(version, number(version)?.checked_add(k)?)
}

/// `n` written the way `like` is: same number of digits, separators where they were.
fn shaped(like: &str, n: u128) -> Option<String> {
    let width = like.chars().filter(char::is_ascii_digit).count();
    let digits = format!("{n:0width$}");
    if digits.len() > width {
        return None;
    }
    let mut d = digits.chars();
    Some(like.chars().map(|c| if c.is_ascii_digit() { d.next().unwrap_or(c) } else { c }).collect())
}

/// The version for a draft without one, laid out in a directory whose migrations have the
/// versions `existing`, at `now` (seconds since 1970, UTC): after the latest, in its style, as the
/// runner's own `new`/`create` command would name it. Timestamps (`20240101120000`, diesel's
/// `2024-01-01-120000`, node-pg-migrate's milliseconds) take the current UTC time, or the latest
/// plus one when that is later (a clock behind, or versions from the future): a version below the
/// latest would run before migrations that may create its tables, and goose, Atlas and
/// golang-migrate refuse or skip it on a database that has the latest. Sequential numbers take the
/// latest plus one. No migration yet: `0001`.
pub fn next_after(existing: &[String], now: u64) -> String {
    let Some((latest, n)) = existing.iter().filter_map(|e| Some((e, number(e)?))).max_by_key(|(_, n)| *n) else {
        return "0001".into();
    };
    let plus_one = bump(latest, 1).unwrap_or_else(|| (n + 1).to_string());
    let stamp = match latest.chars().filter(char::is_ascii_digit).count() {
        14 => utc(now).parse().ok(),
        13 => Some(u128::from(now) * 1000),
        _ => None,
    };
    match stamp.filter(|&s| s > n).and_then(|s| shaped(latest, s)) {
        Some(s) => s,
        None => plus_one,
    }
}

/// `secs` since 1970 as `YYYYMMDDHHMMSS`, UTC (days to a civil date: H. Hinnant's algorithm).
fn utc(secs: u64) -> String {
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    let z = days + 719_468;
    let (era, doe) = (z.div_euclid(146_097), z.rem_euclid(146_097));
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}{m:02}{d:02}{:02}{:02}{:02}", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Versions for steps 2..=`count` after the draft's `version`, each below every existing version
/// greater than the draft's and equal to none. `existing`: the versions already in the directory.
pub fn after(version: &str, count: usize, existing: &[String], runner: &str) -> Result<Vec<String>, String> {
    let v = number(version).ok_or_else(|| format!("{version:?} is not a {runner} version number"))?;
    let next = existing.iter().filter_map(|e| number(e)).filter(|&e| e > v).min();
    let mut out = Vec::with_capacity(count.saturating_sub(1));
    for k in 1..count as u128 {
        let bumped = bump(version, k).ok_or_else(|| format!("no version after {version} fits its width"))?;
        let n = number(&bumped).unwrap_or(u128::MAX);
        if next.is_some_and(|next| n >= next) || existing.iter().any(|e| number(e) == Some(n)) {
            let next = existing.iter().find(|e| number(e) == next).map_or("?", |s| s.as_str());
            return Err(no_room(count, runner, version, next));
        }
        out.push(bumped);
    }
    Ok(out)
}

/// For a runner that orders by the whole name (Prisma's folders, where `20240102000000_b` comes
/// after `20240102000000_a` yet before `20240102000001_…`): an error unless every new name sorts
/// strictly between the draft's and the next existing name. `existing`: the names of migrations
/// already in the directory.
pub fn in_name_order(draft: &str, new: &[String], existing: &[String], runner: &str) -> Result<(), String> {
    let Some(next) = existing.iter().filter(|e| e.as_str() > draft).min() else {
        return Ok(());
    };
    match new.iter().all(|n| draft < n.as_str() && n < next) {
        true => Ok(()),
        false => Err(no_room(new.len() + 1, runner, draft, next)),
    }
}

fn no_room(count: usize, runner: &str, version: &str, next: &str) -> String {
    format!(
        "the plan has {count} steps, but {runner} has no room for them between {version} and the next migration \
         ({next}): its order would change. Give the draft a version with room after it (e.g. a later timestamp), \
         or renumber the migrations after it if none was applied anywhere"
    )
}

/// The leading version of a file or folder name (`20240101120000_add.sql` → `20240101120000`),
/// digits and the separators `-` within it, up to the first `_`.
pub fn prefix(name: &str) -> Option<&str> {
    let (v, _) = name.split_once('_')?;
    (!v.is_empty() && v.chars().all(|c| c.is_ascii_digit() || c == '-') && v.chars().any(|c| c.is_ascii_digit()))
        .then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bumps_keep_width_and_separators() {
        assert_eq!(bump("0003", 2).as_deref(), Some("0005"));
        assert_eq!(bump("2024-01-01-120000", 1).as_deref(), Some("2024-01-01-120001"));
        assert_eq!(bump("99", 1), None);
    }

    #[test]
    fn new_versions_stay_before_the_next_migration() {
        let existing = vec!["0001".to_string(), "0005".to_string()];
        assert_eq!(after("0002", 3, &existing, "x").unwrap(), ["0003", "0004"]);
        assert!(after("0002", 4, &existing, "x").unwrap_err().contains("no room"));
        assert_eq!(prefix("20240101_add_index.sql"), Some("20240101"));
        assert_eq!(prefix("add_index.sql"), None);
    }

    #[test]
    fn a_draft_without_a_version_goes_after_the_latest_in_its_style() {
        let v = |e: &[&str], now| next_after(&e.iter().map(|s| s.to_string()).collect::<Vec<_>>(), now);
        assert_eq!(utc(0), "19700101000000");
        assert_eq!(utc(1_709_210_096), "20240229123456");
        assert_eq!(v(&[], 0), "0001");
        assert_eq!(v(&["0001", "0007"], 1_709_210_096), "0008");
        assert_eq!(v(&["20240101000000", "20240105000000"], 1_709_210_096), "20240229123456");
        assert_eq!(v(&["20240101000000", "20990105000000"], 1_709_210_096), "20990105000001");
        assert_eq!(v(&["2024-01-01-000000"], 1_709_210_096), "2024-02-29-123456");
        assert_eq!(v(&["1700000000000"], 1_709_210_096), "1709210096000");
        assert_eq!(v(&["99"], 0), "100");
    }
}
