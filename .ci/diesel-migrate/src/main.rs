//! `diesel-migrate DATABASE_URL DIR`: apply DIR's migrations with diesel_migrations'
//! `FileBasedMigrations` and `run_pending_migrations`, as `diesel migration run` does.

use diesel::{Connection, PgConnection};
use diesel_migrations::{FileBasedMigrations, MigrationHarness};

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, url, dir] = args.as_slice() else {
        return Err("usage: diesel-migrate DATABASE_URL DIR".into());
    };
    let mut conn = PgConnection::establish(url)?;
    let migrations = FileBasedMigrations::from_path(dir)?;
    let applied = conn.run_pending_migrations(migrations)?;
    println!("applied {} migrations", applied.len());
    Ok(())
}
