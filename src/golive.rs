//! One go-live: validated config -> vendor call -> reachable node -> the plan OBS publishes to.

use crate::api_client::ApiClient;
use crate::config::{fields, fields::Field, zego::ZegoConfig, ConfigError};
use crate::messages::Message;
use crate::node_probe::{first_reachable, DEFAULT_PROBE_TIMEOUT};
use crate::providers::zego::{self, SequenceClock, ZegoError};
use crate::rtmp_target::{IngestPlan, RtmpTarget};
use serde_json::Value;
use std::time::{Duration, Instant, SystemTime};

/// ZEGOCLOUD asks for a dispatched node to be used within 2 hours.
const ZEGO_NODE_VALIDITY: Duration = Duration::from_secs(2 * 60 * 60);

/// The services this plugin registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServiceKind {
    /// `zego_rtmp_dispatch`: ZEGOCLOUD RTMPDispatchV2.
    ZegoRtmpDispatch,
}

impl ServiceKind {
    /// Every service, in registration order.
    pub const ALL: &'static [ServiceKind] = &[ServiceKind::ZegoRtmpDispatch];

    /// The OBS service type id.
    pub fn id(self) -> &'static str {
        match self {
            ServiceKind::ZegoRtmpDispatch => "zego_rtmp_dispatch",
        }
    }

    /// Locale key of the display name.
    pub fn name_key(self) -> &'static str {
        match self {
            ServiceKind::ZegoRtmpDispatch => "Zego.ServiceName",
        }
    }

    /// The settings this service exposes.
    pub fn fields(self) -> &'static [Field] {
        match self {
            ServiceKind::ZegoRtmpDispatch => fields::ZEGO,
        }
    }

    /// Short provider name for log lines.
    fn provider(self) -> &'static str {
        match self {
            ServiceKind::ZegoRtmpDispatch => "zegocloud",
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
            GoLiveError::NoReachableNode { hosts, request_id } => {
                Message::new("Error.NoReachableNode")
                    .text(hosts.join(", "))
                    .text(request_id)
            }
        }
    }
}

/// The per-service state: its settings and the current ingest plan.
#[derive(Debug)]
pub struct GoLive {
    kind: ServiceKind,
    settings: Value,
    plan: Option<IngestPlan>,
    http: ApiClient,
    sequence: &'static SequenceClock,
}

/// The process-wide ZEGOCLOUD sequence, shared by every call the plugin makes.
pub static ZEGO_SEQUENCE: SequenceClock = SequenceClock::new();

impl GoLive {
    /// A service of `kind` with `settings`, calling vendors through `http`.
    pub fn new(kind: ServiceKind, settings: Value, http: ApiClient) -> Self {
        GoLive {
            kind,
            settings,
            plan: None,
            http,
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
            zego::dispatch_push(&self.http, &config, self.sequence).map_err(GoLiveError::Zego)?;
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

    /// Where OBS should publish now, once a start succeeded.
    pub fn target(&self) -> Option<&RtmpTarget> {
        self.plan.as_ref().map(|p| &p.primary)
    }
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
        let mut g = GoLive::new(
            ServiceKind::ZegoRtmpDispatch,
            settings,
            ApiClient::with_defaults().unwrap(),
        );
        match g.start() {
            Err(GoLiveError::Config(e)) => assert_eq!(e.key, "stream_id"),
            other => panic!("expected a config error, got {other:?}"),
        }
        assert!(g.target().is_none());
    }
}
