//! One broker instance: a token in, the vendor's answer out, through the platform's limiter.
//!
//! Every request goes token -> revocation -> per-streamer limit -> the pinned identity as a
//! core config -> a vendor slot -> the core's vendor call -> the wire answer. Nothing reaches a
//! vendor before the token has passed every check.

use crate::api_error::{english, ApiError};
use crate::config::{BrokerConfig, ZegoAccount};
use crate::gcra::{Admission, Rate};
use crate::limiter::{Limiter, Mode};
use crate::local_store::{LocalStore, StoreError};
use crate::metrics::{Gauges, Metrics};
use crate::redis_link::RedisLink;
use crate::revocation::{Reach, Revocations};
use crate::sessions::{Closed, Opened, Outcome, RenewError, Session, Sessions};
use crate::token::{self, AliyunPin, Claims, Pin, ZegoPin};
use crate::vendor::{Nodes, Vendors};
use rtc_golive_core::cdn_forwarding::ForwardFailure;
use rtc_golive_core::config::zego::ZegoConfig;
use rtc_golive_core::go_live_error::cdn_warning;
use rtc_golive_core::platform_api::{
    ErrorCode, ForwardState, GoLiveAnswer, GoLiveRequest, LiveAnswer, PlayAnswer, PlayRequest,
    SessionRequest, StopAnswer, WireForward, WireTarget,
};
use rtc_golive_core::providers::aliyun::AliyunError;
use rtc_golive_core::providers::zego::ZegoError;
use rtc_golive_core::rtmp_target::{redacted_url, RtmpTarget};
use serde::Serialize;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

/// Attempts of one vendor call whose answer was the vendor's own rate limit (each attempt takes
/// a fresh slot; the limiter keeps to the rate, so this covers jitter on the way there).
const VENDOR_ATTEMPTS: usize = 5;
/// When a lapsed session's forwards could not be deleted, the next try comes this much later.
const CLEANUP_RETRY: Duration = Duration::from_secs(30);
/// When a session's store cannot be read, the plugin asks again this much later.
const STORE_RETRY_SECONDS: u64 = 5;

/// The vendor limits a request waits for.
#[derive(Debug, Clone, Copy)]
enum Limit {
    ZegoDispatch,
    ZegoCdn,
    Aliyun,
}

impl Limit {
    fn name(self) -> &'static str {
        match self {
            Limit::ZegoDispatch => "zego_dispatch",
            Limit::ZegoCdn => "zego_cdn",
            Limit::Aliyun => "aliyun",
        }
    }
}

/// `GET /healthz`.
#[derive(Debug, Clone, Serialize)]
pub struct Health {
    /// The broker answers.
    pub ok: bool,
    /// `up`, `down`, or `none` without Redis.
    pub redis: &'static str,
    /// `shared`, `local fallback` or `local`.
    pub limiter: &'static str,
    /// Instances seen in Redis recently (1 without Redis).
    pub instances: u32,
    /// The state file: `ok`, or `failing` (sessions cannot be recorded: the broker cannot
    /// serve, and `/healthz` answers 503).
    pub state_file: &'static str,
}

/// Why a broker instance cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// `redis_url` is not one the Redis client takes.
    #[error("redis_url: {0}")]
    Redis(#[from] redis::RedisError),
    /// The state file cannot be opened or read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The vendors' HTTP client cannot be made (its TLS trust, its runtime).
    #[error("the vendors' HTTP client: {0}")]
    Vendors(String),
}

/// One broker instance.
#[derive(Debug)]
pub struct Broker {
    config: BrokerConfig,
    link: Option<Arc<RedisLink>>,
    limiter: Limiter,
    revocations: Revocations,
    sessions: Sessions,
    vendors: Arc<Vendors>,
    metrics: Metrics,
}

