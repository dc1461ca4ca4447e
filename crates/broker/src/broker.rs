//! One broker instance: a token in, the vendor's answer out, through the platform's limiter.
//!
//! Every request goes token -> revocation -> per-streamer limit -> the pinned identity as a
//! core config -> a vendor slot -> the core's vendor call -> the wire answer. Nothing reaches a
//! vendor before the token has passed every check.

use crate::api_error::{english, ApiError};
use crate::config::{BrokerConfig, ZegoAccount};
use crate::gcra::{Admission, Rate};
use crate::limiter::{Limiter, Mode};
use crate::metrics::{Gauges, Metrics};
use crate::redis_link::RedisLink;
use crate::revocation::Revocations;
use crate::sessions::{RenewError, Session, Sessions};
use crate::token::{self, AliyunPin, Claims, Pin, ZegoPin};
use crate::vendor::{Nodes, Vendors};
use rtc_golive_core::cdn_forwarding::ForwardFailure;
use rtc_golive_core::config::zego::ZegoConfig;
use rtc_golive_core::go_live_error::cdn_warning;
use rtc_golive_core::platform_api::{
    ErrorCode, GoLiveAnswer, GoLiveRequest, LiveAnswer, PlayAnswer, PlayRequest, SessionRequest,
    WireTarget,
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
    pub fn start(config: BrokerConfig) -> Result<Arc<Self>, String> {
        let link = match &config.redis_url {
            Some(url) => Some(RedisLink::new(url, token::new_id()).map_err(|e| e.to_string())?),
            None => None,
        };
        let broker = Arc::new(Broker {
            limiter: Limiter::new(link.clone()),
            revocations: Revocations::new(link.clone()),
            sessions: Sessions::new(link.clone(), config.lease),
            vendors: Arc::new(Vendors::new()?),
            metrics: Metrics::default(),
            link,
            config,
        });
        if let Some(link) = &broker.link {
            link.spawn_watch();
        }
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
        Ok(claims)
    }

    /// Counts a `/v1/golive` refused before [`golive`](Self::golive) (token or body).
    pub fn golive_refused(&self, error: &ApiError) {
        self.metrics.golive(code_name(error.code));
    }

    /// `POST /v1/golive` from a streamer at `client_ip` (their public IPv4 address, when
    /// known: ZEGOCLOUD then dispatches nodes near them rather than near the broker).
    pub async fn golive(
        &self,
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
        &self,
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
            let stream = match pin {
                Pin::Zego(pin) => format!("zego:{}:{}", self.zego_account()?.app_id, pin.stream_id),
                Pin::Aliyun(pin) => format!("aliyun:{}:{}", pin.channel, pin.user_id),
            };
            answer.session = Some(match self.sessions.join(&stream, &claims.sub).await {
                // A Start Streaming for a stream already live: its forwards exist.
                Some(open) => {
                    log::info!(
                        "sub={} jti={} joins the open session {}",
                        claims.sub,
                        claims.jti,
                        open.id
                    );
                    open.id
                }
                None => {
                    let (cdn_urls, warnings) = match pin {
                        Pin::Zego(pin) if !pin.cdn_urls.is_empty() => {
                            self.create_forwards(pin).await?
                        }
                        _ => (Vec::new(), Vec::new()),
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
                    };
                    answer.warnings = warnings;
                    let id = session.id.clone();
                    self.sessions.open(session).await;
                    id
                }
            });
        }
        Ok(answer)
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

    /// Creates the token's CDN forwards: the URLs created, and a warning per failure (the
    /// stream goes live without that forward, as in direct mode without `cdn_required`).
    async fn create_forwards(&self, pin: &ZegoPin) -> Result<(Vec<String>, Vec<String>), ApiError> {
        let config = Arc::new(self.zego_config(pin)?);
        let mut created = Vec::new();
        let mut warnings = Vec::new();
        for (i, url) in pin.cdn_urls.iter().enumerate() {
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
                        "cdn forward created: stream={} cdn={} RequestId={}",
                        pin.stream_id,
                        redacted_url(url),
                        answer.request_id
                    );
                    created.push(url.clone());
                }
                Err(CallError::Vendor(error)) => {
                    let failure = ForwardFailure {
                        index: i + 1,
                        url: redacted_url(url),
                        error,
                    };
                    log::warn!("{failure}");
                    warnings.push(english(&cdn_warning(&failure)));
                }
                Err(CallError::Refused(e)) => {
                    // The queue is full: undo what was created, so nothing is left behind.
                    self.delete_forwards(&pin.stream_id, &created).await;
                    return Err(e);
                }
            }
        }
        Ok((created, warnings))
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

    /// `POST /v1/live`.
    pub async fn live(
        &self,
        claims: &Claims,
        request: &SessionRequest,
    ) -> Result<LiveAnswer, ApiError> {
        match self.sessions.renew(&request.session, &claims.sub).await {
            Ok(()) => Ok(LiveAnswer {
                lease_seconds: self.sessions.lease().as_secs(),
            }),
            Err(e) => Err(session_error(e)),
        }
    }

    /// `POST /v1/stop`: deletes the session's forwards before answering.
    pub async fn stop(&self, claims: &Claims, request: &SessionRequest) -> Result<(), ApiError> {
        let session = self
            .sessions
            .close(&request.session, &claims.sub)
            .await
            .map_err(session_error)?;
        if let Some(session) = session {
            log::info!(
                "stop sub={} jti={} session={}",
                session.sub,
                session.jti,
                session.id
            );
            self.clean_up(session).await;
        }
        Ok(())
    }

    /// Revokes a token id on every instance.
    pub async fn revoke(&self, jti: &str) -> Result<(), String> {
        log::info!("revoked jti={jti}");
        self.revocations.revoke(jti).await
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
        Health {
            ok: true,
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
            sessions: self.sessions.count().await,
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
        ErrorCode::NotPublished => "not_published",
        ErrorCode::RateLimited => "rate_limited",
        ErrorCode::VendorError => "vendor_error",
        ErrorCode::Unavailable => "unavailable",
        ErrorCode::BodyTooLarge => "body_too_large",
        ErrorCode::NotFound => "not_found",
        ErrorCode::MethodNotAllowed => "method_not_allowed",
    }
}
