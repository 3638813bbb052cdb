//! The database: SQLite or PostgreSQL behind sqlx's `Any` driver, with
//! the built-in migrations applied at start. SQL is written once, with
//! `$N` placeholders, which both databases accept.

use std::borrow::Cow;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AnyPool, AssertSqlSafe, Executor, SqlSafeStr};

pub type Db = AnyPool;

/// Which database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Turns `--database` into a URL: a bare path is a SQLite file.
pub fn database_url(database: &str) -> (String, Backend) {
    if database.starts_with("postgres://") || database.starts_with("postgresql://") {
        (database.to_owned(), Backend::Postgres)
    } else if database.starts_with("sqlite:") {
        let url = if database.contains('?') {
            database.to_owned()
        } else {
            format!("{database}?mode=rwc")
        };
        (url, Backend::Sqlite)
    } else {
        (format!("sqlite://{database}?mode=rwc"), Backend::Sqlite)
    }
}

/// A new SQLite file is created readable by its owner only; its `-wal`
/// and `-shm` files take the same mode from it.
#[cfg(unix)]
fn create_private_sqlite(database: &str) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let path = database
        .strip_prefix("sqlite://")
        .or_else(|| database.strip_prefix("sqlite:"))
        .unwrap_or(database);
    let path = path.split('?').next().unwrap_or(path);
    if path.is_empty() || path == ":memory:" || std::path::Path::new(path).exists() {
        return Ok(());
    }
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(anyhow::anyhow!(
            "cannot create the database file {path}: {e}"
        )),
    }
}

#[cfg(not(unix))]
fn create_private_sqlite(_: &str) -> anyhow::Result<()> {
    Ok(())
}

/// Connects, configures and migrates. A database server that cannot be
/// reached yet is tried again for up to `wait`.
pub async fn connect(database: &str, wait: Duration) -> anyhow::Result<(Db, Backend)> {
    install_default_drivers();
    let (url, backend) = database_url(database);
    if backend == Backend::Postgres && !cfg!(feature = "postgres") {
        anyhow::bail!(
            "{} names PostgreSQL, but this build has no PostgreSQL driver (cargo feature `postgres` of chaos-api; the chaos-api binary and image have it, chaosctl's playground runs on SQLite)",
            redact(database)
        );
    }
    if backend == Backend::Sqlite {
        create_private_sqlite(database)?;
    }
    let options = AnyPoolOptions::new()
        .max_connections(if backend == Backend::Sqlite { 8 } else { 16 })
        .acquire_timeout(Duration::from_secs(10))
        .after_connect(move |conn, _| {
            Box::pin(async move {
                if backend == Backend::Sqlite {
                    // WAL lets readers and the writer proceed together; the
                    // busy timeout queues writers instead of failing them.
                    conn.execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;")
                        .await?;
                }
                Ok(())
            })
        });
    let deadline = std::time::Instant::now() + wait;
    let mut pause = Duration::from_millis(250);
    let pool = loop {
        match options.clone().connect(&url).await {
            Ok(pool) => break pool,
            Err(e) if not_up_yet(&e) && std::time::Instant::now() + pause < deadline => {
                tracing::warn!(database = %redact(database), error = %e, "the database is not up yet; retrying in {pause:?}");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(5));
            }
            Err(e) => {
                anyhow::bail!("cannot open the database {}: {e}", redact(database))
            }
        }
    };
    migrator()
        .run(&pool)
        .await
        .map_err(|e| anyhow::anyhow!("database migrations failed: {e}"))?;
    Ok((pool, backend))
}

/// The schema's migrations, built into the binary: the same versions and
/// checksums (SHA-384 of each file) that `sqlx::migrate!` would embed, so
/// databases created by earlier builds carry on, without compiling sqlx's
/// macros (and a second copy of its drivers and of SQLite for the build
/// host). A test checks this list against the `migrations/` directory.
pub fn migrator() -> Migrator {
    let m = |version: i64, description: &'static str, sql: &'static str| {
        Migration::new(
            version,
            Cow::Borrowed(description),
            MigrationType::Simple,
            AssertSqlSafe(sql).into_sql_str(),
            false,
        )
    };
    Migrator::with_migrations(vec![
        m(1, "init", include_str!("../migrations/0001_init.sql")),
        m(
            2,
            "local tracker",
            include_str!("../migrations/0002_local_tracker.sql"),
        ),
        m(
            3,
            "earlier keys",
            include_str!("../migrations/0003_earlier_keys.sql"),
        ),
        m(
            4,
            "records and conditions",
            include_str!("../migrations/0004_records_and_conditions.sql"),
        ),
        m(
            5,
            "rules v2",
            include_str!("../migrations/0005_rules_v2.sql"),
        ),
        m(
            6,
            "earlier rules index",
            include_str!("../migrations/0006_earlier_rules_index.sql"),
        ),
        m(
            7,
            "rules v3",
            include_str!("../migrations/0007_rules_v3.sql"),
        ),
        m(
            8,
            "contributor manager",
            include_str!("../migrations/0008_contributor_manager.sql"),
        ),
        m(
            9,
            "practice index",
            include_str!("../migrations/0009_practice_index.sql"),
        ),
    ])
}