impl Broker {
    /// An instance for `config`, with its Redis watch and lease sweep running (so it must be
    /// made inside a tokio runtime).
    pub fn start(config: BrokerConfig) -> Result<Arc<Self>, StartError> {
        let link = match &config.redis_url {
            Some(url) => Some(RedisLink::new(url, token::new_id())?),
            None => None,
        };
        let store = LocalStore::open(&config.state_path)?;
        log::info!("state file: {}", store.path().display());
        let broker = Arc::new(Broker {
            limiter: Limiter::new(link.clone()),
            revocations: Revocations::new(link.clone(), store.clone())?,
            sessions: Sessions::new(link.clone(), store, config.lease),
            vendors: Arc::new(Vendors::new().map_err(StartError::Vendors)?),
            metrics: Metrics::default(),
            link,
            config,
        });
        if let Some(link) = &broker.link {
            link.spawn_watch();
        }
        tokio::spawn(broker.clone().resume_forwards());
        // The sweep holds the broker weakly: its last reference must go where `serve` drops it
        // (see there), not on a runtime thread cancelling this task at shutdown.
        let sweeper = Arc::downgrade(&broker);
        let period = broker.config.sweep;
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(period).await;
                let Some(broker) = sweeper.upgrade() else {
                    return;
                };
                broker.sweep().await;
            }
        });
        Ok(broker)
    }

    /// The config the instance runs with.
    pub fn config(&self) -> &BrokerConfig {
        &self.config
    }

    /// The claims of the bearer token, if it passes every check.
    pub async fn authenticate(&self, bearer: Option<&str>) -> Result<Claims, ApiError> {
        let Some(token) = bearer else {
            return Err(ApiError::new(
                ErrorCode::TokenMissing,
                "no Authorization: Bearer token",
            ));
        };
        let claims = token::verify(&self.config.tokens, token).map_err(|code| {
            let message = match code {
                ErrorCode::TokenExpired => "the token has expired",
                ErrorCode::TokenAudience => "the token was made for another audience",
                _ => "not a token this broker signed",
            };
            log::info!("refused a token: {message}");
            ApiError::new(code, message)
        })?;
        if self.revocations.is_revoked(&claims.jti).await {
            log::info!("refused sub={} jti={}: revoked", claims.sub, claims.jti);
            return Err(ApiError::new(
                ErrorCode::TokenRevoked,
                "the token has been revoked",
            ));
        }
        if self
            .revocations
            .is_sub_revoked(&claims.sub, claims.iat)
            .await
        {
            log::info!(
                "refused sub={} jti={}: every token of the streamer was revoked",
                claims.sub,
                claims.jti
            );
            return Err(ApiError::new(
                ErrorCode::TokenRevoked,
                "every token of this streamer issued until a time after this one's was revoked",
            ));
        }
        Ok(claims)
    }

    /// The claims of a bearer token that may end its own sessions (`/v1/stop`): one this
    /// broker accepted, even if it has expired or was revoked since. A plugin whose heartbeat
    /// was refused for its token stops the stream, and its stop must delete the forwards now,
    /// not when the lease lapses; ending is all such a token can still do.
    pub fn authenticate_to_end(&self, bearer: Option<&str>) -> Result<Claims, ApiError> {
        let Some(token) = bearer else {
            return Err(ApiError::new(
                ErrorCode::TokenMissing,
                "no Authorization: Bearer token",
            ));
        };
        token::verify_ignoring_expiry(&self.config.tokens, token).map_err(|code| {
            let message = match code {
                ErrorCode::TokenAudience => "the token was made for another audience",
                _ => "not a token this broker signed",
            };
            log::info!("refused a token to end a session: {message}");
            ApiError::new(code, message)
        })
    }

    /// Counts a `/v1/golive` refused before [`golive`](Self::golive) (token or body).
    pub fn golive_refused(&self, error: &ApiError) {
        self.metrics.golive(code_name(error.code));
    }

    /// `POST /v1/golive` from a streamer at `client_ip` (their public IPv4 address, when
    /// known: ZEGOCLOUD then dispatches nodes near them rather than near the broker).
    ///
    /// The work runs to its end even when the client goes away meanwhile (a timeout, a
    /// crash): what it opened is then on record, joined by the client's next try or cleaned up
    /// when its lease lapses, never half done.
    pub async fn golive(
        self: &Arc<Self>,
        claims: &Claims,
        request: &GoLiveRequest,
        client_ip: Option<Ipv4Addr>,
    ) -> Result<GoLiveAnswer, ApiError> {
        let (broker, claims, request) = (self.clone(), claims.clone(), request.clone());
        tokio::spawn(async move { broker.golive_logged(&claims, &request, client_ip).await })
            .await
            .expect("a go-live does not panic")
    }

    async fn golive_logged(
        self: &Arc<Self>,
        claims: &Claims,
        request: &GoLiveRequest,
        client_ip: Option<Ipv4Addr>,
    ) -> Result<GoLiveAnswer, ApiError> {
        let result = self.golive_inner(claims, request, client_ip).await;
        let outcome = match &result {
            Ok(answer) => {
                log::info!(
                    "golive sub={} jti={} provider={} ahead={} fresh={} ok RequestId={} session={}",
                    claims.sub,
                    claims.jti,
                    answer.provider,
                    request.ahead,
                    request.fresh,
                    answer.request_id,
                    answer.session.as_deref().unwrap_or("-")
                );
                "ok"
            }
            Err(e) => {
                log::info!(
                    "golive sub={} jti={} refused: {} ({})",
                    claims.sub,
                    claims.jti,
                    code_name(e.code),
                    e.message
                );
                code_name(e.code)
            }
        };
        self.metrics.golive(outcome);
        result
    }

    /// `POST /v1/play`: the playing nodes of a stream the token lists as one it may play,
    /// near `client_ip` as for [`golive`](Self::golive).
    pub async fn play(
        &self,
        claims: &Claims,
        request: &PlayRequest,
        client_ip: Option<Ipv4Addr>,
    ) -> Result<PlayAnswer, ApiError> {
        let result = self.play_inner(claims, request, client_ip).await;
        match &result {
            Ok(answer) => log::info!(
                "play sub={} jti={} stream={} ok RequestId={}",
                claims.sub,
                claims.jti,
                request.stream_id,
                answer.request_id
            ),
            Err(e) => log::info!(
                "play sub={} jti={} stream={} refused: {} ({})",
                claims.sub,
                claims.jti,
                request.stream_id,
                code_name(e.code),
                e.message
            ),
        }
        result
    }

    async fn play_inner(
        &self,
        claims: &Claims,
        request: &PlayRequest,
        client_ip: Option<Ipv4Addr>,
    ) -> Result<PlayAnswer, ApiError> {
        let Some(Pin::Zego(pin)) = claims.pin() else {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                "only a ZEGOCLOUD token may play a stream",
            ));
        };
        if !pin.may_play(&request.stream_id) {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                "the token does not allow playing this stream",
            ));
        }
        self.take_sub_slot(claims).await?;
        let mut config = self
            .zego_account()?
            .config(&request.stream_id, &[])
            .map_err(|e| {
                ApiError::new(
                    ErrorCode::Forbidden,
                    format!("the stream cannot be played: {}", english(&e.message)),
                )
            })?;
        config.client_ip = client_ip;
        let config = Arc::new(config);
        let nodes = self
            .zego_dispatch(&config, Vendors::dispatch_pull, ApiError::zego_play)
            .await?;
        Ok(PlayAnswer {
            urls: nodes.urls,
            valid_until: nodes.valid_until,
            request_id: nodes.request_id,
        })
    }

    /// The per-streamer limit, shared by go-lives and plays.
    async fn take_sub_slot(&self, claims: &Claims) -> Result<(), ApiError> {
        let limits = self.config.limits;
        let per_sub = Rate::burst(limits.sub_golives_per_minute, limits.sub_burst);
        match self
            .limiter
            .take(&format!("sub:{}", claims.sub), per_sub)
            .await
        {
            Admission::Refused { retry_after } => Err(ApiError::rate_limited(
                "too many go-lives (or plays) for this streamer",
                retry_after,
            )),
            Admission::Slot { .. } => Ok(()),
        }
    }

    async fn golive_inner(
        self: &Arc<Self>,
        claims: &Claims,
        request: &GoLiveRequest,
        client_ip: Option<Ipv4Addr>,
    ) -> Result<GoLiveAnswer, ApiError> {
        self.take_sub_slot(claims).await?;
        let pin = claims
            .pin()
            .ok_or_else(|| ApiError::new(ErrorCode::TokenInvalid, "the token pins nothing"))?;
        let mut answer = match pin {
            Pin::Zego(pin) => self.zego_golive(pin, request, client_ip).await?,
            Pin::Aliyun(pin) => self.aliyun_golive(pin, request).await?,
        };
        if !request.ahead {
            // Forward failures come with the heartbeats now (the forwards follow the answer);
            // `warnings` stays empty for the plugins that still read it.
            answer.session = Some(self.open_session(claims, pin).await?);
        }
        Ok(answer)
    }

    /// The session of a Start Streaming: the stream's open one when it has one (its forwards
    /// exist), else a new one. A new session is on record with every CDN forward it will
    /// create before the first is created, so whatever the vendor may come to hold is deleted
    /// with the session, whatever happens to this request or this process.
    async fn open_session(
        self: &Arc<Self>,
        claims: &Claims,
        pin: Pin<'_>,
    ) -> Result<String, ApiError> {
        let stream = match pin {
            Pin::Zego(pin) => format!("zego:{}:{}", self.zego_account()?.app_id, pin.stream_id),
            Pin::Aliyun(pin) => format!("aliyun:{}:{}", pin.channel, pin.user_id),
        };
        if let Some(open) = self
            .sessions
            .join(&stream, &claims.sub)
            .await
            .map_err(session_error)?
        {
            return Ok(self.joined(claims, open));
        }
        let cdn_urls = match pin {
            Pin::Zego(pin) => pin.cdn_urls.clone(),
            Pin::Aliyun(_) => Vec::new(),
        };
        let session = Session {
            id: token::new_id(),
            sub: claims.sub.clone(),
            jti: claims.jti.clone(),
            stream,
            stream_id: match pin {
                Pin::Zego(pin) => Some(pin.stream_id.clone()),
                Pin::Aliyun(_) => None,
            },
            cdn_urls,
            closing: false,
            outcomes: Vec::new(),
            cdn_required: matches!(pin, Pin::Zego(pin) if pin.cdn_required),
        };
        match self
            .sessions
            .open(session.clone())
            .await
            .map_err(session_error)?
        {
            // Another Start Streaming of the same stream won the claim a moment earlier.
            Opened::Existing(open) if open.sub == claims.sub => {
                self.sessions
                    .renew(&open.id, &claims.sub)
                    .await
                    .map_err(session_error)?;
                Ok(self.joined(claims, open))
            }
            Opened::Existing(open) => {
                log::info!(
                    "sub={} jti={} refused: the stream is live in session {} of sub={}",
                    claims.sub,
                    claims.jti,
                    open.id,
                    open.sub
                );
                Err(ApiError::new(
                    ErrorCode::StreamBusy,
                    "the stream is live in another streamer's session",
                ))
            }
            Opened::New => {
                // The forwards are created after the answer, at the vendor's rate: a rush of
                // streamers with forwards goes live as fast as one without.
                if !session.cdn_urls.is_empty() {
                    tokio::spawn(self.clone().create_forwards(session.clone()));
                }
                Ok(session.id)
            }
        }
    }

    fn joined(&self, claims: &Claims, open: Session) -> String {
        log::info!(
            "sub={} jti={} joins the open session {}",
            claims.sub,
            claims.jti,
            open.id
        );
        open.id
    }

    fn zego_account(&self) -> Result<&ZegoAccount, ApiError> {
        self.config.zego.as_ref().ok_or_else(|| {
            ApiError::new(
                ErrorCode::Forbidden,
                "this broker serves no ZEGOCLOUD tokens",
            )
        })
    }

    /// `RTMPDispatchV2` for `config`'s stream, `dispatch` being the push or the pull one,
    /// through the one dispatch limiter: ZEGOCLOUD's 40/s per AppID counts both. `refusal`
    /// answers the vendor's refusal.
    async fn zego_dispatch(
        &self,
        config: &Arc<ZegoConfig>,
        dispatch: fn(&Vendors, &ZegoConfig) -> Result<Nodes, ZegoError>,
        refusal: fn(&ZegoError) -> ApiError,
    ) -> Result<Nodes, ApiError> {
        let call_config = config.clone();
        self.vendor_call(
            Limit::ZegoDispatch,
            config.app_id.to_string(),
            "RTMPDispatchV2",
            move |v| dispatch(v, &call_config),
            ZegoError::is_rate_limited,
        )
        .await
        .map_err(|e| e.map_vendor(refusal))
    }

    fn zego_config(&self, pin: &ZegoPin) -> Result<ZegoConfig, ApiError> {
        self.zego_account()?
            .config(&pin.stream_id, &pin.cdn_urls)
            .map_err(|e| {
                ApiError::new(
                    ErrorCode::Forbidden,
                    format!("the token's stream cannot be used: {}", english(&e.message)),
                )
            })
    }

    async fn zego_golive(
        &self,
        pin: &ZegoPin,
        request: &GoLiveRequest,
        client_ip: Option<Ipv4Addr>,
    ) -> Result<GoLiveAnswer, ApiError> {
        let mut config = self.zego_config(pin)?;
        config.client_ip = client_ip;
        let config = Arc::new(config);
        let kept = if request.fresh {
            self.vendors.forget_nodes(&config);
            None
        } else {
            self.vendors.kept_nodes(&config)
        };
        let (nodes, request_id) = match kept {
            Some(nodes) => (nodes, token::new_id()),
            None => {
                let nodes = self
                    .zego_dispatch(&config, Vendors::dispatch, ApiError::zego)
                    .await?;
                let id = nodes.request_id.clone();
                (nodes, id)
            }
        };
        let mut targets = nodes
            .urls
            .iter()
            .map(|url| {
                RtmpTarget::split(url)
                    .map(|t| WireTarget {
                        server: t.server,
                        key: t.key,
                    })
                    .map_err(|_| {
                        ApiError::zego(&ZegoError::BadNodeUrl {
                            url: redacted_url(url),
                            request_id: nodes.request_id.clone(),
                        })
                    })
            })
            .collect::<Result<Vec<_>, _>>()?
            .into_iter();
        let first = targets.next().ok_or_else(|| {
            ApiError::zego(&ZegoError::EmptyData {
                request_id: nodes.request_id.clone(),
            })
        })?;
        Ok(self.answer(
            "zego",
            first,
            targets.collect(),
            nodes.valid_until,
            request_id,
        ))
    }

    async fn aliyun_golive(
        &self,
        pin: &AliyunPin,
        request: &GoLiveRequest,
    ) -> Result<GoLiveAnswer, ApiError> {
        let account = self.config.aliyun.as_ref().ok_or_else(|| {
            ApiError::new(
                ErrorCode::Forbidden,
                "this broker serves no Alibaba Cloud tokens",
            )
        })?;
        let config = Arc::new(
            account
                .config(&pin.channel, &pin.user_id, &pin.display_name)
                .map_err(|e| {
                    ApiError::new(
                        ErrorCode::Forbidden,
                        format!("the token's seat cannot be used: {}", english(&e.message)),
                    )
                })?,
        );
        let kept = (!request.fresh)
            .then(|| self.vendors.kept_address(&config))
            .flatten();
        let (entry, request_id) = match kept {
            Some(entry) => (entry, token::new_id()),
            None => {
                let call_config = config.clone();
                let entry = self
                    .vendor_call(
                        Limit::Aliyun,
                        account.account().to_string(),
                        "CreateRoomRealTimeStreamAddress",
                        move |v| v.create_address(&call_config),
                        AliyunError::is_rate_limited,
                    )
                    .await
                    .map_err(|e| e.map_vendor(ApiError::aliyun))?;
                let id = entry.request_id.clone();
                (entry, id)
            }
        };
        let target = RtmpTarget::split(&entry.rtmp_address).map_err(|_| {
            ApiError::aliyun(&AliyunError::BadAddress {
                request_id: entry.request_id.clone(),
            })
        })?;
        let first = WireTarget {
            server: target.server,
            key: target.key,
        };
        Ok(self.answer("aliyun", first, Vec::new(), entry.expires_at, request_id))
    }

    fn answer(
        &self,
        provider: &str,
        first: WireTarget,
        alternates: Vec<WireTarget>,
        valid_until: u64,
        request_id: String,
    ) -> GoLiveAnswer {
        GoLiveAnswer {
            provider: provider.to_string(),
            server: first.server,
            key: first.key,
            alternates,
            valid_until,
            request_id,
            session: None,
            heartbeat_seconds: (self.sessions.lease().as_secs() / 3).max(1),
            warnings: Vec::new(),
        }
    }

    /// Creates the CDN forwards of `session` (on record in it already), in order, each through
    /// the limiter; how each ended is written to the session, which the heartbeats report. A
    /// forward the vendor refuses is a warning: the stream is live without it, as in direct
    /// mode without `cdn_required`. Ends when the session does (stopped, swept): a forward
    /// created after that is deleted at once.
    async fn create_forwards(self: Arc<Self>, session: Session) {
        let (Some(stream_id), Ok(account)) = (&session.stream_id, self.zego_account()) else {
            return;
        };
        let config = match account.config(stream_id, &session.cdn_urls) {
            Ok(config) => Arc::new(config),
            Err(e) => {
                log::warn!(
                    "session {}: no forward created: {}",
                    session.id,
                    english(&e.message)
                );
                return;
            }
        };
        let mut outcomes = session.outcomes.clone();
        for (i, url) in session.cdn_urls.iter().enumerate().skip(outcomes.len()) {
            let outcome = loop {
                let (call_config, call_url) = (config.clone(), url.clone());
                let result = self
                    .vendor_call(
                        Limit::ZegoCdn,
                        config.app_id.to_string(),
                        "CreatCDNTransferRule",
                        move |v| v.create_cdn_rule(&call_config, &call_url),
                        ZegoError::is_rate_limited,
                    )
                    .await;
                match result {
                    Ok(answer) => {
                        log::info!(
                            "cdn forward created: session={} stream={stream_id} cdn={} RequestId={}",
                            session.id,
                            redacted_url(url),
                            answer.request_id
                        );
                        break Outcome::Created;
                    }
                    Err(CallError::Vendor(error)) => {
                        let failure = ForwardFailure {
                            index: i + 1,
                            url: redacted_url(url),
                            error,
                        };
                        log::warn!("session {}: {failure}", session.id);
                        break Outcome::Failed(english(&cdn_warning(&failure)));
                    }
                    // The queue is full: this forward waits its turn again, while its session
                    // lives.
                    Err(CallError::Refused(e)) => {
                        let wait = e.retry_after.unwrap_or(1).max(1);
                        tokio::time::sleep(Duration::from_secs(wait)).await;
                        if !self
                            .sessions
                            .record_outcomes(&session.id, outcomes.clone())
                            .await
                        {
                            return;
                        }
                    }
                }
            };
            let created = outcome == Outcome::Created;
            outcomes.push(outcome);
            if !self
                .sessions
                .record_outcomes(&session.id, outcomes.clone())
                .await
            {
                // Stopped or swept meanwhile: its clean-up may have come before this creation.
                if created {
                    self.delete_forwards(stream_id, std::slice::from_ref(url))
                        .await;
                }
                return;
            }
        }
    }

    /// Resumes the creation of the forwards of the open sessions whose creation a restart
    /// interrupted.
    async fn resume_forwards(self: Arc<Self>) {
        for session in self.sessions.unfinished().await {
            log::info!(
                "session {}: creating its remaining {} CDN forward(s)",
                session.id,
                session.cdn_urls.len() - session.outcomes.len()
            );
            tokio::spawn(self.clone().create_forwards(session));
        }
    }

    /// Deletes the forwards of `stream_id`; returns those that could not be deleted.
    async fn delete_forwards(&self, stream_id: &str, urls: &[String]) -> Vec<String> {
        let Ok(account) = self.zego_account() else {
            return urls.to_vec();
        };
        let Ok(config) = account.config(stream_id, &[]) else {
            return urls.to_vec();
        };
        let config = Arc::new(config);
        let mut left = Vec::new();
        for url in urls {
            let (call_config, call_url) = (config.clone(), url.clone());
            let result = self
                .vendor_call(
                    Limit::ZegoCdn,
                    config.app_id.to_string(),
                    "DeleteCDNTransferRule",
                    move |v| v.delete_cdn_rule(&call_config, &call_url),
                    ZegoError::is_rate_limited,
                )
                .await;
            match result {
                Ok(answer) => log::info!(
                    "cdn forward deleted: stream={stream_id} cdn={} RequestId={}",
                    redacted_url(url),
                    answer.request_id
                ),
                Err(e) => {
                    log::warn!(
                        "cdn forward to {} not deleted, kept for a later try: {}",
                        redacted_url(url),
                        e.text()
                    );
                    left.push(url.clone());
                }
            }
        }
        left
    }

    /// `POST /v1/live`: the lease renewed, and where the session's forwards stand.
    pub async fn live(
        &self,
        claims: &Claims,
        request: &SessionRequest,
    ) -> Result<LiveAnswer, ApiError> {
        let session = self
            .sessions
            .renew(&request.session, &claims.sub)
            .await
            .map_err(session_error)?;
        let forwards = session
            .cdn_urls
            .iter()
            .enumerate()
            .map(|(i, url)| {
                let (state, warning) = match session.outcomes.get(i) {
                    None => (ForwardState::Pending, None),
                    Some(Outcome::Created) => (ForwardState::Created, None),
                    Some(Outcome::Failed(warning)) => (ForwardState::Failed, Some(warning.clone())),
                };
                WireForward {
                    index: i + 1,
                    cdn: redacted_url(url),
                    state,
                    warning,
                }
            })
            .collect();
        Ok(LiveAnswer {
            lease_seconds: self.sessions.lease().as_secs(),
            forwards,
            cdn_required: session.cdn_required,
        })
    }

    /// `POST /v1/stop`: deletes the session's forwards before answering. A stop of a session
    /// stopped before says so; of one never known (or lapsed), 404; of another streamer's, 403.
    pub async fn stop(
        &self,
        claims: &Claims,
        request: &SessionRequest,
    ) -> Result<StopAnswer, ApiError> {
        let closed = self
            .sessions
            .close(&request.session, &claims.sub)
            .await
            .map_err(session_error)?;
        match closed {
            Closed::Now(session) => {
                log::info!(
                    "stop sub={} jti={} session={}",
                    session.sub,
                    session.jti,
                    session.id
                );
                self.clean_up(session).await;
                Ok(StopAnswer::default())
            }
            Closed::Already => Ok(StopAnswer {
                already_stopped: true,
            }),
            // A sweep or a second stop claimed it at the same moment: they delete its forwards.
            Closed::Elsewhere => Ok(StopAnswer::default()),
        }
    }

    /// Revokes every token of the streamer `sub` issued up to now, on every instance; returns
    /// that time (Unix seconds).
    pub async fn revoke_sub(&self, sub: &str) -> Result<(u64, Reach), StoreError> {
        log::info!("revoked every token of sub={sub}");
        self.revocations.revoke_sub(sub).await
    }

    /// Revokes a token id on every instance, until the token's `exp` when known.
    pub async fn revoke(&self, jti: &str, exp: Option<u64>) -> Result<Reach, StoreError> {
        log::info!("revoked jti={jti}");
        self.revocations.revoke(jti, exp).await
    }

    /// Deletes a closed or lapsed session's forwards; what is left is tried again later.
    async fn clean_up(&self, mut session: Session) {
        let Some(stream_id) = session.stream_id.clone() else {
            return;
        };
        if session.cdn_urls.is_empty() {
            return;
        }
        let left = self.delete_forwards(&stream_id, &session.cdn_urls).await;
        if !left.is_empty() {
            session.cdn_urls = left;
            self.sessions.retry_later(session, CLEANUP_RETRY).await;
        }
    }

    /// Cleans up every session whose lease lapsed (on any instance, with Redis).
    pub async fn sweep(&self) {
        // What this instance kept while Redis was away goes there once it is back.
        self.revocations.share_pending().await;
        self.sessions.hand_over().await;
        let lapsed = self.sessions.claim_lapsed().await;
        if lapsed.is_empty() {
            return;
        }
        self.metrics.swept(lapsed.len());
        for session in lapsed {
            log::info!(
                "session {} of sub={} jti={} lapsed without a heartbeat: deleting its {} CDN forward(s)",
                session.id,
                session.sub,
                session.jti,
                session.cdn_urls.len()
            );
            self.clean_up(session).await;
        }
    }

    /// `GET /healthz`.
    pub fn health(&self) -> Health {
        let state_file = self.sessions.store_answers();
        Health {
            ok: state_file,
            state_file: if state_file { "ok" } else { "failing" },
            redis: match &self.link {
                None => "none",
                Some(link) if link.is_up() => "up",
                Some(_) => "down",
            },
            limiter: self.limiter.mode().name(),
            instances: self.link.as_ref().map_or(1, |l| l.instances_seen()),
        }
    }

    /// `GET /metrics`.
    pub async fn metrics_text(&self) -> String {
        let mode = self.limiter.mode();
        self.metrics.render(Gauges {
            limiter_mode: mode.name(),
            redis_up: match mode {
                Mode::Shared => 1,
                Mode::LocalFallback => 0,
                Mode::Local => -1,
            },
            sessions: self.sessions.live_here(),
            platform_sessions: self.sessions.count().await,
        })
    }

    /// Waits for a slot of `limit` (per `account`) and runs `call` on the blocking pool;
    /// when the vendor answers with its own rate limit, takes another slot and tries again.
    async fn vendor_call<T, E>(
        &self,
        limit: Limit,
        account: String,
        api: &'static str,
        call: impl Fn(&Vendors) -> Result<T, E> + Send + Sync + 'static,
        rate_limited: fn(&E) -> bool,
    ) -> Result<T, CallError<E>>
    where
        T: Send + 'static,
        E: Send + 'static + std::fmt::Display,
    {
        let limits = self.config.limits;
        let per_second = match limit {
            Limit::ZegoDispatch => limits.zego_dispatch_per_second,
            Limit::ZegoCdn => limits.zego_cdn_per_second,
            Limit::Aliyun => limits.aliyun_per_second,
        };
        let rate = Rate::queued(per_second, limits.margin_percent, limits.queue_limit);
        let key = format!("{}:{account}", limit.name());
        let call = Arc::new(call);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let slot = {
                let _waiting = self.metrics.waiting(limit.name());
                self.limiter.wait_for_slot(&key, rate).await
            };
            match slot {
                Ok(missed) => self.metrics.missed_slots(limit.name(), missed),
                Err(retry_after) => {
                    return Err(CallError::Refused(ApiError::rate_limited(
                        "the broker's queue for the vendor is full",
                        retry_after,
                    )))
                }
            }
            let (vendors, call) = (self.vendors.clone(), call.clone());
            let result = tokio::task::spawn_blocking(move || call(&vendors))
                .await
                .expect("a vendor call does not panic");
            match result {
                Ok(value) => {
                    self.metrics.vendor_request(api, "ok");
                    return Ok(value);
                }
                Err(e) if rate_limited(&e) && attempt < VENDOR_ATTEMPTS => {
                    self.metrics.vendor_request(api, "rate_limited");
                    log::warn!("{api}: the vendor's rate limit answered; taking another slot");
                }
                Err(e) => {
                    self.metrics.vendor_request(api, "error");
                    return Err(CallError::Vendor(e));
                }
            }
        }
    }
}

