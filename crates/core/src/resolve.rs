//! Resolution: the vendor call and the node probe that turn a config into the plan OBS
//! publishes to, without side effects at the vendor (no CDN forward, no publish).

use crate::address_cache::{auth_key_expiry, CachedAddress};
use crate::config::aliyun::AliyunConfig;
use crate::config::platform::PlatformConfig;
use crate::config::zego::ZegoConfig;
use crate::config::{ProviderConfig, ServiceSettings};
use crate::go_live_error::GoLiveError;
use crate::lock::LockRecovered;
use crate::node_probe::{first_reachable, DEFAULT_PROBE_TIMEOUT};
use crate::platform_api::{GoLiveAnswer, GoLiveRequest};
use crate::providers::aliyun::{self, AliyunError};
use crate::providers::platform::{self, honouring_retry_after, PlatformError};
use crate::providers::zego::{self, ZegoError};
use crate::report::GoLiveReport;
use crate::retry::RetryPolicy;
use crate::rtmp_target::{IngestPlan, RtmpTarget};
use crate::shared::Shared;
use crate::unix_time::unix_secs;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// ZEGOCLOUD asks for a dispatched node to be used within 2 hours.
pub const ZEGO_NODE_VALIDITY: Duration = Duration::from_secs(2 * 60 * 60);

/// The plan for `config` and, for Alibaba, its address-cache key.
pub fn resolve(
    shared: &Shared,
    config: &ProviderConfig,
    policy: RetryPolicy,
) -> Result<(IngestPlan, Option<String>), GoLiveError> {
    match config {
        ProviderConfig::Zego(config) => resolve_zego(shared, config, policy).map(|p| (p, None)),
        ProviderConfig::Aliyun(config) => {
            resolve_aliyun(shared, config, policy).map(|(p, key)| (p, Some(key)))
        }
        ProviderConfig::Platform(config) => {
            resolve_platform(shared, config, &PLATFORM_AHEAD, policy, None).map(|(p, _)| (p, None))
        }
    }
}

/// Resolving ahead through the platform: no session, no CDN forward.
pub const PLATFORM_AHEAD: GoLiveRequest = GoLiveRequest {
    ahead: true,
    fresh: false,
};

/// Start Streaming through the platform: opens a session (the broker creates the CDN forwards).
pub const PLATFORM_START: GoLiveRequest = GoLiveRequest {
    ahead: false,
    fresh: false,
};

/// A reconnect after the nodes failed or the ingest expired: a fresh resolution for the
/// session already open, whose forwards follow the stream, not the node.
pub const PLATFORM_FAILOVER: GoLiveRequest = GoLiveRequest {
    ahead: true,
    fresh: true,
};

/// What a go-live through the platform holds besides its plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformLease {
    /// `"zego"` or `"aliyun"`: the vendor the token publishes to.
    pub provider: String,
    /// The session to heartbeat and stop (none for resolutions ahead).
    pub session: Option<String>,
    /// How often to send the heartbeat while live.
    pub heartbeat: Duration,
    /// The broker's non-fatal findings, in English.
    pub warnings: Vec<String>,
}

/// The broker's answer, probed from this computer exactly as in direct mode. When `known` (a
/// plan resolved ahead) has the very nodes of the answer, its probe order is kept and no probe
/// is repeated.
pub fn resolve_platform(
    shared: &Shared,
    config: &PlatformConfig,
    request: &GoLiveRequest,
    policy: RetryPolicy,
    known: Option<&IngestPlan>,
) -> Result<(IngestPlan, PlatformLease), GoLiveError> {
    let answer = honouring_retry_after(
        policy.budget,
        || platform::golive(&shared.http, config, request),
        |d| shared.background.sleep(d),
    )
    .map_err(GoLiveError::Platform)?;
    let obtained_at = Instant::now();
    let nodes = answer_nodes(&answer)?;
    let same_nodes = known.filter(|plan| {
        let mut theirs: Vec<&RtmpTarget> = plan.nodes().collect();
        let mut ours: Vec<&RtmpTarget> = nodes.iter().collect();
        theirs.sort_by(|a, b| (&a.server, &a.key).cmp(&(&b.server, &b.key)));
        ours.sort_by(|a, b| (&a.server, &a.key).cmp(&(&b.server, &b.key)));
        theirs == ours
    });
    let ordered = match same_nodes {
        Some(plan) => IngestPlan {
            request_id: answer.request_id.clone(),
            ..plan.clone()
        },
        None => order_by_reachability(nodes, &answer.request_id)?,
    };
    let plan = IngestPlan {
        expires_at: Some(UNIX_EPOCH + Duration::from_secs(answer.valid_until)),
        obtained_at,
        ..ordered
    };
    log::info!(
        "platform: {} ingest via {} (RequestId={}, {} node(s), {})",
        answer.provider,
        config.url.host(),
        answer.request_id,
        plan.alternates.len() + 1,
        if answer.session.is_some() {
            "session opened"
        } else {
            "no session"
        }
    );
    let lease = PlatformLease {
        provider: answer.provider,
        session: answer.session,
        heartbeat: Duration::from_secs(answer.heartbeat_seconds.max(1)),
        warnings: answer.warnings,
    };
    Ok((plan, lease))
}

