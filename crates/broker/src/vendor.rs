//! The vendor calls, through the core crate's providers and signers (the plugin's own code),
//! and what is reused between them as in direct mode: a ZEGOCLOUD dispatch for as long as the
//! plugin would reuse one resolved ahead, an Alibaba ingest address while it stays valid.
//!
//! The core's calls block; [`crate::broker`] runs them on tokio's blocking pool. The nodes are
//! not probed here: the plugin probes them from the streamer's network.

use rtc_golive_core::address_cache::{auth_key_expiry, AddressCache, CachedAddress};
use rtc_golive_core::api_client::ApiClient;
use rtc_golive_core::config::aliyun::AliyunConfig;
use rtc_golive_core::config::zego::ZegoConfig;
use rtc_golive_core::providers::aliyun::{self, AliyunError};
use rtc_golive_core::providers::zego::{self, ZegoAnswer, ZegoError};
use rtc_golive_core::resolve::ZEGO_NODE_VALIDITY;
use rtc_golive_core::sequence::SequenceClock;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A ZEGOCLOUD dispatch kept for reuse.
#[derive(Clone)]
pub struct Nodes {
    /// The publish URLs, in the vendor's order.
    pub urls: Vec<String>,
    /// The dispatch's RequestId.
    pub request_id: String,
    /// When ZEGOCLOUD answered.
    pub obtained: Instant,
    /// Unix seconds after which the nodes are not to be used.
    pub valid_until: u64,
}

/// The HTTP client, ZEGOCLOUD's Sequence, and what is reused.
pub struct Vendors {
    http: ApiClient,
    sequence: SequenceClock,
    nodes: Mutex<HashMap<String, Nodes>>,
    addresses: Mutex<AddressCache>,
}

impl std::fmt::Debug for Vendors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vendors").finish_non_exhaustive()
    }
}

impl Vendors {
    /// A fresh client with nothing kept.
    pub fn new() -> Result<Self, String> {
        let http = ApiClient::with_defaults().map_err(|e| e.to_string())?;
        http.prepare().map_err(|e| e.to_string())?;
        Ok(Vendors {
            http,
            sequence: SequenceClock::new(),
            nodes: Mutex::default(),
            addresses: Mutex::new(AddressCache::load(None)),
        })
    }

    /// The dispatch kept for `config`'s stream, while younger than its `node_max_age` (the
    /// age up to which the plugin uses nodes it resolved ahead).
    pub fn kept_nodes(&self, config: &ZegoConfig) -> Option<Nodes> {
        let nodes = self.nodes.lock().unwrap_or_else(|e| e.into_inner());
        nodes
            .get(&nodes_key(config))
            .filter(|n| n.obtained.elapsed() < config.node_max_age)
            .cloned()
    }

    /// `RTMPDispatchV2` for `config`'s stream; the answer is kept for reuse.
    pub fn dispatch(&self, config: &ZegoConfig) -> Result<Nodes, ZegoError> {
        let dispatch = zego::dispatch_push(&self.http, config, &self.sequence)?;
        let nodes = Nodes {
            urls: dispatch.urls,
            request_id: dispatch.request_id,
            obtained: Instant::now(),
            valid_until: unix_secs(SystemTime::now() + ZEGO_NODE_VALIDITY),
        };
        let mut kept = self.nodes.lock().unwrap_or_else(|e| e.into_inner());
        kept.retain(|_, n| n.obtained.elapsed() < Duration::from_secs(2 * 60 * 60));
        kept.insert(nodes_key(config), nodes.clone());
        Ok(nodes)
    }

    /// `RTMPDispatchV2` with `Type=pull` for `config`'s stream. Not kept: the source asks again
    /// only when its node failed or outlived its validity.
    pub fn dispatch_pull(&self, config: &ZegoConfig) -> Result<Nodes, ZegoError> {
        let dispatch = zego::dispatch_pull(&self.http, config, &self.sequence)?;
        Ok(Nodes {
            urls: dispatch.urls,
            request_id: dispatch.request_id,
            obtained: Instant::now(),
            valid_until: unix_secs(SystemTime::now() + ZEGO_NODE_VALIDITY),
        })
    }

    /// Forgets the dispatch kept for `config`'s stream (the plugin found its nodes dead).
    pub fn forget_nodes(&self, config: &ZegoConfig) {
        self.nodes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&nodes_key(config));
    }

    /// `CreatCDNTransferRule` for `cdn_url`.
    pub fn create_cdn_rule(
        &self,
        config: &ZegoConfig,
        cdn_url: &str,
    ) -> Result<ZegoAnswer, ZegoError> {
        zego::create_cdn_rule(&self.http, config, &self.sequence, cdn_url)
    }

    /// `DeleteCDNTransferRule` for `cdn_url`.
    pub fn delete_cdn_rule(
        &self,
        config: &ZegoConfig,
        cdn_url: &str,
    ) -> Result<ZegoAnswer, ZegoError> {
        zego::delete_cdn_rule(&self.http, config, &self.sequence, cdn_url)
    }

    /// The ingest address kept for `config`'s seat while it has enough validity left.
    pub fn kept_address(&self, config: &AliyunConfig) -> Option<CachedAddress> {
        self.addresses
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .usable(&config.address_key(), SystemTime::now())
            .cloned()
    }

    /// `CreateRoomRealTimeStreamAddress` for `config`'s seat; the address is kept for reuse.
    pub fn create_address(&self, config: &AliyunConfig) -> Result<CachedAddress, AliyunError> {
        let created = aliyun::create_address(&self.http, config)?;
        let now = SystemTime::now();
        let computed = unix_secs(now) + u64::from(config.expire_time);
        let entry = CachedAddress {
            expires_at: auth_key_expiry(&created.rtmp_address)
                .map_or(computed, |s| s.min(computed)),
            rtmp_address: created.rtmp_address,
            request_id: created.request_id,
        };
        self.addresses
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(config.address_key(), entry.clone(), now);
        Ok(entry)
    }
}

/// A dispatch depends on the app, its environment, the stream and where the streamer is.
fn nodes_key(config: &ZegoConfig) -> String {
    let client = config
        .client_ip
        .map(|ip| ip.to_string())
        .unwrap_or_default();
    format!(
        "{}:{}:{}:{client}",
        config.app_id, config.is_test, config.stream_id
    )
}

fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}
