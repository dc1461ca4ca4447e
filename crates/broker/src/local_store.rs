//! The broker's own durable state: an SQLite file (`state_path`), written through before the
//! broker answers.
//!
//! Without Redis it holds every session with its lease, so that kill -9, SIGTERM or a power cut
//! lose none: a restarted broker renews, stops and sweeps them as if it had never gone away,
//! and their CDN forwards are deleted when their lease lapses. With Redis it holds what this
//! instance could not write there while Redis was away. It also keeps every revocation this
//! instance made or saw, until the revoked token would have expired anyway.
//!
//! A session's CDN forwards are recorded in it before they are created at the vendor (see
//! [`crate::broker`]), so whatever the vendor may hold is always on record here.
//!
//! Every write is a transaction committed with `synchronous = FULL` in WAL mode: the commit is
//! on disk (fsync) when the call returns. The calls block; [`LocalStore::run`] moves them to
//! tokio's blocking pool.

use crate::sessions::Session;
use rusqlite::{params, Connection, OptionalExtension};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long a stopped session is remembered, so that a repeated stop is told it already
/// happened rather than that the session never existed.
pub const STOPPED_MEMORY: Duration = Duration::from_secs(24 * 60 * 60);

/// The state file could not be read or written.
#[derive(Debug, thiserror::Error)]
#[error("the broker's state file {path}: {source}")]
pub struct StoreError {
    path: PathBuf,
    #[source]
    source: rusqlite::Error,
}

/// The SQLite file, one connection used by one call at a time.
#[derive(Debug, Clone)]
pub struct LocalStore {
    path: PathBuf,
    conn: Arc<Mutex<Connection>>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    sub TEXT NOT NULL,
    stream TEXT NOT NULL,
    closing INTEGER NOT NULL,
    deadline_ms INTEGER NOT NULL,
    body TEXT NOT NULL
);
-- One live session per stream: the claim a second Start Streaming cannot also win.
CREATE UNIQUE INDEX IF NOT EXISTS one_open_session_per_stream ON sessions (stream) WHERE closing = 0;
CREATE INDEX IF NOT EXISTS sessions_by_deadline ON sessions (deadline_ms);
CREATE TABLE IF NOT EXISTS stopped (
    id TEXT PRIMARY KEY,
    sub TEXT NOT NULL,
    at_ms INTEGER NOT NULL
);
-- shared: written to Redis too (0 while Redis was away: written when it is back).
CREATE TABLE IF NOT EXISTS revoked (
    jti TEXT PRIMARY KEY,
    until_s INTEGER NOT NULL,
    shared INTEGER NOT NULL DEFAULT 1
);
-- The tokens the `token` command minted (their claims, until they expire), for `token list`.
CREATE TABLE IF NOT EXISTS minted (
    jti TEXT PRIMARY KEY,
    sub TEXT NOT NULL,
    exp_s INTEGER NOT NULL,
    claims TEXT NOT NULL
);
-- Every token of a streamer issued at or before before_s is revoked.
CREATE TABLE IF NOT EXISTS revoked_subs (
    sub TEXT PRIMARY KEY,
    before_s INTEGER NOT NULL,
    until_s INTEGER NOT NULL,
    shared INTEGER NOT NULL DEFAULT 1
);
";

impl LocalStore {
    /// Opens (or creates) the state file at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let wrap = |source| StoreError {
            path: path.to_path_buf(),
            source,
        };
        let conn = Connection::open(path).map_err(wrap)?;
        conn.busy_timeout(Duration::from_secs(5)).map_err(wrap)?;
        // WAL: readers never wait for the writer; FULL: each commit is fsync'd before it returns.
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(wrap)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(wrap)?;
        conn.execute_batch(SCHEMA).map_err(wrap)?;
        Ok(LocalStore {
            path: path.to_path_buf(),
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `op` on the connection, on tokio's blocking pool (a commit waits for the disk).
    pub async fn run<T: Send + 'static>(
        &self,
        op: impl FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, StoreError> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.run_here(op))
            .await
            .expect("a state file call does not panic")
    }

    /// Runs `op` on the connection on this thread.
    pub fn run_here<T>(
        &self,
        op: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        let mut conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        op(&mut conn).map_err(|source| StoreError {
            path: self.path.clone(),
            source,
        })
    }
}

