//! Live sessions and their leases: what the broker holds for a streamer who is live (the CDN
//! forwards it created), and until when.
//!
//! With Redis, a session is a JSON value under its key and its lease deadline a score in one
//! sorted set, so any instance can renew it, close it or find it lapsed. Removing the id from
//! the sorted set is the claim: only the instance whose `ZREM` removed it cleans the session up,
//! so a session closed and swept at once is cleaned up once. Without Redis (or while it is
//! away) sessions live in this instance's memory.
//!
//! A stream has at most one session: a second Start Streaming for a stream already live (a
//! reconnect, a failover) joins the open session instead of creating its forwards again, so the
//! lapse of an abandoned duplicate can never delete the forwards of the stream still live.

use crate::redis_link::{unix_millis, RedisLink, PREFIX};
use redis::AsyncCommands;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Sessions claimed per sweep at most; the rest wait for the next.
const SWEEP_BATCH: isize = 50;
/// How long a session's value outlives its lease in Redis, so that a sweep that claims it late
/// still finds what to delete (the sweep removes it).
const KEEP_AFTER_LEASE: Duration = Duration::from_secs(24 * 60 * 60);

/// Renews a lease unless it lapsed. KEYS[1]: the leases, KEYS[2]: the session, KEYS[3]: its
/// stream's index. ARGV: id, now, new deadline (ms), seconds to keep the values.
const RENEW_SCRIPT: &str = r"
local deadline = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not deadline or tonumber(deadline) < tonumber(ARGV[2]) then
  return 0
end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[4])
if redis.call('GET', KEYS[3]) == ARGV[1] then
  redis.call('EXPIRE', KEYS[3], ARGV[4])
end
return 1
";

/// Removes a session and its lease; returns 1 for the caller that removed the lease (the
/// claim). KEYS[1]: the leases, KEYS[2]: the session, KEYS[3]: its stream's index. ARGV: id.
const CLAIM_SCRIPT: &str = r"
local removed = redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2])
if redis.call('GET', KEYS[3]) == ARGV[1] then
  redis.call('DEL', KEYS[3])
end
return removed
";

/// One streamer's live session.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// The session id the plugin heartbeats with.
    pub id: String,
    /// The streamer: only their tokens may renew or stop it.
    pub sub: String,
    /// The token that opened it (for the logs).
    pub jti: String,
    /// What the session is for: `zego:<AppId>:<StreamId>` or `aliyun:<seat>`.
    pub stream: String,
    /// The ZEGOCLOUD stream whose forwards the session holds.
    pub stream_id: Option<String>,
    /// The CDN forwards created for it, exactly as created (usually embedding a CDN key).
    pub cdn_urls: Vec<String>,
    /// Closed, its forwards still to delete (a clean-up to try again): never joined.
    #[serde(default)]
    pub closing: bool,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.id)
            .field("sub", &self.sub)
            .field("jti", &self.jti)
            .field("stream", &self.stream)
            .field("cdn_urls", &self.cdn_urls.len())
            .finish()
    }
}

/// Why a heartbeat or stop was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RenewError {
    /// No such session, or its lease lapsed.
    Unknown,
    /// The session belongs to another streamer.
    NotYours,
}

/// The sessions, with their leases.
#[derive(Debug)]
pub struct Sessions {
    link: Option<Arc<RedisLink>>,
    renew: redis::Script,
    claim: redis::Script,
    local: Mutex<HashMap<String, (Session, Instant)>>,
    lease: Duration,
}

fn session_key(id: &str) -> String {
    format!("{PREFIX}:session:{id}")
}

fn stream_key(stream: &str) -> String {
    format!("{PREFIX}:stream-session:{stream}")
}

fn leases_key() -> String {
    format!("{PREFIX}:leases")
}

impl Sessions {
    /// Sessions with `lease`, shared through `link` or in memory.
    pub fn new(link: Option<Arc<RedisLink>>, lease: Duration) -> Self {
        Sessions {
            link,
            renew: redis::Script::new(RENEW_SCRIPT),
            claim: redis::Script::new(CLAIM_SCRIPT),
            local: Mutex::default(),
            lease,
        }
    }

    /// The lease a heartbeat buys.
    pub fn lease(&self) -> Duration {
        self.lease
    }

