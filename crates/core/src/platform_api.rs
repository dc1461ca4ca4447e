//! The wire format between the plugin's platform service (`rtc_platform_golive`) and the
//! platform's broker (`rtc-golive-broker`): one definition, used by both sides, so neither can
//! drift from the other. Platform operators script against it; the README documents it.
//!
//! Every request carries `Authorization: Bearer <token>`; every body is JSON.
//! - `POST /v1/golive` ([`GoLiveRequest`] → [`GoLiveAnswer`]): resolve the token's ingest. With
//!   `ahead: false` (Start Streaming) it also opens a session: the broker creates the token's
//!   CDN forwards before it answers, and holds them while heartbeats come. With `ahead: true`
//!   (resolving ahead, and the plugin's failover: `fresh: true` for the session already open,
//!   whose forwards follow the stream, not the node) it opens none.
//! - `POST /v1/live` ([`SessionRequest`] → [`LiveAnswer`]): the heartbeat while live.
//! - `POST /v1/stop` ([`SessionRequest`] → `{}`): the stream ended; idempotent.
//! - `POST /v1/play` ([`PlayRequest`] → [`PlayAnswer`]): the playing nodes of a stream the
//!   token may play (ZEGOCLOUD tokens only), for the `zego_rtmp_pull` source; any other
//!   stream is [`ErrorCode::Forbidden`] without a vendor call.
//! - `GET /healthz`, `GET /metrics` (Prometheus text): for the operator, no token.
//!
//! A refusal is [`ErrorBody`] with the HTTP status of its [`ErrorCode`].

use serde::{Deserialize, Serialize};

/// `POST /v1/golive` path.
pub const GOLIVE_PATH: &str = "/v1/golive";
/// `POST /v1/live` path.
pub const LIVE_PATH: &str = "/v1/live";
/// `POST /v1/stop` path.
pub const STOP_PATH: &str = "/v1/stop";

/// `POST /v1/play` path.
pub const PLAY_PATH: &str = "/v1/play";

/// A session's CDN forwards live this long after its last heartbeat.
pub const LEASE_SECONDS: u64 = 60;

/// The body of `POST /v1/golive`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoLiveRequest {
    /// Resolving ahead: no session, no CDN forwards.
    #[serde(default)]
    pub ahead: bool,
    /// A reconnect after the node failed: the broker answers a fresh resolution instead of
    /// the one it may hold for this token.
    #[serde(default)]
    pub fresh: bool,
}

/// One RTMP ingest, split as OBS takes it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireTarget {
    /// `rtmp[s]://host[:port]/app`.
    pub server: String,
    /// The stream key (may carry an auth_key: never logged).
    pub key: String,
}

impl std::fmt::Debug for WireTarget {
    // The key may hold an auth_key; Debug output must be safe to log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WireTarget")
            .field("server", &self.server)
            .field("key", &"***")
            .finish()
    }
}

/// The answer of `POST /v1/golive`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoLiveAnswer {
    /// `"zego"` or `"aliyun"`: the vendor the token publishes to.
    pub provider: String,
    /// The vendor's first node. The plugin probes `server` and the alternates itself, in this
    /// order, from the streamer's network, exactly as in direct mode.
    pub server: String,
    /// The stream key for `server`.
    pub key: String,
    /// The vendor's other nodes, in its order.
    #[serde(default)]
    pub alternates: Vec<WireTarget>,
    /// Unix seconds after which the ingest is no longer valid.
    pub valid_until: u64,
    /// The vendor's RequestId (or the broker's, when the answer came from its cache).
    pub request_id: String,
    /// The session to heartbeat and stop; absent for `ahead` requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// How often the plugin sends `/v1/live` while live.
    pub heartbeat_seconds: u64,
    /// Non-fatal findings for the streamer, in English (e.g. a CDN forward that failed while
    /// the token allows going live without it).
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// The body of `POST /v1/live` and `POST /v1/stop`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRequest {
    /// [`GoLiveAnswer::session`].
    pub session: String,
}

/// The body of `POST /v1/play`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlayRequest {
    /// The stream to play, as the token lists it.
    pub stream_id: String,
}

/// The answer of `POST /v1/play`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlayAnswer {
    /// The RTMP play URLs, in the vendor's order. The plugin probes them itself.
    pub urls: Vec<String>,
    /// Unix seconds after which the URLs are not to be used.
    pub valid_until: u64,
    /// The vendor's RequestId.
    pub request_id: String,
}

/// The answer of `POST /v1/stop` (`{}` from brokers before this field).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StopAnswer {
    /// The session was stopped before (a repeated stop); nothing was done now.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub already_stopped: bool,
}

/// The answer of `POST /v1/live`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveAnswer {
    /// Seconds the session lives without another heartbeat.
    pub lease_seconds: u64,
    /// The session's CDN forwards, which the broker creates after answering the go-live:
    /// where each stands (none for a session without forwards, or from older brokers).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub forwards: Vec<WireForward>,
    /// The token requires every forward: the stream must stop when one failed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cdn_required: bool,
}