/// The answer's server and alternates as RTMP targets, in the broker's order.
fn answer_nodes(answer: &GoLiveAnswer) -> Result<Vec<RtmpTarget>, GoLiveError> {
    std::iter::once((&answer.server, &answer.key))
        .chain(answer.alternates.iter().map(|t| (&t.server, &t.key)))
        .map(|(server, key)| {
            let server = server.trim_end_matches('/');
            // The split checks scheme, host and app; the key is kept exactly as sent.
            match RtmpTarget::split(&format!("{server}/{key}")) {
                Ok(_) if !key.is_empty() => Ok(RtmpTarget {
                    server: server.to_string(),
                    key: key.clone(),
                }),
                _ => Err(GoLiveError::Platform(PlatformError::BadResponse {
                    status: 200,
                    detail: format!("the ingest {server} is not an rtmp:// or rtmps:// URL"),
                })),
            }
        })
        .collect()
}

/// Dispatch and probe: the ZEGOCLOUD plan, without side effects at the vendor. Public so that
/// load tests can drive it with a [`RetryPolicy`] (`tests/rate_limit_storm.rs`).
pub fn resolve_zego(
    shared: &Shared,
    config: &ZegoConfig,
    policy: RetryPolicy,
) -> Result<IngestPlan, GoLiveError> {
    let dispatch = policy
        .run(
            || zego::dispatch_push(&shared.http, config, &shared.sequence),
            ZegoError::is_rate_limited,
            |d| shared.background.sleep(d),
        )
        .map_err(GoLiveError::Zego)?;
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
    let plan = IngestPlan {
        expires_at: Some(SystemTime::now() + ZEGO_NODE_VALIDITY),
        obtained_at,
        ..order_by_reachability(nodes, &dispatch.request_id)?
    };
    Ok(plan)
}

/// A reusable or fresh ingest address, probed: the Alibaba plan and its address-cache key.
pub fn resolve_aliyun(
    shared: &Shared,
    config: &AliyunConfig,
    policy: RetryPolicy,
) -> Result<(IngestPlan, String), GoLiveError> {
    let key = config.address_key();
    let now = SystemTime::now();
    let reused = shared.addresses.lock_recovered().usable(&key, now).cloned();
    let (entry, reused) = match reused {
        Some(entry) => (entry, true),
        None => {
            let created = policy
                .run(
                    || aliyun::create_address(&shared.http, config),
                    AliyunError::is_rate_limited,
                    |d| shared.background.sleep(d),
                )
                .map_err(GoLiveError::Aliyun)?;
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
        GoLiveError::Aliyun(AliyunError::BadAddress {
            request_id: entry.request_id.clone(),
        })
    })?;
    let plan = order_by_reachability(vec![target], &entry.request_id).inspect_err(|_| {
        // An address whose node is unreachable is not worth keeping.
        shared.addresses.lock_recovered().remove(&key);
    })?;
    log::info!(
        "aliyun-artc: {} ingest address (AccessKeyId {}, valid {} s more)",
        if reused { "reusing the" } else { "created an" },
        config.masked_access_key_id(),
        entry.expires_at.saturating_sub(unix_secs(now))
    );
    if !reused {
        shared
            .addresses
            .lock_recovered()
            .insert(key.clone(), entry.clone(), now);
        // The file write (with fsync) happens off the calling thread, often OBS's UI thread.
        let cache = shared.addresses.clone();
        shared.background.spawn("address-cache", move |_| {
            cache.lock_recovered().save();
        });
    }
    let plan = IngestPlan {
        expires_at: Some(UNIX_EPOCH + Duration::from_secs(entry.expires_at)),
        request_id: entry.request_id,
        ..plan
    };
    Ok((plan, key))
}

/// A dry run of Start Streaming with `settings`: validation, the vendor call and the node
/// probe, but no publish and no CDN forward. An Alibaba address made here is kept for reuse.
pub fn test_connection(settings: &ServiceSettings, shared: &Shared) -> GoLiveReport {
    let started = Instant::now();
    // Resolving ahead is the platform's dry run too: no session, no CDN forward.
    let result = match settings.config() {
        Ok(config) => resolve(shared, config, RetryPolicy::GO_LIVE).map(|(plan, _)| plan),
        Err(e) => Err(GoLiveError::Config(e.clone())),
    };
    let report = GoLiveReport::new(result.as_ref(), started.elapsed(), Vec::new());
    log::info!(
        "test connection: provider={} ok={} RequestId={} node={} latency={}ms",
        settings.kind().provider(),
        report.error.is_none(),
        report.request_id,
        report.node,
        report.latency.as_millis()
    );
    report
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
        let live = rtc_golive_simulator::HandshakeNode::start("127.0.0.1:0").unwrap();
        let dead = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let nodes = vec![
            RtmpTarget::split(&format!("rtmp://127.0.0.1:{dead}/live/s")).unwrap(),
            RtmpTarget::split(&format!("rtmp://127.0.0.1:{}/live/s", live.port())).unwrap(),
        ];
        let plan = order_by_reachability(nodes.clone(), "R").unwrap();
        assert_eq!(plan.primary, nodes[1]);
        assert_eq!(plan.alternates, vec![nodes[0].clone()]);
    }
}
