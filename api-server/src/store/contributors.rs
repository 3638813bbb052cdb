//! Contributors: registration, lookup by name or key, challenge switch.

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use crate::db::{Db, now_ms, rfc3339};

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Contributor {
    #[serde(skip)]
    pub id: String,
    pub name: String,
    pub display_name: String,
    pub active_challenge: Option<String>,
    pub created_at: String,
    /// Deregistered contributors keep their scores and their place.
    pub deregistered: bool,
}

/// The key material of a contributor, for verifying a presented key.
#[derive(Debug, Clone)]
pub struct KeyRecord {
    pub contributor: Contributor,
    pub salt: String,
    pub hash: String,
}

const COLUMNS: &str = "id, name, display_name, active_challenge, created_at, deleted_at";

fn from_row(row: &AnyRow) -> Result<Contributor, sqlx::Error> {
    Ok(Contributor {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        display_name: row.try_get("display_name")?,
        active_challenge: row.try_get("active_challenge")?,
        created_at: rfc3339(row.try_get("created_at")?),
        deregistered: row.try_get::<Option<i64>, _>("deleted_at")?.is_some(),
    })
}

/// Inserts a contributor; `Ok(None)` when the name is taken.
pub async fn insert(
    db: &Db,
    id: &str,
    name: &str,
    display_name: &str,
    challenge: Option<&str>,
    salt: &str,
    hash: &str,
) -> Result<Option<Contributor>, sqlx::Error> {
    let now = now_ms();
    let result = sqlx::query(
        "INSERT INTO contributors (id, name, display_name, active_challenge, key_salt, key_hash, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7) ON CONFLICT (name) DO NOTHING",
    )
    .bind(id)
    .bind(name)
    .bind(display_name)
    .bind(challenge)
    .bind(salt)
    .bind(hash)
    .bind(now)
    .execute(db)
    .await?;
    if result.rows_affected() == 0 {
        return Ok(None);
    }
    by_name(db, name).await
}

pub async fn by_name(db: &Db, name: &str) -> Result<Option<Contributor>, sqlx::Error> {
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM contributors WHERE name = $1"
    )))
    .bind(name)
    .fetch_optional(db)
    .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn key_record(db: &Db, id: &str) -> Result<Option<KeyRecord>, sqlx::Error> {
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT {COLUMNS}, key_salt, key_hash FROM contributors WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(db)
    .await?;
    row.map(|r| {
        Ok(KeyRecord {
            contributor: from_row(&r)?,
            salt: r.try_get("key_salt")?,
            hash: r.try_get("key_hash")?,
        })
    })
    .transpose()
}

pub async fn list(
    db: &Db,
    limit: i64,
    offset: i64,
) -> Result<(Vec<Contributor>, i64), sqlx::Error> {
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM contributors ORDER BY name LIMIT $1 OFFSET $2"
    )))
    .bind(limit)
    .bind(offset)
    .fetch_all(db)
    .await?;
    let total: i64 = sqlx::query("SELECT COUNT(*) AS n FROM contributors")
        .fetch_one(db)
        .await?
        .try_get("n")?;
    Ok((rows.iter().map(from_row).collect::<Result<_, _>>()?, total))
}

pub async fn set_challenge(db: &Db, id: &str, challenge: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE contributors SET active_challenge = $1, updated_at = $2 WHERE id = $3")
        .bind(challenge)
        .bind(now_ms())
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

/// Marks a contributor deregistered; their key stops working, their scores stay.
pub async fn deregister(db: &Db, id: &str) -> Result<(), sqlx::Error> {
    let now = now_ms();
    sqlx::query("UPDATE contributors SET deleted_at = $1, updated_at = $1, key_hash = '' WHERE id = $2 AND deleted_at IS NULL")
        .bind(now)
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}
