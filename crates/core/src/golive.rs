//! One go-live: validated config -> vendor call -> reachable node -> the plan OBS publishes to.

use crate::address_cache::{auth_key_expiry, fingerprint, unix_secs, AddressCache, CachedAddress};
use crate::api_client::{ApiClient, TransportError};
use crate::background::{Background, StopSignal};
use crate::cdn_forwarding::{self, CdnJournal, CdnRule, ForwardFailure};
use crate::config::aliyun::AliyunConfig;
use crate::config::{fields, fields::Field, zego::ZegoConfig, ConfigError};
use crate::lock::LockRecovered;
use crate::messages::Message;
use crate::node_probe::{first_reachable, DEFAULT_PROBE_TIMEOUT};
use crate::pending::{Pending, Waited};
use crate::prefetch::Prefetch;
use crate::presence;
use crate::providers::aliyun::{self, AliyunError};
use crate::providers::zego::{self, SequenceClock, StreamState, ZegoError};
use crate::retry::RetryPolicy;
use crate::rtmp_target::{IngestPlan, RtmpTarget};
use serde_json::Value;
use std::path::Path;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// ZEGOCLOUD asks for a dispatched node to be used within 2 hours.
const ZEGO_NODE_VALIDITY: Duration = Duration::from_secs(2 * 60 * 60);
/// A reconnect resolves again when the target expires within this margin.
const REFRESH_MARGIN: Duration = Duration::from_secs(60);

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
    pub const ALL: &'static [ServiceKind] =
        &[ServiceKind::ZegoRtmpDispatch, ServiceKind::AliyunArtcRtmp];

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
        /// `host:port` of each node.
        hosts: Vec<String>,
        /// The vendor's RequestId.
        request_id: String,
    },
    /// A CDN forward failed and `cdn_required` is on; the forwards created were deleted again.
    CdnRequired(ForwardFailure),
    /// The start was given up (OBS quitting, the output stopping, a newer start) before the
    /// target was known; nothing was published and any forward created was deleted.
    Cancelled,
}

crate::error_via_message!(GoLiveError);

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
            GoLiveError::CdnRequired(failure) => Message::new("Error.CdnRequired")
                .message_arg(cdn_warning(failure))
                .key_arg("Zego.CdnRequired"),
            GoLiveError::Cancelled => Message::new("Error.Cancelled"),
        }
    }

    /// The vendor's RequestId, when a vendor answered.
    pub fn request_id(&self) -> &str {
        match self {
            GoLiveError::Zego(ZegoError::Api { request_id, .. })
            | GoLiveError::Zego(ZegoError::EmptyData { request_id })
            | GoLiveError::Zego(ZegoError::BadNodeUrl { request_id, .. })
            | GoLiveError::Aliyun(AliyunError::Api { request_id, .. })
            | GoLiveError::Aliyun(AliyunError::NoAddress { request_id })
            | GoLiveError::Aliyun(AliyunError::BadAddress { request_id })
            | GoLiveError::NoReachableNode { request_id, .. } => request_id,
            GoLiveError::CdnRequired(ForwardFailure {
                error: ZegoError::Api { request_id, .. },
                ..
            }) => request_id,
            _ => "",
        }
    }
}

/// What every service instance of the module shares.
#[derive(Debug, Clone)]
pub struct Shared {
    /// The one HTTP client (connection reuse).
    pub http: ApiClient,
    /// Reusable Alibaba ingest addresses.
    pub addresses: Arc<Mutex<AddressCache>>,
    /// ZEGOCLOUD CDN rules that may exist.
    pub cdn_journal: Arc<Mutex<CdnJournal>>,
    /// ZEGOCLOUD's Sequence, shared by every call.
    pub sequence: Arc<SequenceClock>,
    /// Background tasks, joined at unload.
    pub background: Arc<Background>,
    /// The last go-live of any service of the module, for status requests.
    pub last_go_live: Arc<Mutex<Option<(ServiceKind, GoLiveReport)>>>,
    /// The last problem found while live (presence lost), for status requests.
    pub last_alert: Arc<Mutex<Option<(SystemTime, Message)>>>,
    /// Starts still resolving, cancelled together when OBS begins to quit.
    pub starts: Arc<Mutex<Vec<Weak<Resolving>>>>,
}

