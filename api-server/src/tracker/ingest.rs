//! Group commit for tracked runs. A post waits in a queue; a writer takes
//! what has queued up (up to `MAX_BATCH`), stores it in one transaction and
//! only then answers every post of the batch. One commit serves many
//! posts, and an acknowledged run is still a committed run.

use chaos_contract::TrackPayload;
use sqlx::AnyConnection;
use sqlx::pool::PoolConnection;
use tokio::sync::{mpsc, oneshot};

use super::store::{self, OnDuplicate};
use crate::db::{Backend, Db};

const MAX_BATCH: usize = 256;
const QUEUE: usize = 4_096;

struct Pending {
    run: store::NewRun,
    done: oneshot::Sender<Result<(), String>>,
}

/// The queue in front of the writer.
#[derive(Debug, Clone)]
pub struct Ingest {
    tx: mpsc::Sender<Pending>,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending")
            .field("id", &self.run.id)
            .finish_non_exhaustive()
    }
}

impl Ingest {
    /// Starts the writer. One, for both databases: SQLite has one writer
    /// anyway, and on PostgreSQL concurrent writers of one user's runs
    /// contend for the same index pages. Measured with 64 clients on 2 cores
    /// (2026-12-05): 1 writer 24,300-26,500 posts/s, 2 writers 24,700,
    /// 3 writers 22,700, 4 writers 20,100-20,200, 6 writers 19,500.
    ///
    /// The writer runs on a thread of its own. A stream of posts is bound by
    /// the commit's round trip, and as a task among the HTTP connections'
    /// tasks, the writer woke from each commit behind the requests queued
    /// meanwhile. A modest gain, alternating on PostgreSQL (2026-12-06):
    /// 46,000-47,400 posts/s against 41,100-46,000 in 4 rounds each, then
    /// medians of 43,400 against 42,200 in 9 rounds each.
    pub fn start(db: Db, backend: Backend) -> std::io::Result<Ingest> {
        let (tx, rx) = mpsc::channel(QUEUE);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        std::thread::Builder::new()
            .name("tracker-writer".to_owned())
            .spawn(move || runtime.block_on(write_batches(db, rx, backend)))?;
        Ok(Ingest { tx })
    }

    /// Stores one run; returns once it is committed.
    pub async fn store(
        &self,
        id: String,
        payload: TrackPayload,
        run_at: i64,
        raw: String,
    ) -> Result<(), String> {
        let (done, wait) = oneshot::channel();
        self.tx
            .send(Pending {
                run: store::NewRun {
                    id,
                    payload,
                    run_at_ms: run_at,
                    raw,
                },
                done,
            })
            .await
            .map_err(|_| "the tracker is shutting down".to_owned())?;
        wait.await
            .map_err(|_| "the tracker's writer stopped".to_owned())?
    }
}

/// The writer's own connection, kept from one batch to the next. Taking a
/// connection from the pool for every batch costs two more round trips per
/// batch (sqlx pings a connection when it is given back and again when it is
/// taken), which in a stream of posts is a third of a commit's time. The
/// pool's pings also caught a connection the database had closed; here a
/// batch that fails on a lost connection is sent again on a new one.
struct WriterConnection {
    db: Db,
    conn: Option<PoolConnection<sqlx::Any>>,
}

impl WriterConnection {
    async fn get(&mut self) -> Result<&mut AnyConnection, sqlx::Error> {
        let conn = match self.conn.take() {
            Some(conn) => conn,
            None => self.db.acquire().await?,
        };
        Ok(&mut **self.conn.insert(conn))
    }

    /// After a failed batch the connection's state is unknown (broken, or
    /// a rollback that failed): it is closed, and the next batch takes a
    /// fresh one.
    fn discard(&mut self) {
        if let Some(mut conn) = self.conn.take() {
            conn.close_on_drop();
        }
    }
}

async fn write_batches(db: Db, mut rx: mpsc::Receiver<Pending>, backend: Backend) {
    let mut conn = WriterConnection { db, conn: None };
    loop {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        match rx.recv().await {
            Some(p) => batch.push(p),
            None => break,
        }
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(p) => batch.push(p),
                Err(_) => break,
            }
        }
        let (runs, answers): (Vec<store::NewRun>, Vec<_>) =
            batch.into_iter().map(|p| (p.run, p.done)).unzip();
        let result = commit(&mut conn, backend, &runs).await.map_err(|e| {
            conn.discard();
            tracing::error!(error = %e, runs = runs.len(), "storing tracked runs failed");
            "the database failed; the run was not stored".to_owned()
        });
        for done in answers {
            let _ = done.send(result.clone());
        }
    }
    // A connection this thread opened is served by this thread's runtime,
    // which ends with it: closed, not handed back to the pool.
    conn.discard();
}

async fn commit(
    conn: &mut WriterConnection,
    backend: Backend,
    runs: &[store::NewRun],
) -> Result<(), sqlx::Error> {
    match insert(conn, backend, runs, OnDuplicate::Fail).await {
        Err(e) if connection_lost(&e) => {
            // Whether the first try committed is unknown; skipping ids
            // already stored makes the second try store each run once.
            tracing::warn!(error = %e, "the database connection was lost; sending the batch again on a new one");
            conn.discard();
            insert(conn, backend, runs, OnDuplicate::Skip).await
        }
        other => other,
    }
}

async fn insert(
    conn: &mut WriterConnection,
    backend: Backend,
    runs: &[store::NewRun],
    duplicates: OnDuplicate,
) -> Result<(), sqlx::Error> {
    let conn = conn.get().await?;
    match backend {
        // One call into SQLite's worker thread per batch; a few rows per
        // INSERT, since binding is slower per parameter the more a
        // statement has.
        Backend::Sqlite => store::insert_batch_sqlite(conn, runs, 8, duplicates).await,
        // One INSERT of the whole batch: atomic on its own, so one round
        // trip instead of three (BEGIN, INSERT, COMMIT).
        Backend::Postgres => store::insert_batch(conn, runs, duplicates).await,
    }
}

/// A failure of the connection rather than of the statement: the socket,
/// or PostgreSQL ending the session (class 57P: shutdown, restart; class
/// 08: connection exceptions).
fn connection_lost(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_) | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|c| c.starts_with("57P") || c.starts_with("08")),
        _ => false,
    }
}
