//! Revoked token ids (`jti`), and streamers all of whose tokens up to a time are revoked
//! (`revoke --sub`): in Redis for every instance, and in this instance's state file.
//!
//! A revocation is permanent for the token's life. Each instance remembers every revoked id it
//! has seen, in memory and in its state file (written before the revocation is answered), so a
//! token refused once stays refused while Redis is away and after a restart; one revoked
//! elsewhere while Redis is away is refused once Redis returns.

use crate::local_store::{self, LocalStore, StoreError};
use crate::redis_link::{unix_millis, RedisLink, PREFIX};
use crate::token::MAX_TTL;
use redis::AsyncCommands;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

/// The Redis key of a revoked `jti`.
pub fn revoked_key(jti: &str) -> String {
    format!("{PREFIX}:revoked:{jti}")
}

/// How long Redis keeps a revocation whose token's `exp` is unknown: longer than any token
/// accepted now lives.
pub const REVOCATION_TTL_SECONDS: u64 = MAX_TTL.as_secs() + 24 * 60 * 60;

/// The Redis key of a streamer's revocation (its value: tokens issued at or before it, Unix
/// seconds, are revoked).
pub fn revoked_sub_key(sub: &str) -> String {
    format!("{PREFIX}:revoked-sub:{sub}")
}

/// How long a streamer's revocation is kept: every token it covers has expired by then.
pub const SUB_REVOCATION_SECONDS: u64 = MAX_TTL.as_secs() + 24 * 60 * 60;

/// Where a revocation holds as it is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// On every instance (through Redis, or the only instance there is).
    Everywhere,
    /// On this instance now (in its state file); on the others once Redis is back, when it is
    /// written there.
    WhenRedisReturns,
}

/// The revoked ids, and the streamers all of whose tokens up to a time are revoked.
#[derive(Debug)]
pub struct Revocations {
    link: Option<Arc<RedisLink>>,
    store: LocalStore,
    local: Mutex<HashSet<String>>,
    subs: Mutex<HashMap<String, u64>>,
}

impl Revocations {
    /// Revocations shared through `link`, kept in `store`, starting with those `store` holds.
    pub fn new(link: Option<Arc<RedisLink>>, store: LocalStore) -> Result<Self, StoreError> {
        let now = unix_millis() / 1000;
        let known = store.run_here(|c| local_store::revocations(c, now))?;
        let subs = store.run_here(|c| local_store::sub_revocations(c, now))?;
        Ok(Revocations {
            link,
            store,
            local: Mutex::new(known.into_iter().map(|(jti, _)| jti).collect()),
            subs: Mutex::new(subs.into_iter().collect()),
        })
    }

    /// Whether every token of `sub` issued at `iat` or earlier was revoked.
    pub async fn is_sub_revoked(&self, sub: &str, iat: u64) -> bool {
        let known = self.subs().get(sub).copied();
        if known.is_some_and(|before| iat <= before) {
            return true;
        }
        let Some(link) = &self.link else {
            return false;
        };
        let key = revoked_sub_key(sub);
        let shared: Option<u64> = link
            .run("streamer revocation check", |mut conn| async move {
                conn.get::<_, Option<u64>>(key).await
            })
            .await
            .flatten();
        match shared {
            Some(before) => {
                let mut subs = self.subs();
                let entry = subs.entry(sub.to_string()).or_insert(before);
                *entry = (*entry).max(before);
                iat <= *entry
            }
            None => false,
        }
    }

    /// Revokes every token of `sub` issued up to now; returns that time (Unix seconds) and
    /// where it holds. `Err` as for [`revoke`](Self::revoke).
    pub async fn revoke_sub(&self, sub: &str) -> Result<(u64, Reach), StoreError> {
        let before = unix_millis() / 1000;
        let (key, until) = (sub.to_string(), before + SUB_REVOCATION_SECONDS);
        self.store
            .run(move |c| local_store::revoke_sub(c, &key, before, until))
            .await?;
        self.subs().insert(sub.to_string(), before);
        let Some(link) = &self.link else {
            return Ok((before, Reach::Everywhere));
        };
        let key = revoked_sub_key(sub);
        let shared = link
            .run("revoke streamer", |mut conn| async move {
                conn.set_ex::<_, _, ()>(key, before, SUB_REVOCATION_SECONDS)
                    .await
            })
            .await;
        if shared.is_some() {
            return Ok((before, Reach::Everywhere));
        }
        self.not_shared(None, Some(sub)).await;
        Ok((before, Reach::WhenRedisReturns))
    }