fn session_from(body: String) -> rusqlite::Result<Session> {
    serde_json::from_str(&body).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

fn body_of(session: &Session) -> String {
    serde_json::to_string(session).expect("a session serializes")
}

/// Inserts `session` with its lease deadline, unless its stream already has an open session:
/// then returns that one (nothing written).
pub fn insert_session(
    conn: &mut Connection,
    session: &Session,
    deadline_ms: u64,
    now_ms: u64,
) -> rusqlite::Result<Option<Session>> {
    let tx = conn.transaction()?;
    // An open session whose lease lapsed is the sweep's: it no longer holds the stream.
    let open: Option<(String, i64)> = tx
        .query_row(
            "SELECT body, deadline_ms FROM sessions WHERE stream = ?1 AND closing = 0",
            params![session.stream],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?;
    if let Some((body, deadline)) = open {
        if deadline >= now_ms as i64 {
            return Ok(Some(session_from(body)?));
        }
        // Hand the stream to the new session; the lapsed one is closed for the sweep.
        let mut lapsed = session_from(body)?;
        lapsed.closing = true;
        tx.execute(
            "UPDATE sessions SET closing = 1, body = ?2 WHERE id = ?1",
            params![lapsed.id, body_of(&lapsed)],
        )?;
    }
    put_session(&tx, session, deadline_ms)?;
    tx.commit()?;
    Ok(None)
}

/// Writes `session` (replacing the stored one) with a new deadline.
pub fn put_session(conn: &Connection, session: &Session, deadline_ms: u64) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO sessions (id, sub, stream, closing, deadline_ms, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (id) DO UPDATE SET closing = ?4, deadline_ms = ?5, body = ?6",
        params![
            session.id,
            session.sub,
            session.stream,
            session.closing,
            deadline_ms as i64,
            body_of(session)
        ],
    )?;
    Ok(())
}

/// The session `id` with its deadline.
pub fn session(conn: &mut Connection, id: &str) -> rusqlite::Result<Option<(Session, u64)>> {
    conn.query_row(
        "SELECT body, deadline_ms FROM sessions WHERE id = ?1",
        params![id],
        |row| Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)? as u64)),
    )
    .optional()?
    .map(|(body, deadline)| Ok((session_from(body)?, deadline)))
    .transpose()
}

/// The open session of `stream` whose lease runs at `now_ms`.
pub fn open_session_of(
    conn: &mut Connection,
    stream: &str,
    now_ms: u64,
) -> rusqlite::Result<Option<Session>> {
    conn.query_row(
        "SELECT body FROM sessions WHERE stream = ?1 AND closing = 0 AND deadline_ms >= ?2",
        params![stream, now_ms as i64],
        |row| row.get::<_, String>(0),
    )
    .optional()?
    .map(session_from)
    .transpose()
}

/// Replaces the stored value of the open session `id`; false when it is gone or closing.
pub fn replace_body(conn: &mut Connection, id: &str, session: &Session) -> rusqlite::Result<bool> {
    Ok(conn.execute(
        "UPDATE sessions SET body = ?2 WHERE id = ?1 AND closing = 0",
        params![id, body_of(session)],
    )? == 1)
}

/// Moves `id`'s deadline; false when there is no such session.
pub fn set_deadline(conn: &mut Connection, id: &str, deadline_ms: u64) -> rusqlite::Result<bool> {
    Ok(conn.execute(
        "UPDATE sessions SET deadline_ms = ?2 WHERE id = ?1",
        params![id, deadline_ms as i64],
    )? == 1)
}