/// Whether a failed connection may work a moment later: nothing listening
/// yet, a name not resolving yet, or a server still starting. A refused
/// login or a missing database will not change by waiting.
fn not_up_yet(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut => true,
        // 57P03: the database system is starting up / shutting down.
        sqlx::Error::Database(db) => db.code().as_deref() == Some("57P03"),
        _ => false,
    }
}

/// A database URL without its password, for messages.
pub fn redact(database: &str) -> String {
    match (database.find("://"), database.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &database[scheme + 3..at];
            let user = creds.split(':').next().unwrap_or_default();
            format!("{}{user}:***{}", &database[..scheme + 3], &database[at..])
        }
        _ => database.to_owned(),
    }
}

/// A nullable number as a bind parameter, for `CAST($n AS DOUBLE PRECISION)`.
///
/// sqlx 0.9's `Any` driver sends a NULL `f64` to PostgreSQL as a NULL
/// `float4`, so a statement first run with NULL there fails on every later
/// real number ("incorrect binary data format"). Text casts the same on
/// both databases, and Rust prints an `f64` so that it reads back exactly.
pub fn nullable_f64(v: Option<f64>) -> Option<String> {
    v.filter(|x| x.is_finite()).map(|x| x.to_string())
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

/// RFC 3339 with milliseconds, for JSON.
pub fn rfc3339(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// CI builds chaos-api without its default features to run this.
    #[cfg(not(feature = "postgres"))]
    #[tokio::test]
    async fn a_build_without_postgres_says_so_for_a_postgres_url() {
        let e = connect("postgres://chaos:s3cret@127.0.0.1:1/chaos", Duration::ZERO)
            .await
            .expect_err("no driver");
        let text = e.to_string();
        assert!(text.contains("no PostgreSQL driver"), "{text}");
        assert!(!text.contains("s3cret"), "{text}");
    }

    #[tokio::test]
    async fn the_built_in_migrations_are_the_directorys_files() {
        // sqlx reading the directory at run time, as its macro did at build time.
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        let key = |m: &Migrator| -> Vec<(i64, Vec<u8>, bool)> {
            m.iter()
                .map(|m| (m.version, m.checksum.to_vec(), m.no_tx))
                .collect()
        };
        let from_dir = Migrator::new(dir.as_path()).await.expect("migrations/");
        assert_eq!(
            key(&migrator()),
            key(&from_dir),
            "db::migrator() must list every file of migrations/, unchanged"
        );
    }

    #[test]
    fn paths_are_sqlite_and_urls_keep_their_backend() {
        assert_eq!(
            database_url("chaos.db"),
            ("sqlite://chaos.db?mode=rwc".into(), Backend::Sqlite)
        );
        assert_eq!(database_url("postgres://u@h/db").1, Backend::Postgres);
        assert_eq!(
            database_url("sqlite://x.db?mode=ro").0,
            "sqlite://x.db?mode=ro"
        );
    }

    #[test]
    fn nullable_numbers_round_trip_through_text() {
        for v in [0.1 + 0.2, 1e-300, 123456.789, -0.0] {
            let text = nullable_f64(Some(v)).expect("finite");
            assert_eq!(text.parse::<f64>().expect("parses").to_bits(), v.to_bits());
        }
        assert_eq!(nullable_f64(None), None);
        assert_eq!(nullable_f64(Some(f64::NAN)), None);
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact("postgres://chaos:s3cret@db:5432/chaos"),
            "postgres://chaos:***@db:5432/chaos"
        );
        assert_eq!(redact("chaos.db"), "chaos.db");
    }
}
