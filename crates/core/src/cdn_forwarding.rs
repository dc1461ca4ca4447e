//! ZEGOCLOUD CDN forwarding that follows the stream's life, with a crash journal.
//!
//! Rules are created after dispatch and before publishing, and deleted on every stop path. A
//! rule is written to the journal (a private file in the plugin's config directory) *before*
//! it is created, so a crash, SIGKILL or power loss at any point leaves a record; the next OBS
//! start or go-live of the same AppId deletes rules whose owning OBS process is gone.
//!
//! CDN URLs usually embed the CDN's stream key: logs show them only through [`redacted_url`].

use crate::api_client::ApiClient;
use crate::background::Background;
use crate::config::zego::ZegoConfig;
use crate::lock::LockRecovered;
use crate::private_file::write_private;
use crate::providers::zego::{self, ZegoError};
use crate::retry::RetryPolicy;
use crate::rtmp_target::redacted_url;
use crate::sequence::SequenceClock;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::Mutex;

/// One forwarding rule the plugin created.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CdnRule {
    /// The AppId it belongs to.
    pub app_id: u32,
    /// The API root it was created through.
    pub endpoint: String,
    /// Whether it was created in ZEGOCLOUD's test environment.
    pub is_test: bool,
    /// The forwarded stream.
    pub stream_id: String,
    /// The CDN URL, exactly as created (deletion must send the same).
    pub cdn_url: String,
    /// The OBS process that owns it (`pid:start-time`).
    pub owner: String,
}

impl std::fmt::Debug for CdnRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CdnRule")
            .field("app_id", &self.app_id)
            .field("stream_id", &self.stream_id)
            .field("cdn_url", &redacted_url(&self.cdn_url))
            .field("owner", &self.owner)
            .finish()
    }
}

impl CdnRule {
    /// A rule for `cdn_url` on the configured stream, owned by this process.
    pub fn new(config: &ZegoConfig, cdn_url: &str) -> Self {
        CdnRule {
            app_id: config.app_id,
            endpoint: config.endpoint.root().to_string(),
            is_test: config.is_test,
            stream_id: config.stream_id.clone(),
            cdn_url: cdn_url.to_string(),
            owner: this_process(),
        }
    }

    fn same_rule(&self, other: &CdnRule) -> bool {
        self.app_id == other.app_id
            && self.endpoint == other.endpoint
            && self.stream_id == other.stream_id
            && self.cdn_url == other.cdn_url
    }

    /// The config to sign this rule's calls with: the service's credentials, the rule's stream.
    fn call_config(&self, credentials: &ZegoConfig) -> ZegoConfig {
        ZegoConfig {
            stream_id: self.stream_id.clone(),
            is_test: self.is_test,
            ..credentials.clone()
        }
    }
}

/// This process's identity: its pid and start time, so a reused pid is not mistaken for it.
pub fn this_process() -> String {
    owner_id(std::process::id())
}

fn owner_id(pid: u32) -> String {
    match process_start_ticks(pid) {
        Some(ticks) => format!("{pid}:{ticks}"),
        None => pid.to_string(),
    }
}

/// Field 22 of `/proc/<pid>/stat` (start time); `None` where there is no procfs.
fn process_start_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces; fields after it follow its ')'.
    let after_name = stat.rsplit_once(')')?.1;
    after_name.split_whitespace().nth(19)?.parse().ok()
}

fn owner_alive(owner: &str) -> bool {
    if owner == this_process() {
        return true;
    }
    let Some(pid) = owner.split(':').next().and_then(|p| p.parse::<u32>().ok()) else {
        return false;
    };
    owner_id(pid) == owner && process_start_ticks(pid).is_some()
}

/// The journal of rules that may exist at ZEGOCLOUD.
#[derive(Debug, Default)]
pub struct CdnJournal {
    path: Option<PathBuf>,
    rules: Vec<CdnRule>,
}

impl CdnJournal {
    /// Loads the journal at `path` (a missing or unreadable file is an empty journal).
    pub fn load(path: Option<PathBuf>) -> Self {
        let rules = path
            .as_deref()
            .and_then(|p| std::fs::read(p).ok())
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        CdnJournal { path, rules }
    }

    /// Records a rule about to be created (replacing an equal record), and writes the file.
    pub fn record(&mut self, rule: &CdnRule) {
        self.rules.retain(|r| !r.same_rule(rule));
        self.rules.push(rule.clone());
        self.save();
    }

    /// Forgets a rule that is gone, and writes the file.
    pub fn forget(&mut self, rule: &CdnRule) {
        let before = self.rules.len();
        self.rules.retain(|r| !r.same_rule(rule));
        if self.rules.len() != before {
            self.save();
        }
    }

    /// Removes and returns the rules of `app_id` at `endpoint` whose owning process is gone.
    pub fn take_orphans(&mut self, app_id: u32, endpoint: &str) -> Vec<CdnRule> {
        let (orphans, keep): (Vec<_>, Vec<_>) = std::mem::take(&mut self.rules)
            .into_iter()
            .partition(|r| r.app_id == app_id && r.endpoint == endpoint && !owner_alive(&r.owner));
        self.rules = keep;
        if !orphans.is_empty() {
            self.save();
        }
        orphans
    }

