//! Revoked token ids (`jti`): in Redis for every instance, and in this instance's state file.
//!
//! A revocation is permanent for the token's life. Each instance remembers every revoked id it
//! has seen, in memory and in its state file (written before the revocation is answered), so a
//! token refused once stays refused while Redis is away and after a restart; one revoked
//! elsewhere while Redis is away is refused once Redis returns.

use crate::local_store::{self, LocalStore, StoreError};
use crate::redis_link::{unix_millis, RedisLink, PREFIX};
use crate::token::MAX_TTL;
use redis::AsyncCommands;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

/// The Redis key of a revoked `jti`.
pub fn revoked_key(jti: &str) -> String {
    format!("{PREFIX}:revoked:{jti}")
}

/// How long Redis keeps a revocation whose token's `exp` is unknown: longer than any token
/// accepted now lives.
pub const REVOCATION_TTL_SECONDS: u64 = MAX_TTL.as_secs() + 24 * 60 * 60;

/// The revoked ids.
#[derive(Debug)]
pub struct Revocations {
    link: Option<Arc<RedisLink>>,
    store: LocalStore,
    local: Mutex<HashSet<String>>,
}

impl Revocations {
    /// Revocations shared through `link`, kept in `store`, starting with those `store` holds.
    pub fn new(link: Option<Arc<RedisLink>>, store: LocalStore) -> Result<Self, StoreError> {
        let now = unix_millis() / 1000;
        let known = store.run_here(|c| local_store::revocations(c, now))?;
        Ok(Revocations {
            link,
            store,
            local: Mutex::new(known.into_iter().map(|(jti, _)| jti).collect()),
        })
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
    /// lives: [`crate::token::revocation_seconds`]); `Err` when it could not be written to the
    /// state file, or Redis is configured but the revocation could not be shared (it still holds
    /// on this instance).
    pub async fn revoke(&self, jti: &str, exp: Option<u64>) -> Result<(), String> {
        let (key, until) = (
            jti.to_string(),
            unix_millis() / 1000 + crate::token::revocation_seconds(exp),
        );
        self.store
            .run(move |c| local_store::revoke(c, &key, until))
            .await
            .map_err(|e| e.to_string())?;
        self.local().insert(jti.to_string());
        let Some(link) = &self.link else {
            return Ok(());
        };
        let key = revoked_key(jti);
        let seconds = crate::token::revocation_seconds(exp);
        link.run("revoke", |mut conn| async move {
            conn.set_ex::<_, _, ()>(key, 1, seconds).await
        })
        .await
        .ok_or_else(|| "revoked on this instance only: Redis is unreachable".to_string())
    }

    fn local(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.local.lock().unwrap_or_else(|e| e.into_inner())
    }
}
