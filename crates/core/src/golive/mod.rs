//! One service's go-live: its parsed settings, the start in flight and the live stream, from
//! Start Streaming to the stream's end (reconnects included).

mod failover;
mod session;
mod start;

pub use failover::{Failover, Refresh};
pub use session::Session;
pub use start::{Begin, Resolving};

use crate::cdn_forwarding::CdnRule;
use crate::config::{zego::ZegoConfig, ProviderConfig, ServiceKind, ServiceSettings};
use crate::go_live_error::GoLiveError;
use crate::host::StreamControl;
use crate::lock::LockRecovered;
use crate::messages::Message;
use crate::pending::Waited;
use crate::prefetch::{Prefetch, Ready};
use crate::report::GoLiveReport;
use crate::resolve::ZEGO_NODE_VALIDITY;
use crate::rtmp_target::{IngestPlan, RtmpTarget};
use crate::shared::Shared;
use session::{delete_forwards, release, Vendor};
use start::StartJob;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// A reconnect resolves again when the target expires within this margin.
const REFRESH_MARGIN: Duration = Duration::from_secs(60);

/// The per-service state: its settings and the current stream.
#[derive(Debug)]
pub struct GoLive {
    settings: ServiceSettings,
    shared: Shared,
    session: Option<Session>,
    /// The start whose vendor work is in flight.
    resolving: Option<Arc<Resolving>>,
    prefetch: Option<Prefetch>,
}

impl GoLive {
    /// A service with `settings`. A ZEGOCLOUD service starts deleting CDN forwards left behind
    /// by an OBS session of the same AppId that ended without stopping.
    pub fn new(settings: ServiceSettings, shared: Shared) -> Self {
        let prefetch = start_prefetch(&settings, &shared);
        let golive = GoLive {
            settings,
            shared,
            session: None,
            resolving: None,
            prefetch,
        };
        if let Ok(ProviderConfig::Zego(config)) = golive.settings.config() {
            golive.delete_orphan_forwards(config, &[]);
        }
        golive
    }

    /// New settings from OBS; the next start resolves with them, and resolving ahead starts
    /// over for them.
    pub fn update(&mut self, settings: ServiceSettings) {
        if settings != self.settings {
            // Stop the old task before starting the new one: never two resolving at once.
            self.prefetch = None;
            self.prefetch = start_prefetch(&settings, &self.shared);
        }
        self.settings = settings;
    }