    fn subs(&self) -> std::sync::MutexGuard<'_, HashMap<String, u64>> {
        self.subs.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether `jti` was revoked (as far as can be known now).
    pub async fn is_revoked(&self, jti: &str) -> bool {
        if self.local().contains(jti) {
            return true;
        }
        let Some(link) = &self.link else {
            return false;
        };
        let key = revoked_key(jti);
        let found = link
            .run("revocation check", |mut conn| async move {
                conn.exists::<_, bool>(key).await
            })
            .await
            .unwrap_or(false);
        if found {
            self.local().insert(jti.to_string());
        }
        found
    }

    /// Revokes `jti`, kept until the token's `exp` when known (else as long as any token
    /// lives: [`crate::token::revocation_seconds`]): where it holds now; `Err` when it could not
    /// be written to the state file.
    pub async fn revoke(&self, jti: &str, exp: Option<u64>) -> Result<Reach, StoreError> {
        let (key, until) = (
            jti.to_string(),
            unix_millis() / 1000 + crate::token::revocation_seconds(exp),
        );
        self.store
            .run(move |c| local_store::revoke(c, &key, until))
            .await?;
        self.local().insert(jti.to_string());
        let Some(link) = &self.link else {
            return Ok(Reach::Everywhere);
        };
        let key = revoked_key(jti);
        let seconds = crate::token::revocation_seconds(exp);
        let shared = link
            .run("revoke", |mut conn| async move {
                conn.set_ex::<_, _, ()>(key, 1, seconds).await
            })
            .await;
        if shared.is_some() {
            return Ok(Reach::Everywhere);
        }
        self.not_shared(Some(jti), None).await;
        Ok(Reach::WhenRedisReturns)
    }

    /// Records that a revocation waits for Redis.
    async fn not_shared(&self, jti: Option<&str>, sub: Option<&str>) {
        let (jti, sub) = (jti.map(str::to_string), sub.map(str::to_string));
        if let Err(e) = self
            .store
            .run(move |c| local_store::mark_unshared(c, jti.as_deref(), sub.as_deref()))
            .await
        {
            log::error!("{e}");
        }
    }

    /// Writes to Redis the revocations made while it was away.
    pub async fn share_pending(&self) {
        let Some(link) = self.link.as_ref().filter(|l| l.is_up()) else {
            return;
        };
        let Ok((jtis, subs)) = self.store.run(local_store::unshared).await else {
            return;
        };
        if jtis.is_empty() && subs.is_empty() {
            return;
        }
        let now = unix_millis() / 1000;
        let (mut done_jtis, mut done_subs) = (Vec::new(), Vec::new());
        for (jti, until) in jtis {
            let key = revoked_key(&jti);
            let seconds = until.saturating_sub(now).max(1);
            if link
                .run("share a revocation", |mut conn| async move {
                    conn.set_ex::<_, _, ()>(key, 1, seconds).await
                })
                .await
                .is_some()
            {
                done_jtis.push(jti);
            }
        }
        for (sub, before, until) in subs {
            let key = revoked_sub_key(&sub);
            let seconds = until.saturating_sub(now).max(1);
            if link
                .run("share a streamer revocation", |mut conn| async move {
                    conn.set_ex::<_, _, ()>(key, before, seconds).await
                })
                .await
                .is_some()
            {
                done_subs.push(sub);
            }
        }
        log::info!(
            "Redis is back: {} revocation(s) made meanwhile written for every instance",
            done_jtis.len() + done_subs.len()
        );
        let _ = self
            .store
            .run(move |c| local_store::mark_shared(c, &done_jtis, &done_subs))
            .await;
    }

    fn local(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.local.lock().unwrap_or_else(|e| e.into_inner())
    }
}