impl Shared {
    /// State kept in `dir` (the plugin's config directory), or only in memory when `None`.
    pub fn new(dir: Option<&Path>) -> Result<Self, TransportError> {
        let file = |name: &str| dir.map(|d| d.join(name));
        Ok(Shared {
            http: ApiClient::with_defaults()?,
            addresses: Arc::new(Mutex::new(AddressCache::load(file("addresses.json")))),
            cdn_journal: Arc::new(Mutex::new(CdnJournal::load(file("cdn-rules.json")))),
            sequence: Arc::new(match file("zego-sequence") {
                Some(path) => SequenceClock::persistent(path),
                None => SequenceClock::new(),
            }),
            background: Background::new(),
            last_go_live: Arc::new(Mutex::new(None)),
            last_alert: Arc::new(Mutex::new(None)),
            starts: Arc::new(Mutex::new(Vec::new())),
        })
    }

    /// OBS began to quit: every start still resolving is cancelled (its connect thread wakes
    /// and fails at once) and every call whose result nobody needs any more (resolving,
    /// resolving ahead) is cut. Deleting CDN forwards goes on.
    pub fn abandon(&self) {
        self.http.abandon_scoped();
        self.cancel_starts();
    }

    /// Gives up every start still waiting for its vendor (OBS's own Stop Streaming is disabled
    /// while the output connects): each connect thread wakes and fails at once, nothing is
    /// published, and a CDN forward already created is deleted. Returns how many there were.
    pub fn cancel_starts(&self) -> usize {
        let starts = std::mem::take(&mut *self.starts.lock_recovered());
        let mut cancelled = 0;
        for start in starts.iter().filter_map(Weak::upgrade) {
            cancelled += usize::from(start.pending.is_resolving());
            start.cancel();
        }
        cancelled
    }

    /// The same shared state with a [scoped](ApiClient::scoped) HTTP client.
    pub fn scoped(&self) -> Shared {
        Shared {
            http: self.http.scoped(),
            ..self.clone()
        }
    }

    fn track(&self, start: &Arc<Resolving>) {
        let mut starts = self.starts.lock_recovered();
        starts.retain(|s| s.strong_count() > 0);
        starts.push(Arc::downgrade(start));
    }
}

/// A Start Streaming whose vendor work (dispatch or address creation, node probe, CDN
/// forwards) runs on its own thread, so that OBS's UI thread never waits for it. The output's
/// connect thread waits for it instead, when it asks for the target.
#[derive(Debug)]
pub struct Resolving {
    pending: Pending<Result<Session, GoLiveError>>,
    /// The scoped client the vendor calls go through, cut by [`cancel`](Self::cancel).
    http: ApiClient,
    /// For undoing a result nobody takes.
    shared: Shared,
}

impl Resolving {
    /// Gives the start up: the waiter wakes, calls in flight end, and a result nobody took is
    /// undone (its CDN forwards deleted, in the background).
    pub fn cancel(&self) {
        self.http.cancel_scope();
        if let Some(Ok(session)) = self.pending.cancel() {
            release(&self.shared, session);
        }
    }

    /// Waits up to `bound` for the outcome (called on the output's connect thread, with no
    /// lock held); hand it to [`GoLive::adopt`].
    pub fn wait(&self, bound: Duration) -> Waited<Result<Session, GoLiveError>> {
        self.pending.wait(bound)
    }
}

/// What [`GoLive::start`] found.
#[derive(Debug)]
pub enum Begin<'a> {
    /// The target is known already (resolved ahead, nothing else to set up).
    Ready(&'a IngestPlan),
    /// The vendor work runs in the background; the connect thread waits for it.
    Resolving(Arc<Resolving>),
}