    /// Start Streaming, with local work only: a bad setting refuses the start before any
    /// request, then either uses the plan resolved ahead (when nothing else needs the
    /// network) or starts the vendor work in the background: dispatch or address creation,
    /// the node probe and (ZEGOCLOUD) the CDN forwards. Either way one line per go-live is
    /// logged with provider, RequestId, node host and latency once it is known.
    pub fn start(&mut self) -> Result<Begin<'_>, GoLiveError> {
        self.on_stopped();
        let started = Instant::now();
        let config = self
            .settings
            .config()
            .map_err(|e| GoLiveError::Config(e.clone()))?
            .clone();
        if let ProviderConfig::Zego(zego) = &config {
            let planned: Vec<CdnRule> = zego
                .cdn_urls
                .iter()
                .map(|u| CdnRule::new(zego, u))
                .collect();
            self.delete_orphan_forwards(zego, &planned);
        }
        let prefetched = self
            .take_prefetched(&config)
            .map(|ready| (ready.plan, ready.address_key));
        let mut job = StartJob { config, prefetched };
        let kind = self.settings.kind();
        if let Some(session) = job.take_ready() {
            record(&self.shared, kind, Ok(&session), started, Vec::new());
            return Ok(Begin::Ready(&self.session.insert(session).plan));
        }
        let scoped = self.shared.scoped();
        let resolving = Arc::new(Resolving::new(&scoped, &self.shared));
        self.shared.starts.track(resolving.clone());
        let (base, worker) = (self.shared.clone(), resolving.clone());
        self.shared.background.spawn("go-live", move |_| {
            let mut warnings = Vec::new();
            let result = match job.run(&scoped, &base, &worker.pending, &mut warnings) {
                // The cut call's own error (a transport "cancelled") would misreport why.
                Err(_) if worker.pending.is_cancelled() => Err(GoLiveError::Cancelled),
                result => result,
            };
            record(&base, kind, result.as_ref(), started, warnings);
            if let Err(Ok(session)) = worker.pending.fulfil(result) {
                log::info!("go-live: the start was given up meanwhile; undoing it");
                release(&base, session);
            }
        });
        self.resolving = Some(resolving.clone());
        Ok(Begin::Resolving(resolving))
    }

    /// After the connect thread waited for `resolving`: the plan to publish to, or the text
    /// for OBS's error dialog. A result that arrives for a start no longer current is undone.
    pub fn adopt(
        &mut self,
        resolving: &Arc<Resolving>,
        outcome: Waited<Result<Session, GoLiveError>>,
    ) -> Result<&IngestPlan, Message> {
        let current = self
            .resolving
            .as_ref()
            .is_some_and(|r| Arc::ptr_eq(r, resolving));
        if current {
            self.resolving = None;
        }
        match outcome {
            Waited::Ready(Ok(session)) if current => Ok(&self.session.insert(session).plan),
            Waited::Ready(Ok(session)) => {
                release(&self.shared, session);
                Err(GoLiveError::Cancelled.message())
            }
            Waited::Ready(Err(e)) => Err(e.message()),
            Waited::Cancelled => Err(GoLiveError::Cancelled.message()),
            Waited::TimedOut => {
                resolving.cancel();
                Err(Message::new("Error.StartTimedOut"))
            }
        }
    }

    /// The start whose vendor work is in flight, if any.
    pub fn resolving(&self) -> Option<Arc<Resolving>> {
        self.resolving.clone()
    }

    /// The output is stopping: a start still resolving is given up (nothing gets published).
    pub fn cancel_resolving(&mut self) {
        if let Some(resolving) = self.resolving.take() {
            resolving.cancel();
        }
    }

    /// The plan resolved ahead for `config`, if fresh.
    fn take_prefetched(&self, config: &ProviderConfig) -> Option<Ready> {
        let ready = self.prefetch.as_ref()?.take(config)?;
        log::info!(
            "using the node resolved ahead {} s ago",
            ready.plan.obtained_at.elapsed().as_secs()
        );
        Some(ready)
    }

    /// The stream is live (OBS began sending): confirm it with the vendor in the background.
    /// ZEGOCLOUD: DescribeRTCStreamState for up to 10 s. Alibaba: the presence check.
    pub fn on_live(&mut self, control: Arc<dyn StreamControl>) {
        let Some(session) = self.session.as_mut().filter(|s| !s.live) else {
            return;
        };
        session.live = true;
        session.start_live_checks(&self.shared, control);
    }

    /// The stream ended for good (user stop, error, OBS quitting): stop background checks and
    /// delete the CDN forwards, in the background so OBS's window never waits for it.
    pub fn on_stopped(&mut self) {
        self.cancel_resolving();
        if let Some(session) = self.session.take() {
            release(&self.shared, session);
        }
    }

    /// Where OBS should publish now, once a start succeeded.
    pub fn target(&self) -> Option<&RtmpTarget> {
        let session = self.session.as_ref()?;
        session.plan.nodes().nth(session.current)
    }

    /// OBS lost the connection and is about to reconnect.
    pub fn on_reconnect(&mut self) {
        if let Some(session) = self.session.as_mut() {
            session.failover_pending = true;
        }
    }

    /// After [`on_reconnect`](Self::on_reconnect), called from the output's connect thread
    /// before it reads the target: moves to the next node, or, when the plan is past the
    /// vendor's validity, says to resolve again (outside any lock) and hand the outcome to
    /// [`refreshed`](Self::refreshed).
    pub fn failover(&mut self) -> Failover<'_> {
        let Some(session) = self.session.as_mut().filter(|s| s.failover_pending) else {
            return Failover::Unchanged;
        };
        session.failover_pending = false;
        let is_zego = matches!(session.vendor, Vendor::Zego { .. });
        let count = session.plan.nodes().count();
        // Through the platform, every node failing asks the broker for fresh ones.
        let exhausted =
            matches!(session.vendor, Vendor::Platform { .. }) && session.current + 1 >= count;
        let expired = session
            .plan
            .expires_at
            .is_some_and(|t| t <= SystemTime::now() + REFRESH_MARGIN)
            || (is_zego && session.plan.obtained_at.elapsed() >= ZEGO_NODE_VALIDITY);
        if expired || exhausted {
            let config = match &session.vendor {
                Vendor::Zego { config, .. } => ProviderConfig::Zego(config.clone()),
                Vendor::Aliyun {
                    config,
                    address_key,
                } => {
                    self.shared.addresses.lock_recovered().remove(address_key);
                    ProviderConfig::Aliyun(config.clone())
                }
                Vendor::Platform { config, .. } => ProviderConfig::Platform(config.clone()),
            };
            return Failover::Expired(Box::new(Refresh {
                shared: self.shared.scoped(),
                config,
            }));
        }
        session.current = (session.current + 1) % count;
        match session.plan.nodes().nth(session.current) {
            Some(next) => {
                log::info!(
                    "failover: reconnecting to node {} ({} of {count})",
                    next.authority(),
                    session.current + 1
                );
                Failover::Moved(next)
            }
            None => Failover::Unchanged,
        }
    }

    /// The outcome of a [`Refresh`]: publishes to the fresh plan, or keeps the old nodes when
    /// resolving failed. Returns the target to hand out, `None` when the stream ended meanwhile.
    pub fn refreshed(&mut self, fresh: Result<IngestPlan, GoLiveError>) -> Option<&RtmpTarget> {
        let session = self.session.as_mut()?;
        match fresh {
            Ok(plan) => {
                log::info!(
                    "failover: resolved again (RequestId={}), publishing to {}",
                    plan.request_id,
                    plan.primary.authority()
                );
                session.plan = plan;
                session.current = 0;
            }
            Err(e) => log::warn!("failover: resolving again failed, keeping the old nodes: {e}"),
        }
        session.plan.nodes().nth(session.current)
    }

    /// Deletes forwards of this AppId left by OBS sessions that ended without stopping, except
    /// those about to be created again (a create of an existing rule is harmless).
    fn delete_orphan_forwards(&self, config: &ZegoConfig, keep: &[CdnRule]) {
        let endpoint = config.endpoint.root().to_string();
        let orphans: Vec<CdnRule> = self
            .shared
            .cdn_journal
            .lock_recovered()
            .take_orphans(config.app_id, &endpoint)
            .into_iter()
            .filter(|o| {
                !keep
                    .iter()
                    .any(|k| k.stream_id == o.stream_id && k.cdn_url == o.cdn_url)
            })
            .collect();
        if !orphans.is_empty() {
            log::warn!(
                "deleting {} CDN forward(s) left by an OBS session that ended without stopping",
                orphans.len()
            );
            delete_forwards(&self.shared, config, orphans);
        }
    }
}

