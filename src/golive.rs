//! One go-live: validated config -> vendor call -> reachable node -> the plan OBS publishes to.

use crate::address_cache::{auth_key_expiry, fingerprint, unix_secs, AddressCache, CachedAddress};
use crate::api_client::ApiClient;
use crate::config::aliyun::AliyunConfig;
use crate::config::{fields, fields::Field, zego::ZegoConfig, ConfigError};
use crate::messages::Message;
use crate::node_probe::{first_reachable, DEFAULT_PROBE_TIMEOUT};
use crate::providers::aliyun::{self, AliyunError};
use crate::providers::zego::{self, SequenceClock, ZegoError};
use crate::rtmp_target::{IngestPlan, RtmpTarget};
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// ZEGOCLOUD asks for a dispatched node to be used within 2 hours.
const ZEGO_NODE_VALIDITY: Duration = Duration::from_secs(2 * 60 * 60);

/// The services this plugin registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServiceKind {
    /// `zego_rtmp_dispatch`: ZEGOCLOUD RTMPDispatchV2.
    ZegoRtmpDispatch,
    /// `aliyun_artc_rtmp`: Alibaba Cloud CreateRoomRealTimeStreamAddress.
    AliyunArtcRtmp,
}

impl ServiceKind {
    /// Every service, in registration order.
    pub const ALL: &'static [ServiceKind] = &[ServiceKind::ZegoRtmpDispatch, ServiceKind::AliyunArtcRtmp];

    /// The OBS service type id.
    pub fn id(self) -> &'static str {
        match self {
            ServiceKind::ZegoRtmpDispatch => "zego_rtmp_dispatch",
            ServiceKind::AliyunArtcRtmp => "aliyun_artc_rtmp",
        }
    }

    /// Locale key of the display name.
    pub fn name_key(self) -> &'static str {
        match self {
            ServiceKind::ZegoRtmpDispatch => "Zego.ServiceName",
            ServiceKind::AliyunArtcRtmp => "Aliyun.ServiceName",
        }
    }

    /// The settings this service exposes.
    pub fn fields(self) -> &'static [Field] {
        match self {
            ServiceKind::ZegoRtmpDispatch => fields::ZEGO,
            ServiceKind::AliyunArtcRtmp => fields::ALIYUN,
        }
    }

    /// Short provider name for log lines.
    fn provider(self) -> &'static str {
        match self {
            ServiceKind::ZegoRtmpDispatch => "zegocloud",
            ServiceKind::AliyunArtcRtmp => "aliyun-artc",
        }
    }
}

/// Why a go-live was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GoLiveError {
    /// A setting is missing or invalid; no request was sent.
    Config(ConfigError),
    /// ZEGOCLOUD's call failed.
    Zego(ZegoError),
    /// Alibaba Cloud's call failed.
    Aliyun(AliyunError),
    /// The vendor's nodes all refused a connection.
    NoReachableNode {
        hosts: Vec<String>,
        request_id: String,
    },
}

impl GoLiveError {
    /// The text for OBS's "Failed to start streaming" dialog.
    pub fn message(&self) -> Message {
        match self {
            GoLiveError::Config(e) => e.message.clone(),
            GoLiveError::Zego(e) => e.message(),
            GoLiveError::Aliyun(e) => e.message(),
            GoLiveError::NoReachableNode { hosts, request_id } => {
                Message::new("Error.NoReachableNode")
                    .text(hosts.join(", "))
                    .text(request_id)
            }
        }
    }
}

/// What every service instance of the module shares: one HTTP client (connection reuse) and
/// the Alibaba address cache (one file).
#[derive(Debug, Clone)]
pub struct Shared {
    /// The HTTP client.
    pub http: ApiClient,
    /// Reusable Alibaba ingest addresses.
    pub addresses: Arc<Mutex<AddressCache>>,
}

/// The per-service state: its settings and the current ingest plan.
#[derive(Debug)]
pub struct GoLive {
    kind: ServiceKind,
    settings: Value,
    plan: Option<IngestPlan>,
    shared: Shared,
    sequence: &'static SequenceClock,
}

/// The process-wide ZEGOCLOUD sequence, shared by every call the plugin makes.
pub static ZEGO_SEQUENCE: SequenceClock = SequenceClock::new();

impl GoLive {
    /// A service of `kind` with `settings`.
    pub fn new(kind: ServiceKind, settings: Value, shared: Shared) -> Self {
        GoLive {
            kind,
            settings,
            plan: None,
            shared,
            sequence: &ZEGO_SEQUENCE,
        }
    }

    /// Which service this is.
    pub fn kind(&self) -> ServiceKind {
        self.kind
    }

    /// New settings from OBS; the next start resolves with them.
    pub fn update(&mut self, settings: Value) {
        self.settings = settings;
        self.plan = None;
    }

    /// Resolves where to publish: validates, calls the vendor, picks a reachable node.
    /// Logs one line per go-live with provider, RequestId, node host and latency.
    pub fn start(&mut self) -> Result<&IngestPlan, GoLiveError> {
        self.plan = None;
        let started = Instant::now();
        let plan = match self.kind {
            ServiceKind::ZegoRtmpDispatch => self.resolve_zego()?,
            ServiceKind::AliyunArtcRtmp => self.resolve_aliyun()?,
        };
        log::info!(
            "go-live: provider={} RequestId={} node={} nodes={} latency={}ms",
            self.kind.provider(),
            plan.request_id,
            plan.primary.authority(),
            plan.alternates.len() + 1,
            started.elapsed().as_millis()
        );
        Ok(self.plan.insert(plan))
    }