/// Removes the session `id` (the claim: only the caller that removed it cleans it up) and,
/// for a stop, remembers it as stopped.
pub fn remove_session(
    conn: &mut Connection,
    id: &str,
    stopped_at_ms: Option<u64>,
) -> rusqlite::Result<Option<Session>> {
    let tx = conn.transaction()?;
    let body: Option<String> = tx
        .query_row(
            "DELETE FROM sessions WHERE id = ?1 RETURNING body",
            params![id],
            |row| row.get(0),
        )
        .optional()?;
    let session = body.map(session_from).transpose()?;
    if let (Some(session), Some(at)) = (&session, stopped_at_ms) {
        tx.execute(
            "INSERT OR REPLACE INTO stopped (id, sub, at_ms) VALUES (?1, ?2, ?3)",
            params![session.id, session.sub, at as i64],
        )?;
    }
    tx.commit()?;
    Ok(session)
}

/// The streamer whose stop ended session `id`, when it was stopped recently.
pub fn stopped_by(conn: &mut Connection, id: &str) -> rusqlite::Result<Option<String>> {
    conn.query_row(
        "SELECT sub FROM stopped WHERE id = ?1",
        params![id],
        |row| row.get(0),
    )
    .optional()
}

/// Removes and returns up to `limit` sessions whose lease lapsed before `now_ms`, and forgets
/// stops older than [`STOPPED_MEMORY`].
pub fn take_lapsed(
    conn: &mut Connection,
    now_ms: u64,
    limit: usize,
) -> rusqlite::Result<Vec<Session>> {
    let tx = conn.transaction()?;
    let bodies: Vec<String> = {
        let mut statement = tx.prepare(
            "DELETE FROM sessions WHERE id IN
               (SELECT id FROM sessions WHERE deadline_ms < ?1 ORDER BY deadline_ms LIMIT ?2)
             RETURNING body",
        )?;
        let rows = statement.query_map(params![now_ms as i64, limit as i64], |row| row.get(0))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    tx.execute(
        "DELETE FROM stopped WHERE at_ms < ?1",
        params![now_ms.saturating_sub(STOPPED_MEMORY.as_millis() as u64) as i64],
    )?;
    tx.commit()?;
    bodies.into_iter().map(session_from).collect()
}

/// Open sessions whose lease runs at `now_ms`.
pub fn count_open(conn: &mut Connection, now_ms: u64) -> rusqlite::Result<u64> {
    conn.query_row(
        "SELECT COUNT(*) FROM sessions WHERE closing = 0 AND deadline_ms >= ?1",
        params![now_ms as i64],
        |row| row.get::<_, i64>(0).map(|n| n as u64),
    )
}

/// Every session (for handing them to Redis once it is back).
pub fn all_sessions(conn: &mut Connection) -> rusqlite::Result<Vec<(Session, u64)>> {
    let mut statement = conn.prepare("SELECT body, deadline_ms FROM sessions")?;
    let rows = statement.query_map([], |row| {
        Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)? as u64))
    })?;
    rows.map(|row| {
        let (body, deadline) = row?;
        Ok((session_from(body)?, deadline))
    })
    .collect()
}

/// Records `jti` as revoked until `until_s` (Unix seconds; the token's expiry or later).
pub fn revoke(conn: &mut Connection, jti: &str, until_s: u64) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO revoked (jti, until_s) VALUES (?1, ?2)
         ON CONFLICT (jti) DO UPDATE SET until_s = MAX(until_s, ?2)",
        params![jti, until_s as i64],
    )?;
    Ok(())
}

/// Marks the revocation of `jti` (`sub`: of a streamer) as not written to Redis yet.
pub fn mark_unshared(
    conn: &mut Connection,
    jti: Option<&str>,
    sub: Option<&str>,
) -> rusqlite::Result<()> {
    if let Some(jti) = jti {
        conn.execute("UPDATE revoked SET shared = 0 WHERE jti = ?1", params![jti])?;
    }
    if let Some(sub) = sub {
        conn.execute(
            "UPDATE revoked_subs SET shared = 0 WHERE sub = ?1",
            params![sub],
        )?;
    }
    Ok(())
}