/// What the core may ask of OBS while live.
pub trait StreamControl: Send + Sync {
    /// Tells the streamer something is wrong with the live stream (shown inside OBS).
    fn alert(&self, message: Message);
    /// Stop streaming and start again, which resolves a fresh target.
    fn restart(&self);
}

/// The outcome of the last go-live, for the status shown to the streamer and to scripts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoLiveReport {
    /// When it finished.
    pub at: SystemTime,
    /// The refusal, if it failed.
    pub error: Option<Message>,
    /// The vendor's RequestId (empty when no call was made).
    pub request_id: String,
    /// `host:port` of the node (empty on failure).
    pub node: String,
    /// Time spent resolving.
    pub latency: Duration,
    /// Problems that did not stop the go-live (a CDN forward that failed).
    pub warnings: Vec<Message>,
}

impl GoLiveReport {
    /// The report of a resolution that ended with `result` after `latency`.
    pub fn new(
        result: Result<&IngestPlan, GoLiveError>,
        latency: Duration,
        warnings: Vec<Message>,
    ) -> Self {
        let (error, request_id, node) = match result {
            Ok(plan) => (
                None,
                plan.request_id.clone(),
                plan.primary.authority().to_string(),
            ),
            Err(e) => (Some(e.message()), e.request_id().to_string(), String::new()),
        };
        GoLiveReport {
            at: SystemTime::now(),
            error,
            request_id,
            node,
            latency,
            warnings,
        }
    }
}

/// A started stream: where it goes and what must be undone when it stops.
#[derive(Debug)]
pub struct Session {
    plan: IngestPlan,
    zego: Option<ZegoConfig>,
    forwards: Vec<CdnRule>,
    aliyun: Option<(AliyunConfig, String)>,
    /// Set at the first activation; OBS activates again after every reconnect.
    live: bool,
    /// OBS is reconnecting: the next target read moves to the next node.
    failover_pending: bool,
    /// Index into `plan.nodes()` of the node handed out now.
    current: usize,
    tasks: Vec<Arc<StopSignal>>,
}

/// The per-service state: its settings and the current stream.
#[derive(Debug)]
pub struct GoLive {
    kind: ServiceKind,
    settings: Value,
    shared: Shared,
    session: Option<Session>,
    /// The start whose vendor work is in flight.
    resolving: Option<Arc<Resolving>>,
    prefetch: Option<Prefetch>,
}

impl GoLive {
    /// A service of `kind` with `settings`. A ZEGOCLOUD service starts deleting CDN forwards
    /// left behind by an OBS session of the same AppId that ended without stopping.
    pub fn new(kind: ServiceKind, settings: Value, shared: Shared) -> Self {
        let prefetch = Prefetch::start(kind, &settings, &shared);
        let golive = GoLive {
            kind,
            settings,
            shared,
            session: None,
            resolving: None,
            prefetch,
        };
        if kind == ServiceKind::ZegoRtmpDispatch {
            if let Ok(config) = ZegoConfig::from_settings(&golive.settings) {
                golive.delete_orphan_forwards(&config, &[]);
            }
        }
        golive
    }

    /// New settings from OBS; the next start resolves with them, and resolving ahead starts
    /// over for them.
    pub fn update(&mut self, settings: Value) {
        if settings != self.settings {
            // Stop the old task before starting the new one: never two resolving at once.
            self.prefetch = None;
            self.prefetch = Prefetch::start(self.kind, &settings, &self.shared);
        }
        self.settings = settings;
    }

