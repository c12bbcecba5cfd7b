//! `sqlx-migrate DATABASE_URL DIR`: apply DIR's migrations with sqlx's `Migrator`, as
//! `sqlx migrate run --source DIR` does.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, url, dir] = args.as_slice() else {
        return Err("usage: sqlx-migrate DATABASE_URL DIR".into());
    };
    let pool = sqlx::postgres::PgPoolOptions::new().max_connections(1).connect(url).await?;
    let migrator = sqlx::migrate::Migrator::new(std::path::Path::new(dir)).await?;
    migrator.run(&pool).await?;
    println!("applied {} migrations", migrator.iter().count());
    Ok(())
}
