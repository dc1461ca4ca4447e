//! Alibaba ingest addresses kept for reuse while they stay valid.
//!
//! An address can be pushed to repeatedly until it expires, so a second Start Streaming with
//! unchanged settings needs no API call. Entries live in memory and in a JSON file in the
//! plugin's own config directory (mode 0600), so they survive an OBS restart. The file holds
//! the address (its auth_key is what grants the push) but never the AccessKey secret.

use crate::private_file::write_private;
use crate::unix_time::unix_secs;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

/// An address is reused only while more than this much validity remains.
pub const MIN_REMAINING: Duration = Duration::from_secs(10 * 60);

/// One stored address.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachedAddress {
    /// `rtmp://host/app/name?auth_key=...`.
    pub rtmp_address: String,
    /// The RequestId of the call that created it.
    pub request_id: String,
    /// Expiry, Unix seconds.
    pub expires_at: u64,
}

impl std::fmt::Debug for CachedAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedAddress")
            .field("request_id", &self.request_id)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// Addresses by settings fingerprint.
#[derive(Debug, Default)]
pub struct AddressCache {
    path: Option<PathBuf>,
    entries: BTreeMap<String, CachedAddress>,
}

/// The expiry an address states in its `auth_key=<expiry>-...`, if any.
pub fn auth_key_expiry(rtmp_address: &str) -> Option<u64> {
    let query = rtmp_address.split_once('?')?.1;
    let value = query.split('&').find_map(|p| p.strip_prefix("auth_key="))?;
    value.split('-').next()?.parse().ok()
}

impl AddressCache {
    /// Loads the cache from `path` (missing or unreadable files give an empty cache).
    pub fn load(path: Option<PathBuf>) -> Self {
        let entries = path
            .as_deref()
            .and_then(|p| std::fs::read(p).ok())
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        AddressCache { path, entries }
    }

    /// A stored address for `fingerprint` with more than [`MIN_REMAINING`] validity at `now`.
    pub fn usable(&self, fingerprint: &str, now: SystemTime) -> Option<&CachedAddress> {
        let deadline = unix_secs(now) + MIN_REMAINING.as_secs();
        self.entries
            .get(fingerprint)
            .filter(|e| e.expires_at > deadline)
    }

    /// Stores an address in memory and drops expired ones; [`save`](Self::save) writes the
    /// file (apart, so the disk write can leave OBS's UI thread).
    pub fn insert(&mut self, fingerprint: String, entry: CachedAddress, now: SystemTime) {
        let now = unix_secs(now);
        self.entries.retain(|_, e| e.expires_at > now);
        self.entries.insert(fingerprint, entry);
    }

    /// Forgets the address for `fingerprint` (it stopped working), and writes the file.
    pub fn remove(&mut self, fingerprint: &str) {
        if self.entries.remove(fingerprint).is_some() {
            self.save();
        }
    }

    /// Writes the file (a no-op for an in-memory cache).
    pub fn save(&self) {
        let Some(path) = &self.path else { return };
        if let Err(e) = write_private(
            path,
            &serde_json::to_vec_pretty(&self.entries).unwrap_or_default(),
        ) {
            log::warn!("cannot save the address cache to {}: {e}", path.display());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(expires_at: u64) -> CachedAddress {
        CachedAddress {
            rtmp_address: "rtmp://h/a/n?auth_key=1-2-0-x".into(),
            request_id: "R".into(),
            expires_at,
        }
    }

    #[test]
    fn reuse_needs_more_than_ten_minutes_left() {
        let now = SystemTime::now();
        let t = unix_secs(now);
        let mut cache = AddressCache::load(None);
        cache.insert("f".into(), entry(t + 601), now);
        assert!(cache.usable("f", now).is_some());
        cache.insert("f".into(), entry(t + 600), now);
        assert!(cache.usable("f", now).is_none());
        assert!(cache.usable("other", now).is_none());
    }

    #[test]
    fn survives_a_restart_and_is_private() {
        let dir = std::env::temp_dir().join(format!("golive-cache-{}", std::process::id()));
        let path = dir.join("addresses.json");
        let now = SystemTime::now();
        let mut cache = AddressCache::load(Some(path.clone()));
        cache.insert("f".into(), entry(unix_secs(now) + 3600), now);
        cache.save();
        let reloaded = AddressCache::load(Some(path.clone()));
        assert_eq!(reloaded.usable("f", now), cache.usable("f", now));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        let mut reloaded = reloaded;
        reloaded.remove("f");
        assert!(AddressCache::load(Some(path)).usable("f", now).is_none());
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn reads_expiry_from_auth_key() {
        assert_eq!(
            auth_key_expiry("rtmp://h/a/n?auth_key=1700492701-6e33-0-c6d7"),
            Some(1700492701)
        );
        assert_eq!(
            auth_key_expiry("rtmp://h/a/n?x=1&auth_key=5-a-0-b"),
            Some(5)
        );
        assert_eq!(auth_key_expiry("rtmp://h/a/n"), None);
    }
}