    /// Start Streaming, with local work only: validates the settings (a bad one refuses the
    /// start before any request), then either uses the plan resolved ahead (when nothing else
    /// needs the network) or starts the vendor work in the background: dispatch or address
    /// creation, the node probe and (ZEGOCLOUD) the CDN forwards. Either way one line per
    /// go-live is logged with provider, RequestId, node host and latency once it is known.
    pub fn start(&mut self) -> Result<Begin<'_>, GoLiveError> {
        self.on_stopped();
        let started = Instant::now();
        let mut job = match self.kind {
            ServiceKind::ZegoRtmpDispatch => {
                let config =
                    ZegoConfig::from_settings(&self.settings).map_err(GoLiveError::Config)?;
                let planned: Vec<CdnRule> = config
                    .cdn_urls
                    .iter()
                    .map(|u| CdnRule::new(&config, u))
                    .collect();
                self.delete_orphan_forwards(&config, &planned);
                let prefetched = self.take_prefetched().map(|ready| ready.plan);
                StartJob::Zego { config, prefetched }
            }
            ServiceKind::AliyunArtcRtmp => {
                let config =
                    AliyunConfig::from_settings(&self.settings).map_err(GoLiveError::Config)?;
                let prefetched = self.take_prefetched().map(|ready| {
                    let key = ready
                        .address_key
                        .unwrap_or_else(|| address_fingerprint(&config));
                    (ready.plan, key)
                });
                StartJob::Aliyun { config, prefetched }
            }
        };
        if let Some(session) = job.take_ready() {
            record(&self.shared, self.kind, Ok(&session), started, Vec::new());
            return Ok(Begin::Ready(&self.session.insert(session).plan));
        }
        let scoped = self.shared.scoped();
        let resolving = Arc::new(Resolving {
            pending: Pending::default(),
            http: scoped.http.clone(),
            shared: self.shared.clone(),
        });
        self.shared.track(&resolving);
        let (kind, base, worker) = (self.kind, self.shared.clone(), resolving.clone());
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

    /// The plan resolved ahead for the current settings, if fresh.
    fn take_prefetched(&self) -> Option<crate::prefetch::Ready> {
        let ready = self.prefetch.as_ref()?.take(&self.settings)?;
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
        let background = self.shared.background.clone();
        if let Some(config) = session.zego.clone() {
            let shared = self.shared.clone();
            let task = background.spawn("stream-state", move |stop| {
                confirm_zego_stream(&shared, &config, &stop);
            });
            session.tasks.push(task);
        }
        if let Some((config, key)) = session.aliyun.clone().filter(|(c, _)| c.presence_check) {
            let interval = Duration::from_secs(u64::from(config.presence_interval));
            let shared = self.shared.clone();
            let task = background.spawn("presence", move |stop| {
                presence::watch(&shared.http, &config, interval, &stop, || {
                    let alert = Message::new(if config.presence_restart {
                        "Warn.PresenceLost.Restarting"
                    } else {
                        "Warn.PresenceLost"
                    })
                    .text(&config.user_id)
                    .text(&config.channel_id);
                    *shared.last_alert.lock_recovered() = Some((SystemTime::now(), alert.clone()));
                    control.alert(alert);
                    if config.presence_restart {
                        log::warn!("presence check: restarting the ingest with a fresh address");
                        shared.addresses.lock_recovered().remove(&key);
                        control.restart();
                    }
                });
            });
            session.tasks.push(task);
        }
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
        let expired = session
            .plan
            .expires_at
            .is_some_and(|t| t <= SystemTime::now() + REFRESH_MARGIN)
            || (session.zego.is_some() && session.plan.obtained_at.elapsed() >= ZEGO_NODE_VALIDITY);
        if expired {
            let job = match (&session.zego, &session.aliyun) {
                (Some(config), _) => RefreshJob::Zego(config.clone()),
                (None, Some((config, key))) => {
                    self.shared.addresses.lock_recovered().remove(key);
                    RefreshJob::Aliyun(config.clone())
                }
                (None, None) => return Failover::Unchanged,
            };
            return Failover::Expired(Box::new(Refresh {
                shared: self.shared.scoped(),
                job,
            }));
        }
        let count = session.plan.nodes().count();
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
    shared: Shared,
    job: RefreshJob,
}

#[derive(Debug)]
enum RefreshJob {
    Zego(ZegoConfig),
    Aliyun(AliyunConfig),
}

impl Refresh {
    /// The vendor call and node probe; OBS quitting cuts it short.
    pub fn run(&self) -> Result<IngestPlan, GoLiveError> {
        match &self.job {
            RefreshJob::Zego(config) => resolve_zego(&self.shared, config, RetryPolicy::GO_LIVE),
            RefreshJob::Aliyun(config) => {
                resolve_aliyun(&self.shared, config, RetryPolicy::GO_LIVE).map(|(plan, _)| plan)
            }
        }
    }
}

/// The vendor work of one Start Streaming, detached from the service's state.
enum StartJob {
    Zego {
        config: ZegoConfig,
        prefetched: Option<IngestPlan>,
    },
    Aliyun {
        config: AliyunConfig,
        prefetched: Option<(IngestPlan, String)>,
    },
}

impl StartJob {
    /// The session at once when no network work is left: a plan resolved ahead and no CDN
    /// forward to create.
    fn take_ready(&mut self) -> Option<Session> {
        match self {
            StartJob::Zego { config, prefetched } if config.cdn_urls.is_empty() => prefetched
                .take()
                .map(|plan| Session::new(plan, Some(config.clone()), None)),
            StartJob::Zego { .. } => None,
            StartJob::Aliyun { config, prefetched } => prefetched
                .take()
                .map(|(plan, key)| Session::new(plan, None, Some((config.clone(), key)))),
        }
    }

