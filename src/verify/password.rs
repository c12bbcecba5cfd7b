//! What libpq fills in for a connection URL that leaves it out and the `postgres` crate does not:
//! the user (the operating system's), and the password (`PGPASSWORD`, else the password file,
//! `PGPASSFILE` or `~/.pgpass`). `pgsafe apply` and `verify`'s own connections then authenticate
//! wherever `psql` does with the same URL (they failed where a password was needed).

use postgres::config::Host;

/// Fill `config`'s user and password as libpq would, reading the environment and the file.
pub fn complete(config: &mut postgres::Config) {
    complete_with(config, &|name| std::env::var(name).ok(), &read_password_file);
}

/// [`complete`], the environment and the password file's text (`None`: unreadable, or readable
/// by others, which libpq refuses) given.
fn complete_with(
    config: &mut postgres::Config,
    env: &dyn Fn(&str) -> Option<String>,
    file: &dyn Fn(&std::path::Path) -> Option<String>,
) {
    if config.get_user().is_none() {
        if let Some(user) = env("USER").or_else(|| env("LOGNAME")) {
            config.user(&user);
        }
    }
    if config.get_password().is_some() {
        return;
    }
    if let Some(p) = env("PGPASSWORD").filter(|p| !p.is_empty()) {
        config.password(p);
        return;
    }
    let path =
        env("PGPASSFILE").map(std::path::PathBuf::from).or_else(|| env("HOME").map(|h| format!("{h}/.pgpass").into()));
    let Some(text) = path.and_then(|p| file(&p)) else { return };
    let host = match config.get_hosts().first() {
        None => "localhost".to_string(),
        // libpq matches a connection through its default socket directory as `localhost`.
        Some(Host::Unix(dir)) if DEFAULT_SOCKET_DIRS.iter().any(|d| dir == std::path::Path::new(d)) => {
            "localhost".to_string()
        }
        Some(Host::Unix(dir)) => dir.display().to_string(),
        Some(Host::Tcp(name)) => name.clone(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432).to_string();
    let user = config.get_user().unwrap_or_default().to_string();
    let db = config.get_dbname().map_or_else(|| user.clone(), str::to_string);
    if let Some(p) = lookup(&text, [&host, &port, &db, &user]) {
        config.password(p);
    }
}

/// Where libpq builds put their socket by default (upstream, Debian's).
const DEFAULT_SOCKET_DIRS: [&str; 2] = ["/tmp", "/var/run/postgresql"];

/// The password file's text, unless it is readable by others (libpq ignores it then, with a
/// warning, and so does pgsafe).
fn read_password_file(path: &std::path::Path) -> Option<String> {
    use std::os::unix::fs::PermissionsExt as _;
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() || meta.permissions().mode() & 0o077 != 0 {
        return None;
    }
    std::fs::read_to_string(path).ok()
}

/// The password of the first line of a password file whose `host:port:database:user` match
/// `wanted` (`*` matches anything; `\` escapes `:` and `\`).
fn lookup(text: &str, wanted: [&str; 4]) -> Option<String> {
    text.lines().filter(|l| !l.starts_with('#')).find_map(|line| {
        let fields = fields(line);
        let [host, port, db, user, password] = <[String; 5]>::try_from(fields).ok()?;
        let matches = [host, port, db, user].iter().zip(wanted).all(|(f, w)| f == "*" || f == w);
        matches.then_some(password)
    })
}

/// A line's fields, split at unescaped colons, escapes removed (the password is all the rest).
fn fields(line: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.last_mut().unwrap().extend(chars.next()),
            ':' if out.len() < 5 => out.push(String::new()),
            c => out.last_mut().unwrap().push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr as _;

    fn completed(url: &str, env: &[(&str, &str)], file: Option<&str>) -> postgres::Config {
        let mut config = postgres::Config::from_str(url).unwrap();
        let env = |name: &str| env.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string());
        complete_with(&mut config, &env, &|_| file.map(str::to_string));
        config
    }

    fn password(c: &postgres::Config) -> Option<String> {
        c.get_password().map(|p| String::from_utf8_lossy(p).into_owned())
    }

    #[test]
    fn the_url_wins_then_pgpassword_then_the_file() {
        let file = Some("db.example:5432:app:deploy:from-file\n");
        let home = [("HOME", "/home/x")];
        let url = "postgresql://deploy@db.example/app";
        assert_eq!(password(&completed("postgresql://deploy:given@db.example/app", &home, file)).unwrap(), "given");
        assert_eq!(password(&completed(url, &[("PGPASSWORD", "env"), ("HOME", "/h")], file)).unwrap(), "env");
        assert_eq!(password(&completed(url, &home, file)).unwrap(), "from-file");
        assert_eq!(password(&completed(url, &home, None)), None);
    }

    #[test]
    fn lines_match_field_by_field_with_wildcards_and_escapes() {
        let text = "# comment\nother:5432:*:*:wrong\n*:5433:*:*:port\ndb:*:app:deploy:a\\:b\\\\c\n*:*:*:*:any\n";
        assert_eq!(lookup(text, ["db", "5432", "app", "deploy"]).unwrap(), "a:b\\c");
        assert_eq!(lookup(text, ["db", "5433", "app", "deploy"]).unwrap(), "port");
        assert_eq!(lookup(text, ["x", "5432", "y", "z"]).unwrap(), "any");
        // A password may hold colons.
        assert_eq!(lookup("h:1:d:u:p:q", ["h", "1", "d", "u"]).unwrap(), "p:q");
        assert_eq!(lookup("h:1:d:u", ["h", "1", "d", "u"]), None);
    }

    #[test]
    fn defaults_are_libpqs_the_os_user_the_users_database_localhost_and_5432() {
        let file = Some("localhost:5432:me:me:secret\n");
        let env = [("USER", "me"), ("HOME", "/home/me")];
        let c = completed("postgresql:///?host=/var/run/postgresql", &env, file);
        assert_eq!(c.get_user(), Some("me"));
        assert_eq!(password(&c).unwrap(), "secret");
        assert_eq!(password(&completed("postgresql://127.0.0.1/me", &env, file)), None);
    }

    #[test]
    fn a_file_others_can_read_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pgpass");
        std::fs::write(&path, "*:*:*:*:p\n").unwrap();
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(read_password_file(&path), None);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(read_password_file(&path).unwrap(), "*:*:*:*:p\n");
    }
}