/// A vendor call that did not succeed.
enum CallError<E> {
    /// No slot: the broker's queue is full.
    Refused(ApiError),
    /// The vendor (or the way to it) failed.
    Vendor(E),
}

impl<E: std::fmt::Display> CallError<E> {
    fn map_vendor(self, f: impl FnOnce(&E) -> ApiError) -> ApiError {
        match self {
            CallError::Refused(e) => e,
            CallError::Vendor(e) => f(&e),
        }
    }

    fn text(&self) -> String {
        match self {
            CallError::Refused(e) => e.message.clone(),
            CallError::Vendor(e) => e.to_string(),
        }
    }
}

fn session_error(e: RenewError) -> ApiError {
    match e {
        RenewError::Unknown => ApiError::new(
            ErrorCode::SessionUnknown,
            "no such session, or its lease lapsed",
        ),
        RenewError::NotYours => {
            ApiError::new(ErrorCode::Forbidden, "the session belongs to another token")
        }
        RenewError::Unavailable => ApiError {
            retry_after: Some(STORE_RETRY_SECONDS),
            ..ApiError::new(
                ErrorCode::Unavailable,
                "the broker cannot read its sessions now; ask again shortly",
            )
        },
    }
}

/// The wire name of `code`, for logs and metrics.
pub fn code_name(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::BadRequest => "bad_request",
        ErrorCode::TokenMissing => "token_missing",
        ErrorCode::TokenInvalid => "token_invalid",
        ErrorCode::TokenExpired => "token_expired",
        ErrorCode::TokenAudience => "token_audience",
        ErrorCode::TokenRevoked => "token_revoked",
        ErrorCode::Forbidden => "forbidden",
        ErrorCode::SessionUnknown => "session_unknown",
        ErrorCode::StreamBusy => "stream_busy",
        ErrorCode::NotPublished => "not_published",
        ErrorCode::RateLimited => "rate_limited",
        ErrorCode::VendorError => "vendor_error",
        ErrorCode::Unavailable => "unavailable",
        ErrorCode::BodyTooLarge => "body_too_large",
        ErrorCode::NotFound => "not_found",
        ErrorCode::MethodNotAllowed => "method_not_allowed",
    }
}