/// The revocations not written to Redis yet: (jti, until) and (sub, before, until).
pub type Unshared = (Vec<(String, u64)>, Vec<(String, u64, u64)>);

/// The revocations made while Redis was away.
pub fn unshared(conn: &mut Connection) -> rusqlite::Result<Unshared> {
    let jtis = {
        let mut statement = conn.prepare("SELECT jti, until_s FROM revoked WHERE shared = 0")?;
        let rows =
            statement.query_map([], |row| Ok((row.get(0)?, row.get::<_, i64>(1)? as u64)))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()?
    };
    let subs = {
        let mut statement =
            conn.prepare("SELECT sub, before_s, until_s FROM revoked_subs WHERE shared = 0")?;
        let rows = statement.query_map([], |row| {
            Ok((
                row.get(0)?,
                row.get::<_, i64>(1)? as u64,
                row.get::<_, i64>(2)? as u64,
            ))
        })?;
        rows.collect::<rusqlite::Result<Vec<_>>>()?
    };
    Ok((jtis, subs))
}

/// Marks revocations as written to Redis.
pub fn mark_shared(
    conn: &mut Connection,
    jtis: &[String],
    subs: &[String],
) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    for jti in jtis {
        tx.execute("UPDATE revoked SET shared = 1 WHERE jti = ?1", params![jti])?;
    }
    for sub in subs {
        tx.execute(
            "UPDATE revoked_subs SET shared = 1 WHERE sub = ?1",
            params![sub],
        )?;
    }
    tx.commit()
}

/// Every revocation still in force at `now_s`; older ones are forgotten.
pub fn revocations(conn: &mut Connection, now_s: u64) -> rusqlite::Result<Vec<(String, u64)>> {
    conn.execute(
        "DELETE FROM revoked WHERE until_s < ?1",
        params![now_s as i64],
    )?;
    let mut statement = conn.prepare("SELECT jti, until_s FROM revoked")?;
    let rows = statement.query_map([], |row| Ok((row.get(0)?, row.get::<_, i64>(1)? as u64)))?;
    rows.collect()
}

/// Records a token the `token` command minted (its claims as JSON).
pub fn record_token(
    conn: &mut Connection,
    jti: &str,
    sub: &str,
    exp_s: u64,
    claims: &str,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT OR REPLACE INTO minted (jti, sub, exp_s, claims) VALUES (?1, ?2, ?3, ?4)",
        params![jti, sub, exp_s as i64, claims],
    )?;
    Ok(())
}

/// The claims of the minted tokens that have not expired at `now_s`; older ones are forgotten.
pub fn minted_tokens(conn: &mut Connection, now_s: u64) -> rusqlite::Result<Vec<String>> {
    conn.execute("DELETE FROM minted WHERE exp_s < ?1", params![now_s as i64])?;
    let mut statement = conn.prepare("SELECT claims FROM minted")?;
    let rows = statement.query_map([], |row| row.get(0))?;
    rows.collect()
}

/// Revokes every token of `sub` issued at or before `before_s`, kept until `until_s`.
pub fn revoke_sub(
    conn: &mut Connection,
    sub: &str,
    before_s: u64,
    until_s: u64,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO revoked_subs (sub, before_s, until_s) VALUES (?1, ?2, ?3)
         ON CONFLICT (sub) DO UPDATE SET before_s = MAX(before_s, ?2), until_s = MAX(until_s, ?3)",
        params![sub, before_s as i64, until_s as i64],
    )?;
    Ok(())
}

