//! One Start Streaming's vendor work, run off OBS's threads: the job, and the handle the
//! output's connect thread waits on.

use super::session::{delete_forwards, release, Session, Vendor};
use crate::api_client::ApiClient;
use crate::cdn_forwarding;
use crate::config::{aliyun::AliyunConfig, ProviderConfig};
use crate::go_live_error::{cdn_warning, GoLiveError};
use crate::messages::Message;
use crate::pending::{Pending, Waited};
use crate::resolve::{resolve, resolve_platform, PLATFORM_START};
use crate::retry::RetryPolicy;
use crate::rtmp_target::IngestPlan;
use crate::shared::{CancelStart, Shared};
use std::sync::Arc;
use std::time::Duration;

/// A Start Streaming whose vendor work (dispatch or address creation, node probe, CDN
/// forwards) runs on its own thread, so that OBS's UI thread never waits for it. The output's
/// connect thread waits for it instead, when it asks for the target.
#[derive(Debug)]
pub struct Resolving {
    pub(super) pending: Pending<Result<Session, GoLiveError>>,
    /// The scoped client the vendor calls go through, cut by [`cancel`](Self::cancel).
    http: ApiClient,
    /// For undoing a result nobody takes.
    shared: Shared,
}

impl Resolving {
    pub(super) fn new(scoped: &Shared, shared: &Shared) -> Self {
        Resolving {
            pending: Pending::default(),
            http: scoped.http.clone(),
            shared: shared.clone(),
        }
    }

    /// Gives the start up: the waiter wakes, calls in flight end, and a result nobody took is
    /// undone (its CDN forwards deleted, in the background).
    pub fn cancel(&self) {
        self.http.cancel_scope();
        if let Some(Ok(session)) = self.pending.cancel() {
            release(&self.shared, session);
        }
    }

    /// Waits up to `bound` for the outcome (called on the output's connect thread, with no
    /// lock held); hand it to [`GoLive::adopt`](super::GoLive::adopt).
    pub fn wait(&self, bound: Duration) -> Waited<Result<Session, GoLiveError>> {
        self.pending.wait(bound)
    }
}

impl CancelStart for Resolving {
    fn cancel_start(&self) -> bool {
        let was_resolving = self.pending.is_resolving();
        self.cancel();
        was_resolving
    }
}

/// What [`GoLive::start`](super::GoLive::start) found.
#[derive(Debug)]
pub enum Begin<'a> {
    /// The target is known already (resolved ahead, nothing else to set up).
    Ready(&'a IngestPlan),
    /// The vendor work runs in the background; the connect thread waits for it.
    Resolving(Arc<Resolving>),
}

/// The vendor work of one Start Streaming, detached from the service's state.
pub(super) struct StartJob {
    pub(super) config: ProviderConfig,
    /// A plan resolved ahead, with its Alibaba address-cache key.
    pub(super) prefetched: Option<(IngestPlan, Option<String>)>,
}

impl StartJob {
    /// The session at once when no network work is left: a plan resolved ahead, and no CDN
    /// forward to create or platform session to open.
    pub(super) fn take_ready(&mut self) -> Option<Session> {
        match &self.config {
            ProviderConfig::Zego(config) if config.cdn_urls.is_empty() => {
                let (plan, _) = self.prefetched.take()?;
                let vendor = Vendor::Zego {
                    config: config.clone(),
                    forwards: Vec::new(),
                };
                Some(Session::new(plan, vendor))
            }
            ProviderConfig::Aliyun(config) => {
                let (plan, key) = self.prefetched.take()?;
                Some(Session::new(plan, aliyun_vendor(config, key)))
            }
            ProviderConfig::Zego(_) | ProviderConfig::Platform(_) => None,
        }
    }

    /// Runs the vendor work: calls through `scoped` (cut when the start is given up); CDN
    /// forwards and the platform's session through `base`, so that their outcome is known and
    /// what was created for a start given up meanwhile is undone again.
    pub(super) fn run(
        self,
        scoped: &Shared,
        base: &Shared,
        pending: &Pending<Result<Session, GoLiveError>>,
        warnings: &mut Vec<Message>,
    ) -> Result<Session, GoLiveError> {
        let config = match &self.config {
            ProviderConfig::Zego(config) => config,
            ProviderConfig::Aliyun(config) => {
                let (plan, key) = match self.prefetched {
                    Some(ready) => ready,
                    None => resolve(scoped, &self.config, RetryPolicy::GO_LIVE)?,
                };
                return Ok(Session::new(plan, aliyun_vendor(config, key)));
            }
            ProviderConfig::Platform(config) => {
                // A plan resolved ahead saves the node probe when the broker answers the same
                // nodes; the session itself is always opened now.
                let known = self.prefetched.as_ref().map(|(plan, _)| plan);
                let (plan, lease) =
                    resolve_platform(base, config, &PLATFORM_START, RetryPolicy::GO_LIVE, known)?;
                warnings.extend(
                    lease
                        .warnings
                        .iter()
                        .map(|w| Message::new("Platform.Warn.Broker").text(w)),
                );
                let vendor = Vendor::Platform {
                    config: config.clone(),
                    lease,
                };
                return Ok(Session::new(plan, vendor));
            }
        };
        let (plan, _) = match self.prefetched {
            Some(ready) => ready,
            None => resolve(scoped, &self.config, RetryPolicy::GO_LIVE)?,
        };
        if pending.is_cancelled() {
            return Err(GoLiveError::Cancelled);
        }
        let (forwards, failures) = cdn_forwarding::create_all(
            &base.http,
            config,
            &base.sequence,
            &base.cdn_journal,
            (RetryPolicy::GO_LIVE, &base.background),
        );
        if pending.is_cancelled() {
            delete_forwards(base, config, forwards);
            return Err(GoLiveError::Cancelled);
        }
        if let Some(failure) = failures.first() {
            if config.cdn_required {
                delete_forwards(base, config, forwards);
                return Err(GoLiveError::CdnRequired(failure.clone()));
            }
            warnings.extend(failures.iter().map(cdn_warning));
        }
        let vendor = Vendor::Zego {
            config: config.clone(),
            forwards,
        };
        Ok(Session::new(plan, vendor))
    }
}

/// The session's vendor part for an Alibaba plan; a plan without a key (never the case for
/// one resolved here) gets its config's.
fn aliyun_vendor(config: &AliyunConfig, key: Option<String>) -> Vendor {
    Vendor::Aliyun {
        address_key: key.unwrap_or_else(|| config.address_key()),
        config: config.clone(),
    }
}