/// One CDN forward of a session, as `/v1/live` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireForward {
    /// 1-based position in the token's `cdn_urls`.
    pub index: usize,
    /// `scheme://host/…` of the CDN URL (its key left out).
    pub cdn: String,
    /// Where it stands.
    pub state: ForwardState,
    /// Why it failed, in English, for the streamer's dialog (`failed` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

/// Where a CDN forward stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ForwardState {
    /// Not created yet (waiting for the vendor's rate).
    Pending,
    /// The vendor forwards the stream.
    Created,
    /// The vendor refused it: the stream is live without it.
    Failed,
}

/// A refusal: `{"error": {...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: WireError,
}

/// What went wrong, with a code that never changes meaning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireError {
    /// The stable code.
    pub code: ErrorCode,
    /// English text for logs and operators; the plugin shows its own localized text.
    pub message: String,
    /// The vendor's own code, for [`ErrorCode::VendorError`] and [`ErrorCode::NotPublished`]
    /// (a ZEGOCLOUD number or an Alibaba Cloud code, as text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor_code: Option<String>,
    /// Seconds to wait before trying again, for [`ErrorCode::RateLimited`] and
    /// [`ErrorCode::Unavailable`] (also in the `Retry-After` header).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_seconds: Option<u64>,
}

/// The stable error codes of the broker's API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// 400: the body is not what the endpoint takes.
    BadRequest,
    /// 401: no `Authorization: Bearer` header.
    TokenMissing,
    /// 401: not a token this broker signed (bad signature, `alg` other than HS256, malformed).
    TokenInvalid,
    /// 401: past its `exp` (beyond the clock leeway).
    TokenExpired,
    /// 401: made for another audience.
    TokenAudience,
    /// 401: revoked by its `jti`.
    TokenRevoked,
    /// 403: the token does not allow this (e.g. its provider is not configured on the broker).
    Forbidden,
    /// 404: the session is unknown or its lease lapsed.
    SessionUnknown,
    /// 409: the stream is live in another streamer's session (two tokens pinning one stream).
    StreamBusy,
    /// 404: nobody publishes the stream asked for in `/v1/play` (the vendor has no playing
    /// node); `vendor_code` carries the vendor's own code when it gave one.
    NotPublished,
    /// 429: too many go-lives for this token (`sub`), or the broker's queue is full.
    RateLimited,
    /// 502: the vendor refused; `vendor_code` says why.
    VendorError,
    /// 503: the vendor or the broker's own dependencies cannot be reached now.
    Unavailable,
    /// 413: the body is larger than any request the broker takes.
    BodyTooLarge,
    /// 404: no such endpoint (the URL does not point at the broker's API).
    NotFound,
    /// 405: the endpoint exists but not with this method (`/v1/` calls are POST).
    MethodNotAllowed,
}

impl ErrorCode {
    /// The HTTP status the broker answers with.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::BadRequest => 400,
            ErrorCode::TokenMissing
            | ErrorCode::TokenInvalid
            | ErrorCode::TokenExpired
            | ErrorCode::TokenAudience
            | ErrorCode::TokenRevoked => 401,
            ErrorCode::Forbidden => 403,
            ErrorCode::SessionUnknown | ErrorCode::NotPublished | ErrorCode::NotFound => 404,
            ErrorCode::MethodNotAllowed => 405,
            ErrorCode::StreamBusy => 409,
            ErrorCode::BodyTooLarge => 413,
            ErrorCode::RateLimited => 429,
            ErrorCode::VendorError => 502,
            ErrorCode::Unavailable => 503,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_snake_case_on_the_wire() {
        let body = ErrorBody {
            error: WireError {
                code: ErrorCode::TokenRevoked,
                message: "revoked".into(),
                vendor_code: None,
                retry_after_seconds: None,
            },
        };
        let text = serde_json::to_string(&body).unwrap();
        assert_eq!(
            text,
            r#"{"error":{"code":"token_revoked","message":"revoked"}}"#
        );
        assert_eq!(serde_json::from_str::<ErrorBody>(&text).unwrap(), body);
        assert_eq!(ErrorCode::RateLimited.http_status(), 429);
        assert_eq!(ErrorCode::VendorError.http_status(), 502);
    }

    #[test]
    fn a_golive_request_defaults_to_a_start() {
        let r: GoLiveRequest = serde_json::from_str("{}").unwrap();
        assert_eq!(r, GoLiveRequest::default());
        assert!(!r.ahead && !r.fresh);
    }

    #[test]
    fn target_debug_hides_the_key() {
        let t = WireTarget {
            server: "rtmp://h/app".into(),
            key: "n?auth_key=SECRET".into(),
        };
        assert!(!format!("{t:?}").contains("SECRET"));
    }
}