    fn keep_seconds(&self) -> u64 {
        (self.lease + KEEP_AFTER_LEASE).as_secs()
    }

    /// The open session of `stream` for `sub`, renewed, when there is one: a Start Streaming
    /// for a stream already live joins it.
    pub async fn join(&self, stream: &str, sub: &str) -> Option<Session> {
        let local = {
            let map = self.local_map();
            map.values()
                .find(|(s, deadline)| {
                    s.stream == stream && !s.closing && *deadline >= Instant::now()
                })
                .map(|(s, _)| s.clone())
        };
        let found = match local {
            Some(session) => Some(session),
            None => {
                let link = self.link.as_ref()?;
                let index = stream_key(stream);
                let id: Option<String> = link
                    .run("find the stream's session", |mut conn| async move {
                        conn.get(index).await
                    })
                    .await
                    .flatten();
                self.read(link, &id?).await
            }
        }?;
        if found.sub != sub || found.closing {
            return None;
        }
        self.renew(&found.id, sub).await.ok()?;
        Some(found)
    }

    /// Opens `session` with a full lease.
    pub async fn open(&self, session: Session) {
        if let Some(link) = &self.link {
            let json = serde_json::to_string(&session).expect("a session serializes");
            let deadline = unix_millis() + self.lease.as_millis() as u64;
            let (key, index, id) = (
                session_key(&session.id),
                stream_key(&session.stream),
                session.id.clone(),
            );
            let keep = self.keep_seconds();
            let stored = link
                .run("open session", |mut conn| async move {
                    redis::pipe()
                        .set_ex(key, json, keep)
                        .ignore()
                        .set_ex(index, &id, keep)
                        .ignore()
                        .zadd(leases_key(), &id, deadline)
                        .ignore()
                        .query_async::<()>(&mut conn)
                        .await
                })
                .await;
            if stored.is_some() {
                return;
            }
        }
        let deadline = Instant::now() + self.lease;
        self.local_map()
            .insert(session.id.clone(), (session, deadline));
    }

    async fn read(&self, link: &RedisLink, id: &str) -> Option<Session> {
        let key = session_key(id);
        link.run("read session", |mut conn| async move {
            conn.get::<_, Option<String>>(key).await
        })
        .await
        .flatten()
        .and_then(|s| serde_json::from_str(&s).ok())
    }

    /// Renews `id`'s lease for the streamer `sub`.
    pub async fn renew(&self, id: &str, sub: &str) -> Result<(), RenewError> {
        {
            let mut local = self.local_map();
            if let Some((session, deadline)) = local.get_mut(id) {
                if session.sub != sub {
                    return Err(RenewError::NotYours);
                }
                if *deadline < Instant::now() {
                    return Err(RenewError::Unknown);
                }
                *deadline = Instant::now() + self.lease;
                return Ok(());
            }
        }
        let Some(link) = &self.link else {
            return Err(RenewError::Unknown);
        };
        let key = session_key(id);
        let Some(stored) = link
            .run("read session", |mut conn| async move {
                conn.get::<_, Option<String>>(key).await
            })
            .await
        else {
            // Redis is away: the session cannot be checked, and ending a stream for that
            // would be worse than a lease renewed without checking.
            log::warn!("session {id}: heartbeat accepted unchecked while Redis is away");
            return Ok(());
        };
        let session: Session = stored
            .and_then(|s| serde_json::from_str(&s).ok())
            .ok_or(RenewError::Unknown)?;
        if session.sub != sub {
            return Err(RenewError::NotYours);
        }
        let now = unix_millis();
        let deadline = now + self.lease.as_millis() as u64;
        let keep = self.keep_seconds();
        let (key, index, id) = (session_key(id), stream_key(&session.stream), id.to_string());
        let renewed: Option<i64> = link
            .run("renew lease", |mut conn| async move {
                self.renew
                    .key(leases_key())
                    .key(key)
                    .key(index)
                    .arg(id)
                    .arg(now)
                    .arg(deadline)
                    .arg(keep)
                    .invoke_async(&mut conn)
                    .await
            })
            .await;
        match renewed {
            Some(1) | None => Ok(()),
            Some(_) => Err(RenewError::Unknown),
        }
    }