/// Every streamer revocation still in force at `now_s`: (sub, issued at or before); older ones
/// are forgotten.
pub fn sub_revocations(conn: &mut Connection, now_s: u64) -> rusqlite::Result<Vec<(String, u64)>> {
    conn.execute(
        "DELETE FROM revoked_subs WHERE until_s < ?1",
        params![now_s as i64],
    )?;
    let mut statement = conn.prepare("SELECT sub, before_s FROM revoked_subs")?;
    let rows = statement.query_map([], |row| Ok((row.get(0)?, row.get::<_, i64>(1)? as u64)))?;
    rows.collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(id: &str, stream: &str) -> Session {
        Session {
            id: id.into(),
            sub: "alice".into(),
            jti: "j".into(),
            stream: stream.into(),
            stream_id: Some("s".into()),
            cdn_urls: vec!["rtmp://cdn.example/live/key".into()],
            closing: false,
            outcomes: Vec::new(),
            cdn_required: false,
        }
    }

    fn store() -> (LocalStore, tempdir::Dir) {
        let dir = tempdir::Dir::new();
        (LocalStore::open(&dir.0.join("state.db")).unwrap(), dir)
    }

    /// A private directory removed on drop (no tempfile dependency for three tests).
    mod tempdir {
        pub struct Dir(pub std::path::PathBuf);
        impl Dir {
            pub fn new() -> Self {
                let path = std::env::temp_dir().join(format!(
                    "broker-store-{}-{}",
                    std::process::id(),
                    crate::token::new_id()
                ));
                std::fs::create_dir_all(&path).unwrap();
                Dir(path)
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    #[test]
    fn a_stream_has_one_open_session_until_its_lease_lapses() {
        let (store, _dir) = store();
        let first = sample("a", "zego:1:s");
        let open = store
            .run_here(|c| insert_session(c, &first, 2_000, 1_000))
            .unwrap();
        assert_eq!(open, None);
        let second = sample("b", "zego:1:s");
        let open = store
            .run_here(|c| insert_session(c, &second, 3_000, 1_500))
            .unwrap();
        assert_eq!(open.map(|s| s.id), Some("a".into()), "the open one is kept");
        // After the first one's lease: the new session takes the stream, the old one is the
        // sweep's (its forwards are still deleted).
        let open = store
            .run_here(|c| insert_session(c, &second, 5_000, 2_500))
            .unwrap();
        assert_eq!(open, None);
        let lapsed = store.run_here(|c| take_lapsed(c, 2_600, 10)).unwrap();
        assert_eq!(lapsed.len(), 1);
        assert_eq!((lapsed[0].id.as_str(), lapsed[0].closing), ("a", true));
    }

    #[test]
    fn what_is_written_survives_reopening() {
        let (store, dir) = store();
        store
            .run_here(|c| insert_session(c, &sample("a", "x"), 9_000, 1_000))
            .unwrap();
        store.run_here(|c| revoke(c, "jti-1", 500)).unwrap();
        drop(store);
        let again = LocalStore::open(&dir.0.join("state.db")).unwrap();
        let (found, deadline) = again.run_here(|c| session(c, "a")).unwrap().unwrap();
        assert_eq!((found.id.as_str(), deadline), ("a", 9_000));
        let revoked = again.run_here(|c| revocations(c, 400)).unwrap();
        assert_eq!(revoked, vec![("jti-1".to_string(), 500)]);
        assert!(again.run_here(|c| revocations(c, 501)).unwrap().is_empty());
    }

    #[test]
    fn a_stop_is_remembered_for_a_day() {
        let (store, _dir) = store();
        store
            .run_here(|c| insert_session(c, &sample("a", "x"), 9_000, 1_000))
            .unwrap();
        let removed = store
            .run_here(|c| remove_session(c, "a", Some(2_000)))
            .unwrap();
        assert!(removed.is_some());
        assert_eq!(
            store
                .run_here(|c| remove_session(c, "a", Some(2_100)))
                .unwrap(),
            None,
            "a second stop removes nothing"
        );
        assert_eq!(
            store.run_here(|c| stopped_by(c, "a")).unwrap().as_deref(),
            Some("alice")
        );
        let day = STOPPED_MEMORY.as_millis() as u64;
        store
            .run_here(|c| take_lapsed(c, 2_000 + day + 1, 10))
            .unwrap();
        assert_eq!(store.run_here(|c| stopped_by(c, "a")).unwrap(), None);
    }
}
