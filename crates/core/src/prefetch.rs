//! Resolving ahead, so that Start Streaming needs no API call.
//!
//! The vendors allow it: a ZEGOCLOUD node may be used within 2 hours of its dispatch, an
//! Alibaba address until it expires. A background task keeps one resolved plan ready for the
//! service's current settings and replaces it when it is taken or gets old. A ZEGOCLOUD node is
//! never handed out older than `node_max_age` (10 minutes by default), well inside the vendor's
//! window; refreshing at that pace costs one call per 10 minutes per OBS, far below the limits.

use crate::api_client::ApiClient;
use crate::background::StopSignal;
use crate::config::ProviderConfig;
use crate::lock::LockRecovered;
use crate::resolve::resolve;
use crate::retry::RetryPolicy;
use crate::rtmp_target::IngestPlan;
use crate::shared::Shared;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

/// A ZEGOCLOUD plan is refreshed this long before it reaches `node_max_age`.
const REFRESH_MARGIN: Duration = Duration::from_secs(60);
/// An Alibaba address is replaced when less than this much validity remains (the address cache
/// stops reusing it at 10 minutes).
const ADDRESS_MARGIN: Duration = Duration::from_secs(15 * 60);
/// After a failed resolution, the next try waits this long.
const RETRY_AFTER: Duration = Duration::from_secs(60);
/// How often the task looks whether its plan was taken.
const POLL: Duration = Duration::from_millis(200);

/// A plan resolved ahead for specific settings.
#[derive(Debug, Clone)]
pub struct Ready {
    /// The config it was resolved with.
    pub config: ProviderConfig,
    /// The plan.
    pub plan: IngestPlan,
    /// The Alibaba address-cache key, for forgetting the address later.
    pub address_key: Option<String>,
    /// The oldest a ZEGOCLOUD plan may be when taken.
    max_age: Option<Duration>,
}

impl Ready {
    fn fresh(&self) -> bool {
        let young = self
            .max_age
            .is_none_or(|max| self.plan.obtained_at.elapsed() < max);
        let valid = self
            .plan
            .expires_at
            .is_none_or(|t| t > SystemTime::now() + Duration::from_secs(600));
        young && valid
    }
}

/// The background task of one service and its ready plan. Dropping it stops the task.
#[derive(Debug)]
pub struct Prefetch {
    slot: Arc<Mutex<Option<Ready>>>,
    stop: Arc<StopSignal>,
    /// The task's calls: cut when the task is dropped, or at once when OBS begins to quit.
    http: ApiClient,
}

impl Drop for Prefetch {
    fn drop(&mut self) {
        self.stop.stop();
        self.http.cancel_scope();
    }
}

impl Prefetch {
    /// Starts resolving ahead for `config`, unless prefetching is off.
    pub fn start(config: &ProviderConfig, shared: &Shared) -> Option<Prefetch> {
        if !config.prefetch() {
            return None;
        }
        let slot = Arc::new(Mutex::new(None));
        let shared_task = shared.scoped();
        let http = shared_task.http.clone();
        let (task_slot, config) = (slot.clone(), config.clone());
        let stop = shared.background.spawn("prefetch", move |stop| {
            run(&config, &shared_task, &task_slot, &stop);
        });
        Some(Prefetch { slot, stop, http })
    }

    /// The ready plan for `config`, if one is fresh. Taking it makes the task resolve the
    /// next one.
    pub fn take(&self, config: &ProviderConfig) -> Option<Ready> {
        let mut slot = self.slot.lock_recovered();
        match slot.take() {
            Some(ready) if ready.config == *config && ready.fresh() => Some(ready),
            _ => None,
        }
    }
}

/// Resolves once; returns the plan and when to replace it.
fn resolve_once(config: &ProviderConfig, shared: &Shared) -> Option<(Ready, Instant)> {
    let (plan, address_key) = match resolve(shared, config, RetryPolicy::BACKGROUND) {
        Ok(resolved) => resolved,
        Err(e) => {
            log::info!("resolving ahead failed, Start Streaming will resolve itself: {e}");
            return None;
        }
    };
    let (refresh, max_age) = match config {
        ProviderConfig::Zego(zego) => (
            plan.obtained_at + zego.node_max_age.saturating_sub(REFRESH_MARGIN),
            Some(zego.node_max_age),
        ),
        // The broker's nodes age like the vendor's: refreshed before `node_max_age`, or
        // before the ingest expires when that comes first.
        ProviderConfig::Platform(platform) => {
            let left = plan
                .expires_at
                .and_then(|t| t.duration_since(SystemTime::now()).ok())
                .unwrap_or_default();
            let by_age = plan.obtained_at + platform.node_max_age.saturating_sub(REFRESH_MARGIN);
            let by_expiry = Instant::now() + left.saturating_sub(ADDRESS_MARGIN);
            (by_age.min(by_expiry), Some(platform.node_max_age))
        }
        ProviderConfig::Aliyun(_) => {
            let left = plan
                .expires_at
                .and_then(|t| t.duration_since(SystemTime::now()).ok())
                .unwrap_or_default();
            (Instant::now() + left.saturating_sub(ADDRESS_MARGIN), None)
        }
    };
    let ready = Ready {
        config: config.clone(),
        plan,
        address_key,
        max_age,
    };
    Some((ready, refresh))
}

fn run(config: &ProviderConfig, shared: &Shared, slot: &Mutex<Option<Ready>>, stop: &StopSignal) {
    while !stop.is_stopped() {
        let Some((ready, refresh_at)) = resolve_once(config, shared) else {
            if !stop.sleep(RETRY_AFTER) {
                return;
            }
            continue;
        };
        log::info!(
            "resolved ahead: node {} ready for Start Streaming",
            ready.plan.primary.authority()
        );
        *slot.lock_recovered() = Some(ready);
        // Wait until the plan is taken or due for replacement.
        while Instant::now() < refresh_at {
            if !stop.sleep(POLL) {
                return;
            }
            if slot.lock_recovered().is_none() {
                break;
            }
        }
    }
}
