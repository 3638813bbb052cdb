//! Contributors: registration, lookup by name or key, challenge switch.

use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use crate::db::{Db, now_ms, rfc3339};

#[derive(Debug, Clone, PartialEq)]
pub struct Contributor {
    pub id: String,
    pub name: String,
    pub display_name: String,
    pub active_challenge: Option<String>,
    pub created_at: String,
    /// Deregistered contributors keep their scores and their place.
    pub deregistered: bool,
    /// The controller that registered the account (`None`: by hand).
    pub manager: Option<String>,
}

/// The key material of a contributor, for verifying a presented key.
#[derive(Debug, Clone)]
pub struct KeyRecord {
    pub contributor: Contributor,
    pub salt: String,
    pub hash: String,
}

const COLUMNS: &str = "id, name, display_name, active_challenge, created_at, deleted_at, manager";

fn from_row(row: &AnyRow) -> Result<Contributor, sqlx::Error> {
    Ok(Contributor {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        display_name: row.try_get("display_name")?,
        active_challenge: row.try_get("active_challenge")?,
        created_at: rfc3339(row.try_get("created_at")?),
        deregistered: row.try_get::<Option<i64>, _>("deleted_at")?.is_some(),
        manager: row.try_get("manager")?,
    })
}

/// A new contributor's account.
#[derive(Debug, Clone, Copy)]
pub struct NewContributor<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub display_name: &'a str,
    pub challenge: Option<&'a str>,
    pub salt: &'a str,
    pub hash: &'a str,
    pub manager: Option<&'a str>,
}

/// Inserts a contributor; `Ok(None)` when the name is taken.
pub async fn insert(db: &Db, c: NewContributor<'_>) -> Result<Option<Contributor>, sqlx::Error> {
    let now = now_ms();
    let name = c.name;
    let result = sqlx::query(
        "INSERT INTO contributors (id, name, display_name, active_challenge, key_salt, key_hash, created_at, updated_at, manager)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8) ON CONFLICT (name) DO NOTHING",
    )
    .bind(c.id)
    .bind(c.name)
    .bind(c.display_name)
    .bind(c.challenge)
    .bind(c.salt)
    .bind(c.hash)
    .bind(now)
    .bind(c.manager)
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

/// Sets what an admin may change on an account: its display name, and who
/// manages it (a hand-over). `None` leaves a field as it is.
pub async fn update(
    db: &Db,
    id: &str,
    display_name: Option<&str>,
    manager: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE contributors SET display_name = COALESCE($1, display_name), manager = COALESCE($2, manager), updated_at = $3 WHERE id = $4",
    )
    .bind(display_name)
    .bind(manager)
    .bind(now_ms())
    .bind(id)
    .execute(db)
    .await?;
    Ok(())
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

/// Marks a contributor deregistered; their keys (an earlier one too) stop
/// working, their scores stay.
pub async fn deregister(db: &Db, id: &str) -> Result<(), sqlx::Error> {
    let now = now_ms();
    let mut tx = db.begin().await?;
    sqlx::query("UPDATE contributors SET deleted_at = $1, updated_at = $1, key_hash = '' WHERE id = $2 AND deleted_at IS NULL")
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM earlier_keys WHERE contributor_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

/// Gives a contributor a new key (and, with `reactivate`, takes a
/// deregistered one back); an imported earlier key stops working. False
/// when the contributor was not in the state expected.
pub async fn replace_key(
    db: &Db,
    id: &str,
    salt: &str,
    hash: &str,
    reactivate: bool,
) -> Result<bool, sqlx::Error> {
    let now = now_ms();
    let mut tx = db.begin().await?;
    let sql = if reactivate {
        "UPDATE contributors SET key_salt = $1, key_hash = $2, deleted_at = NULL, updated_at = $3 WHERE id = $4 AND deleted_at IS NOT NULL"
    } else {
        "UPDATE contributors SET key_salt = $1, key_hash = $2, updated_at = $3 WHERE id = $4 AND deleted_at IS NULL"
    };
    let changed = sqlx::query(sql)
        .bind(salt)
        .bind(hash)
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected()
        == 1;
    if !changed {
        // The contributor changed meanwhile (deregistered or reactivated by
        // another call): nothing was replaced, so no earlier key goes either.
        tx.rollback().await?;
        return Ok(false);
    }
    sqlx::query("DELETE FROM earlier_keys WHERE contributor_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(true)
}

/// The contributor an earlier platform's key (by its SHA-256) belongs to.
pub async fn by_earlier_key(db: &Db, digest: &str) -> Result<Option<Contributor>, sqlx::Error> {
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT {} FROM contributors c JOIN earlier_keys k ON k.contributor_id = c.id WHERE k.digest = $1",
        COLUMNS
            .split(", ")
            .map(|c| format!("c.{c}"))
            .collect::<Vec<_>>()
            .join(", ")
    )))
    .bind(digest)
    .fetch_optional(db)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// A contributor to create by an import.
#[derive(Debug, Clone)]
pub struct Imported {
    pub id: String,
    pub name: String,
    pub display_name: String,
    pub challenge: Option<String>,
    pub salt: String,
    pub hash: String,
    /// SHA-256 of the earlier key that keeps working, if one is kept.
    pub earlier_key_digest: Option<String>,
}

/// Creates the contributors of an import in one transaction. A name (or an
/// earlier key) taken meanwhile, by a registration racing the import, is
/// skipped rather than failing the whole import; the ids really created
/// are returned.
pub async fn insert_imported(db: &Db, rows: &[Imported]) -> Result<Vec<String>, sqlx::Error> {
    let now = now_ms();
    let mut tx = db.begin().await?;
    let mut created = Vec::with_capacity(rows.len());
    for r in rows {
        let inserted = sqlx::query(
            "INSERT INTO contributors (id, name, display_name, active_challenge, key_salt, key_hash, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7) ON CONFLICT (name) DO NOTHING",
        )
        .bind(&r.id)
        .bind(&r.name)
        .bind(&r.display_name)
        .bind(r.challenge.as_deref())
        .bind(&r.salt)
        .bind(&r.hash)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if !inserted {
            continue;
        }
        if let Some(digest) = &r.earlier_key_digest {
            sqlx::query(
                "INSERT INTO earlier_keys (digest, contributor_id, created_at) VALUES ($1, $2, $3)
                 ON CONFLICT (digest) DO NOTHING",
            )
            .bind(digest)
            .bind(&r.id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        created.push(r.id.clone());
    }
    tx.commit().await?;
    Ok(created)
}

/// Which of `names` are taken.
pub async fn taken(db: &Db, names: &[String]) -> Result<Vec<String>, sqlx::Error> {
    present(db, "contributors", "name", names).await
}

/// Which of these earlier-key digests are already held.
pub async fn earlier_keys_held(db: &Db, digests: &[String]) -> Result<Vec<String>, sqlx::Error> {
    present(db, "earlier_keys", "digest", digests).await
}

/// The values of `column` in `table` among `values` (both names are ours).
async fn present(
    db: &Db,
    table: &'static str,
    column: &'static str,
    values: &[String],
) -> Result<Vec<String>, sqlx::Error> {
    let mut out = Vec::new();
    // Chunks keep the statement well under both databases' parameter limits.
    for chunk in values.chunks(500) {
        let params: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT {column} FROM {table} WHERE {column} IN ({})",
            params.join(", ")
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for v in chunk {
            q = q.bind(v);
        }
        for row in q.fetch_all(db).await? {
            out.push(row.try_get(column)?);
        }
    }
    Ok(out)
}