    /// Runs the vendor work: calls through `scoped` (cut when the start is given up); CDN
    /// forwards through `base`, so that each one's outcome is known and a forward created for
    /// a start given up meanwhile is deleted again.
    fn run(
        self,
        scoped: &Shared,
        base: &Shared,
        pending: &Pending<Result<Session, GoLiveError>>,
        warnings: &mut Vec<Message>,
    ) -> Result<Session, GoLiveError> {
        match self {
            StartJob::Zego { config, prefetched } => {
                let plan = match prefetched {
                    Some(plan) => plan,
                    None => resolve_zego(scoped, &config, RetryPolicy::GO_LIVE)?,
                };
                if pending.is_cancelled() {
                    return Err(GoLiveError::Cancelled);
                }
                let (forwards, failures) = cdn_forwarding::create_all(
                    &base.http,
                    &config,
                    &base.sequence,
                    &base.cdn_journal,
                    (RetryPolicy::GO_LIVE, &base.background),
                );
                if pending.is_cancelled() {
                    delete_forwards(base, &config, forwards);
                    return Err(GoLiveError::Cancelled);
                }
                if let Some(failure) = failures.first() {
                    if config.cdn_required {
                        delete_forwards(base, &config, forwards);
                        return Err(GoLiveError::CdnRequired(failure.clone()));
                    }
                    warnings.extend(failures.iter().map(cdn_warning));
                }
                let mut session = Session::new(plan, Some(config), None);
                session.forwards = forwards;
                Ok(session)
            }
            StartJob::Aliyun { config, prefetched } => {
                let (plan, key) = match prefetched {
                    Some(ready) => ready,
                    None => resolve_aliyun(scoped, &config, RetryPolicy::GO_LIVE)?,
                };
                Ok(Session::new(plan, None, Some((config, key))))
            }
        }
    }
}

impl Session {
    fn new(
        plan: IngestPlan,
        zego: Option<ZegoConfig>,
        aliyun: Option<(AliyunConfig, String)>,
    ) -> Self {
        Session {
            plan,
            zego,
            forwards: Vec::new(),
            aliyun,
            live: false,
            failover_pending: false,
            current: 0,
            tasks: Vec::new(),
        }
    }
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
    let report = GoLiveReport::new(
        result.map(|session| &session.plan).map_err(Clone::clone),
        latency,
        warnings,
    );
    *shared.last_go_live.lock_recovered() = Some((kind, report));
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

/// Ends a session: stops its background checks and deletes its CDN forwards, in the
/// background so that no OBS thread waits for it.
fn release(shared: &Shared, session: Session) {
    for task in &session.tasks {
        task.stop();
    }
    if let Some(config) = session.zego {
        delete_forwards(shared, &config, session.forwards);
    }
}

fn delete_forwards(shared: &Shared, config: &ZegoConfig, rules: Vec<CdnRule>) {
    if rules.is_empty() {
        return;
    }
    let (task_shared, config) = (shared.clone(), config.clone());
    shared.background.spawn("cdn-delete", move |_| {
        cdn_forwarding::delete_all(
            &task_shared.http,
            &config,
            &task_shared.sequence,
            &task_shared.cdn_journal,
            &rules,
            &task_shared.background,
        );
    });
}

/// After publishing, asks ZEGOCLOUD for up to 10 s whether it sees the stream, and logs it.
fn confirm_zego_stream(shared: &Shared, config: &ZegoConfig, stop: &StopSignal) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut last = None;
    while Instant::now() < deadline && !stop.is_stopped() {
        match zego::describe_stream_state(&shared.http, config, &shared.sequence) {
            Ok(StreamState::Live) => {
                log::info!("ZEGOCLOUD sees stream {} live", config.stream_id);
                return;
            }
            Ok(state) => last = Some(format!("{state:?}")),
            Err(e) => last = Some(e.to_string()),
        }
        if !stop.sleep(Duration::from_secs(1)) {
            return;
        }
    }
    if !stop.is_stopped() {
        log::warn!(
            "ZEGOCLOUD does not report stream {} as live 10 s after publishing (last answer: {})",
            config.stream_id,
            last.unwrap_or_default()
        );
    }
}

fn cdn_warning(f: &ForwardFailure) -> Message {
    Message::new("Warn.CdnForward")
        .text(f.index.to_string())
        .text(&f.url)
        .message_arg(f.error.message())
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

/// A reusable or fresh ingest address, probed: the Alibaba plan and its cache key.
pub(crate) fn resolve_aliyun(
    shared: &Shared,
    config: &AliyunConfig,
    policy: RetryPolicy,
) -> Result<(IngestPlan, String), GoLiveError> {
    let key = address_fingerprint(config);
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
pub fn test_connection(kind: ServiceKind, settings: &Value, shared: &Shared) -> GoLiveReport {
    let started = Instant::now();
    let result = match kind {
        ServiceKind::ZegoRtmpDispatch => ZegoConfig::from_settings(settings)
            .map_err(GoLiveError::Config)
            .and_then(|config| resolve_zego(shared, &config, RetryPolicy::GO_LIVE)),
        ServiceKind::AliyunArtcRtmp => AliyunConfig::from_settings(settings)
            .map_err(GoLiveError::Config)
            .and_then(|config| {
                resolve_aliyun(shared, &config, RetryPolicy::GO_LIVE).map(|(plan, _)| plan)
            }),
    };
    let report = GoLiveReport::new(
        result.as_ref().map_err(Clone::clone),
        started.elapsed(),
        Vec::new(),
    );
    log::info!(
        "test connection: provider={} ok={} RequestId={} node={} latency={}ms",
        kind.provider(),
        report.error.is_none(),
        report.request_id,
        report.node,
        report.latency.as_millis()
    );
    report
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

    #[test]
    fn invalid_settings_send_nothing() {
        // An unroutable endpoint: if a request were sent, this would be a transport error.
        let settings = serde_json::json!({"app_id": 1, "server_secret": "x", "stream_id": "bad id",
                                          "endpoint": "http://127.0.0.1:9"});
        let shared = Shared::new(None).unwrap();
        let mut g = GoLive::new(ServiceKind::ZegoRtmpDispatch, settings, shared);
        match g.start() {
            Err(GoLiveError::Config(e)) => assert_eq!(e.key, "stream_id"),
            other => panic!("expected a config error, got {other:?}"),
        }
        assert!(g.target().is_none());
    }
}