    fn resolve_zego(&self) -> Result<IngestPlan, GoLiveError> {
        let config = ZegoConfig::from_settings(&self.settings).map_err(GoLiveError::Config)?;
        let dispatch =
            zego::dispatch_push(&self.shared.http, &config, self.sequence).map_err(GoLiveError::Zego)?;
        let obtained_at = Instant::now();
        let nodes = dispatch
            .urls
            .iter()
            .map(|url| {
                RtmpTarget::split(url).map_err(|_| {
                    GoLiveError::Zego(ZegoError::BadNodeUrl {
                        url: url.clone(),
                        request_id: dispatch.request_id.clone(),
                    })
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let plan = order_by_reachability(nodes, &dispatch.request_id)?;
        Ok(IngestPlan {
            expires_at: Some(SystemTime::now() + ZEGO_NODE_VALIDITY),
            obtained_at,
            request_id: dispatch.request_id,
            ..plan
        })
    }

    fn resolve_aliyun(&self) -> Result<IngestPlan, GoLiveError> {
        let config = AliyunConfig::from_settings(&self.settings).map_err(GoLiveError::Config)?;
        let key = address_fingerprint(&config);
        let now = SystemTime::now();
        let reused = self.addresses().usable(&key, now).cloned();
        let (entry, reused) = match reused {
            Some(entry) => (entry, true),
            None => {
                let created = aliyun::create_address(&self.shared.http, &config).map_err(GoLiveError::Aliyun)?;
                let stated = auth_key_expiry(&created.rtmp_address);
                let computed = unix_secs(now) + u64::from(config.expire_time);
                let entry = CachedAddress {
                    rtmp_address: created.rtmp_address,
                    request_id: created.request_id,
                    expires_at: stated.map_or(computed, |s| s.min(computed)),
                };
                (entry, false)
            }
        };
        let target = RtmpTarget::split(&entry.rtmp_address).map_err(|_| {
            GoLiveError::Aliyun(AliyunError::BadAddress { request_id: entry.request_id.clone() })
        })?;
        let plan = order_by_reachability(vec![target], &entry.request_id).inspect_err(|_| {
            // An address whose node is unreachable is not worth keeping.
            self.addresses().remove(&key);
        })?;
        log::info!(
            "aliyun-artc: {} ingest address (AccessKeyId {}, valid {} s more)",
            if reused { "reusing the" } else { "created an" },
            config.masked_access_key_id(),
            entry.expires_at.saturating_sub(unix_secs(now))
        );
        if !reused {
            self.addresses().insert(key, entry.clone(), now);
        }
        Ok(IngestPlan {
            expires_at: Some(UNIX_EPOCH + Duration::from_secs(entry.expires_at)),
            request_id: entry.request_id,
            ..plan
        })
    }

    fn addresses(&self) -> std::sync::MutexGuard<'_, AddressCache> {
        self.shared.addresses.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Where OBS should publish now, once a start succeeded.
    pub fn target(&self) -> Option<&RtmpTarget> {
        self.plan.as_ref().map(|p| &p.primary)
    }
}

/// Everything an Alibaba address depends on.
fn address_fingerprint(c: &AliyunConfig) -> String {
    fingerprint(&[
        c.endpoint.root().as_str(),
        &c.access_key_id,
        &c.app_id,
        &c.channel_id,
        &c.user_id,
        &c.display_name,
        &c.expire_time.to_string(),
    ])
}

/// Puts the first reachable node first, keeping the vendor's order for the rest.
fn order_by_reachability(
    mut nodes: Vec<RtmpTarget>,
    request_id: &str,
) -> Result<IngestPlan, GoLiveError> {
    let Some(best) = first_reachable(&nodes, DEFAULT_PROBE_TIMEOUT) else {
        return Err(GoLiveError::NoReachableNode {
            hosts: nodes.iter().map(|n| n.authority().to_string()).collect(),
            request_id: request_id.to_string(),
        });
    };
    let primary = nodes.remove(best);
    Ok(IngestPlan {
        primary,
        alternates: nodes,
        obtained_at: Instant::now(),
        expires_at: None,
        request_id: request_id.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn reachable_node_goes_first_and_the_rest_stay_in_order() {
        let live = TcpListener::bind("127.0.0.1:0").unwrap();
        let dead = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let nodes = vec![
            RtmpTarget::split(&format!("rtmp://127.0.0.1:{dead}/live/s")).unwrap(),
            RtmpTarget::split(&format!(
                "rtmp://127.0.0.1:{}/live/s",
                live.local_addr().unwrap().port()
            ))
            .unwrap(),
        ];
        let plan = order_by_reachability(nodes.clone(), "R").unwrap();
        assert_eq!(plan.primary, nodes[1]);
        assert_eq!(plan.alternates, vec![nodes[0].clone()]);
    }

    #[test]
    fn invalid_settings_send_nothing() {
        // An unroutable endpoint: if a request were sent, this would be a transport error.
        let settings = serde_json::json!({"app_id": 1, "server_secret": "x", "stream_id": "bad id",
                                          "endpoint": "http://127.0.0.1:9"});
        let shared = Shared {
            http: ApiClient::with_defaults().unwrap(),
            addresses: Arc::new(Mutex::new(AddressCache::load(None))),
        };
        let mut g = GoLive::new(ServiceKind::ZegoRtmpDispatch, settings, shared);
        match g.start() {
            Err(GoLiveError::Config(e)) => assert_eq!(e.key, "stream_id"),
            other => panic!("expected a config error, got {other:?}"),
        }
        assert!(g.target().is_none());
    }
}