    /// Claims `id` for closing: the session to clean up, or `None` when it is already closed
    /// or another instance claimed it. Another streamer's session is not closed.
    pub async fn close(&self, id: &str, sub: &str) -> Result<Option<Session>, RenewError> {
        {
            let mut local = self.local_map();
            if let Some((session, _)) = local.get(id) {
                if session.sub != sub {
                    return Err(RenewError::NotYours);
                }
                return Ok(local.remove(id).map(|(s, _)| s));
            }
        }
        let Some(link) = &self.link else {
            return Ok(None);
        };
        let Some(session) = self.read(link, id).await else {
            return Ok(None);
        };
        if session.sub != sub {
            return Err(RenewError::NotYours);
        }
        Ok(self.claim(link, session).await)
    }

    /// Removes `session` with its lease; it is this instance's to clean up when that removed
    /// the lease.
    async fn claim(&self, link: &RedisLink, session: Session) -> Option<Session> {
        let (key, index, id) = (
            session_key(&session.id),
            stream_key(&session.stream),
            session.id.clone(),
        );
        let removed: i64 = link
            .run("claim session", |mut conn| async move {
                self.claim
                    .key(leases_key())
                    .key(key)
                    .key(index)
                    .arg(id)
                    .invoke_async(&mut conn)
                    .await
            })
            .await?;
        (removed == 1).then_some(session)
    }

    /// Claims the sessions whose lease lapsed (in memory, and in Redis for every instance).
    pub async fn claim_lapsed(&self) -> Vec<Session> {
        let now = Instant::now();
        let mut lapsed: Vec<Session> = {
            let mut local = self.local_map();
            let ids: Vec<String> = local
                .iter()
                .filter(|(_, (_, deadline))| *deadline < now)
                .map(|(id, _)| id.clone())
                .collect();
            ids.iter()
                .filter_map(|id| local.remove(id).map(|(s, _)| s))
                .collect()
        };
        let Some(link) = &self.link else {
            return lapsed;
        };
        let due = unix_millis();
        let ids: Vec<String> = link
            .run("find lapsed leases", |mut conn| async move {
                conn.zrangebyscore_limit(leases_key(), 0, due, 0, SWEEP_BATCH)
                    .await
            })
            .await
            .unwrap_or_default();
        for id in ids {
            match self.read(link, &id).await {
                Some(session) => lapsed.extend(self.claim(link, session).await),
                None => {
                    // A lease without its session: nothing to clean up but the lease.
                    link.run("drop lease", |mut conn| async move {
                        conn.zrem::<_, _, ()>(leases_key(), id).await
                    })
                    .await;
                }
            }
        }
        lapsed
    }

    /// Puts back a session whose clean-up failed, to be claimed again after `retry`.
    pub async fn retry_later(&self, mut session: Session, retry: Duration) {
        session.closing = true;
        if let Some(link) = &self.link {
            let json = serde_json::to_string(&session).expect("a session serializes");
            let deadline = unix_millis() + retry.as_millis() as u64;
            let (key, id) = (session_key(&session.id), session.id.clone());
            let keep = (retry + KEEP_AFTER_LEASE).as_secs();
            let stored = link
                .run("requeue session", |mut conn| async move {
                    redis::pipe()
                        .set_ex(key, json, keep)
                        .ignore()
                        .zadd(leases_key(), id, deadline)
                        .ignore()
                        .query_async::<()>(&mut conn)
                        .await
                })
                .await;
            if stored.is_some() {
                return;
            }
        }
        self.local_map()
            .insert(session.id.clone(), (session, Instant::now() + retry));
    }

    /// Sessions open now (this instance's, plus Redis's when it is up), for `/metrics`.
    pub async fn count(&self) -> u64 {
        let local = self.local_map().len() as u64;
        let Some(link) = &self.link else {
            return local;
        };
        let shared: Option<u64> = link
            .run("count sessions", |mut conn| async move {
                conn.zcard(leases_key()).await
            })
            .await;
        local + shared.unwrap_or(0)
    }

    fn local_map(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Session, Instant)>> {
        self.local.lock().unwrap_or_else(|e| e.into_inner())
    }
}
