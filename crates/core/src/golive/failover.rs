//! A reconnect: the next node of the plan, or resolving again once the plan is too old.

use crate::config::ProviderConfig;
use crate::go_live_error::GoLiveError;
use crate::resolve::{resolve, resolve_platform, PLATFORM_FAILOVER};
use crate::retry::RetryPolicy;
use crate::rtmp_target::{IngestPlan, RtmpTarget};
use crate::shared::Shared;

/// What the connect thread does before it hands out the target of a reconnect.
#[derive(Debug)]
pub enum Failover<'a> {
    /// No reconnect is pending: the current target stays.
    Unchanged,
    /// The next node of the plan.
    Moved(&'a RtmpTarget),
    /// The plan is past the vendor's validity: [`Refresh::run`] it without holding any lock.
    Expired(Box<Refresh>),
}

/// Resolving again during a reconnect, detached from the service's state.
#[derive(Debug)]
pub struct Refresh {
    pub(super) shared: Shared,
    pub(super) config: ProviderConfig,
}

impl Refresh {
    /// The vendor call and node probe; OBS quitting cuts it short. Through the platform, a
    /// fresh resolution for the session already open (`fresh: true`).
    pub fn run(&self) -> Result<IngestPlan, GoLiveError> {
        match &self.config {
            ProviderConfig::Platform(config) => resolve_platform(
                &self.shared,
                config,
                &PLATFORM_FAILOVER,
                RetryPolicy::GO_LIVE,
                None,
            )
            .map(|(plan, _)| plan),
            _ => resolve(&self.shared, &self.config, RetryPolicy::GO_LIVE).map(|(plan, _)| plan),
        }
    }
}
