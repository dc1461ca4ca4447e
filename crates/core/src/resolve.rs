//! Resolution: the vendor call and the node probe that turn a config into the plan OBS
//! publishes to, without side effects at the vendor (no CDN forward, no publish).

use crate::address_cache::{auth_key_expiry, CachedAddress};
use crate::config::aliyun::AliyunConfig;
use crate::config::zego::ZegoConfig;
use crate::config::{ProviderConfig, ServiceSettings};
use crate::go_live_error::GoLiveError;
use crate::lock::LockRecovered;
use crate::node_probe::{first_reachable, DEFAULT_PROBE_TIMEOUT};
use crate::providers::aliyun::{self, AliyunError};
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
    }
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