impl Drop for GoLive {
    fn drop(&mut self) {
        self.on_stopped();
    }
}

/// Resolving ahead for valid settings that ask for it.
fn start_prefetch(settings: &ServiceSettings, shared: &Shared) -> Option<Prefetch> {
    Prefetch::start(settings.config().ok()?, shared)
}

/// Records the outcome of a start for status requests and logs the go-live line.
fn record(
    shared: &Shared,
    kind: ServiceKind,
    result: Result<&Session, &GoLiveError>,
    started: Instant,
    warnings: Vec<Message>,
) {
    let latency = started.elapsed();
    let report = GoLiveReport::new(result.map(|session| &session.plan), latency, warnings);
    shared.status.record_go_live(kind, report);
    if let Ok(session) = result {
        log::info!(
            "go-live: provider={} RequestId={} node={} nodes={} latency={}ms",
            kind.provider(),
            session.plan.request_id,
            session.plan.primary.authority(),
            session.plan.alternates.len() + 1,
            latency.as_millis()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_settings_send_nothing() {
        // An unroutable endpoint: if a request were sent, this would be a transport error.
        let settings = serde_json::json!({"app_id": 1, "server_secret": "x", "stream_id": "bad id",
                                          "endpoint": "http://127.0.0.1:9"});
        let shared = Shared::new(None).unwrap();
        let settings = ServiceSettings::parse(ServiceKind::ZegoRtmpDispatch, &settings);
        let mut g = GoLive::new(settings, shared);
        match g.start() {
            Err(GoLiveError::Config(e)) => assert_eq!(e.key, "stream_id"),
            other => panic!("expected a config error, got {other:?}"),
        }
        assert!(g.target().is_none());
    }
}