    fn save(&self) {
        let Some(path) = &self.path else { return };
        let bytes = serde_json::to_vec_pretty(&self.rules).unwrap_or_default();
        if let Err(e) = write_private(path, &bytes) {
            log::warn!(
                "cannot write the CDN forwarding journal {}: {e}",
                path.display()
            );
        }
    }
}

/// A forward that could not be created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardFailure {
    /// 1-based position in the `cdn_urls` list.
    pub index: usize,
    /// `scheme://host/…` of the URL.
    pub url: String,
    /// What ZEGOCLOUD (or the network) said.
    pub error: ZegoError,
}

impl std::fmt::Display for ForwardFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "CDN forward {} to {}: {}",
            self.index, self.url, self.error
        )
    }
}

impl std::error::Error for ForwardFailure {}

/// Creates a rule for each configured CDN URL, journaling each before its call.
/// Returns the rules created and the failures, in list order.
pub fn create_all(
    http: &ApiClient,
    config: &ZegoConfig,
    sequence: &SequenceClock,
    journal: &Mutex<CdnJournal>,
    retry: (RetryPolicy, &Background),
) -> (Vec<CdnRule>, Vec<ForwardFailure>) {
    let mut created = Vec::new();
    let mut failed = Vec::new();
    for (i, url) in config.cdn_urls.iter().enumerate() {
        let rule = CdnRule::new(config, url);
        journal.lock_recovered().record(&rule);
        let (policy, background) = retry;
        let created_rule = policy.run(
            || zego::create_cdn_rule(http, config, sequence, url),
            ZegoError::is_rate_limited,
            |d| background.sleep(d),
        );
        match created_rule {
            Ok(answer) => {
                log::info!(
                    "cdn forward created: stream={} cdn={} RequestId={}",
                    rule.stream_id,
                    redacted_url(url),
                    answer.request_id
                );
                created.push(rule);
            }
            Err(error) => {
                // Forget only what surely does not exist: after a transport error the rule may
                // have been created, so it stays journaled for the next clean-up.
                if !matches!(error, ZegoError::Transport(_)) {
                    journal.lock_recovered().forget(&rule);
                }
                log::warn!("cdn forward to {} not created: {error}", redacted_url(url));
                failed.push(ForwardFailure {
                    index: i + 1,
                    url: redacted_url(url),
                    error,
                });
            }
        }
    }
    (created, failed)
}

/// Deletes `rules` with `credentials`' signature; returns how many could not be deleted (those
/// stay in the journal for a later clean-up).
pub fn delete_all(
    http: &ApiClient,
    credentials: &ZegoConfig,
    sequence: &SequenceClock,
    journal: &Mutex<CdnJournal>,
    rules: &[CdnRule],
    background: &Background,
) -> usize {
    let mut left = 0;
    for rule in rules {
        let config = rule.call_config(credentials);
        let deleted = RetryPolicy::BACKGROUND.run(
            || zego::delete_cdn_rule(http, &config, sequence, &rule.cdn_url),
            ZegoError::is_rate_limited,
            |d| background.sleep(d),
        );
        match deleted {
            Ok(answer) => {
                journal.lock_recovered().forget(rule);
                log::info!(
                    "cdn forward deleted: stream={} cdn={} RequestId={}",
                    rule.stream_id,
                    redacted_url(&rule.cdn_url),
                    answer.request_id
                );
            }
            Err(error) => {
                journal.lock_recovered().record(rule);
                left += 1;
                log::warn!(
                    "cdn forward to {} not deleted, kept for the next clean-up: {error}",
                    redacted_url(&rule.cdn_url)
                );
            }
        }
    }
    left
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config() -> ZegoConfig {
        ZegoConfig::from_settings(&json!({"app_id": 7, "server_secret": "s", "stream_id": "st"}))
            .unwrap()
    }

    #[test]
    fn journal_survives_reload_and_finds_orphans_of_dead_processes() {
        let path = std::env::temp_dir().join(format!("golive-cdn-{}.json", std::process::id()));
        let mut journal = CdnJournal::load(Some(path.clone()));
        let mine = CdnRule::new(&config(), "rtmp://cdn.example/live/KEY");
        let dead = CdnRule {
            owner: "999999999:1".into(),
            cdn_url: "rtmp://cdn.example/live/OTHER".into(),
            ..mine.clone()
        };
        let other_app = CdnRule {
            app_id: 8,
            ..dead.clone()
        };
        journal.record(&mine);
        journal.record(&dead);
        journal.record(&other_app);
        let mut reloaded = CdnJournal::load(Some(path.clone()));
        assert_eq!(reloaded.rules.len(), 3);
        let orphans = reloaded.take_orphans(7, &mine.endpoint);
        assert_eq!(orphans, vec![dead]);
        assert_eq!(CdnJournal::load(Some(path.clone())).rules.len(), 2);
        reloaded.forget(&mine);
        assert_eq!(CdnJournal::load(Some(path.clone())).rules, [other_app]);
        let _ = std::fs::remove_file(path);
    }

    #[test]
    fn this_process_is_alive_and_distinct_from_a_reused_pid() {
        assert!(owner_alive(&this_process()));
        assert!(!owner_alive(&format!("{}:0", std::process::id())));
        assert!(!owner_alive("garbage"));
    }

    #[test]
    fn debug_redacts_the_cdn_key() {
        let rule = CdnRule::new(&config(), "rtmp://cdn.example/live/STREAMKEY");
        assert!(!format!("{rule:?}").contains("STREAMKEY"));
    }
}
