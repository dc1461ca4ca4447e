//! The platform's broker (`rtc-golive-broker`): go-live, heartbeat, stop and play calls with
//! the streamer's token, and its refusals as the streamer's localized messages.
//!
//! The wire format is [`crate::platform_api`]; the broker holds the vendor's secrets, so no
//! call here is signed and nothing here ever sees a vendor secret.

use crate::api_client::{ApiClient, ApiResponse, TransportError};
use crate::config::platform::PlatformConfig;
use crate::messages::Message;
use crate::platform_api::{
    ErrorBody, ErrorCode, GoLiveAnswer, GoLiveRequest, LiveAnswer, PlayAnswer, PlayRequest,
    SessionRequest, GOLIVE_PATH, LIVE_PATH, PLAY_PATH, STOP_PATH,
};
use crate::providers::{aliyun, zego};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::time::{Duration, Instant};

/// A failed call to the platform's broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlatformError {
    /// No HTTP answer.
    Transport(TransportError),
    /// An answer that is neither the documented result nor a documented refusal (a proxy's
    /// error page, a URL that is not the broker).
    BadResponse {
        /// HTTP status.
        status: u16,
        /// What could not be read.
        detail: String,
    },
    /// The broker refused with one of its stable codes.
    Refused {
        /// The code.
        code: ErrorCode,
        /// The broker's English text (for the log; the dialog shows the plugin's own).
        message: String,
        /// The vendor's code, for [`ErrorCode::VendorError`].
        vendor_code: Option<String>,
        /// Seconds to wait before trying again (the body's field, else `Retry-After`).
        retry_after_seconds: Option<u64>,
    },
}

crate::error_via_message!(PlatformError);

impl PlatformError {
    /// The text for OBS's error dialog: what the platform said and what the streamer can do.
    pub fn message(&self) -> Message {
        self.text(&GO_LIVE_TEXTS, None)
    }

    /// The text for a pull source's status when `/v1/play` of `stream_id` failed. It has no
    /// "try again in" of its own: the source retries by itself and its status says when.
    pub fn play_message(&self, stream_id: &str) -> Message {
        self.text(&PLAY_TEXTS, Some(stream_id))
    }

    /// Whether the broker found nothing to play: nobody publishes the stream.
    pub fn is_not_published(&self) -> bool {
        matches!(
            self,
            PlatformError::Refused {
                code: ErrorCode::NotPublished,
                ..
            }
        )
    }

    /// Whether the broker refused in a way asking again cannot change: the token (missing,
    /// invalid, expired, for another audience, revoked), what it allows, the request, or a
    /// vendor refusal of that kind ([`crate::providers::zego::is_refusal_code`]).
    pub fn is_refusal(&self) -> bool {
        match self {
            PlatformError::Refused {
                code: ErrorCode::VendorError,
                vendor_code,
                ..
            } => vendor_code
                .as_deref()
                .and_then(|c| c.parse().ok())
                .is_some_and(crate::providers::zego::is_refusal_code),
            PlatformError::Refused { code, .. } => matches!(
                code,
                ErrorCode::BadRequest
                    | ErrorCode::TokenMissing
                    | ErrorCode::TokenInvalid
                    | ErrorCode::TokenExpired
                    | ErrorCode::TokenAudience
                    | ErrorCode::TokenRevoked
                    | ErrorCode::Forbidden
                    | ErrorCode::StreamBusy
                    | ErrorCode::BodyTooLarge
                    | ErrorCode::NotFound
                    | ErrorCode::MethodNotAllowed
            ),
            _ => false,
        }
    }

    fn text(&self, texts: &Texts, stream_id: Option<&str>) -> Message {
        match self {
            PlatformError::Transport(t) => {
                Message::new("Platform.Error.Transport").message_arg(t.message())
            }
            PlatformError::BadResponse { status, detail } => {
                Message::new("Platform.Error.BadResponse")
                    .text(status.to_string())
                    .text(detail)
            }
            PlatformError::Refused {
                code: ErrorCode::VendorError,
                vendor_code,
                message,
                ..
            } => vendor_message(texts, vendor_code.as_deref().unwrap_or_default(), message),
            PlatformError::Refused {
                code,
                retry_after_seconds,
                ..
            } => {
                let (meaning, action) = (texts.describe)(*code);
                let mut refused = Message::new(texts.refused);
                if let Some(stream_id) = stream_id {
                    refused = refused.text(stream_id);
                }
                let refused = refused
                    .text(wire_name(*code))
                    .key_arg(meaning)
                    .key_arg(action);
                match retry_after_seconds {
                    Some(secs) if texts.retry_after => Message::new("Platform.Error.RetryAfter")
                        .message_arg(refused)
                        .text(secs.to_string()),
                    _ => refused,
                }
            }
        }
    }

    /// How long the broker asked to wait before trying again, when it did.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            PlatformError::Refused {
                code: ErrorCode::RateLimited | ErrorCode::Unavailable,
                retry_after_seconds: Some(secs),
                ..
            } => Some(Duration::from_secs(*secs)),
            _ => None,
        }
    }

    /// The broker's code, when it refused.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            PlatformError::Refused { code, .. } => Some(*code),
            _ => None,
        }
    }
}

/// The documented meaning and the streamer's action (locale keys) of a broker code.
pub fn describe_code(code: ErrorCode) -> (&'static str, &'static str) {
    match code {
        ErrorCode::BadRequest => ("Platform.Code.BadRequest", "Platform.Action.UpdatePlugin"),
        ErrorCode::TokenMissing => ("Platform.Code.TokenMissing", "Platform.Action.EnterToken"),
        ErrorCode::TokenInvalid => ("Platform.Code.TokenInvalid", "Platform.Action.RecopyToken"),
        ErrorCode::TokenExpired => ("Platform.Code.TokenExpired", "Platform.Action.NewToken"),
        ErrorCode::TokenAudience => ("Platform.Code.TokenAudience", "Platform.Action.CheckUrl"),
        ErrorCode::TokenRevoked => ("Platform.Code.TokenRevoked", "Platform.Action.NewToken"),
        ErrorCode::Forbidden => ("Platform.Code.Forbidden", "Platform.Action.AskPlatform"),
        ErrorCode::SessionUnknown => ("Platform.Code.SessionUnknown", "Platform.Action.Restart"),
        ErrorCode::StreamBusy => ("Platform.Code.StreamBusy", "Platform.Action.AskPlatform"),
        ErrorCode::NotPublished => ("Platform.Code.NotPublished", "Platform.Action.Publish"),
        ErrorCode::RateLimited => ("Platform.Code.RateLimited", "Platform.Action.RetryLater"),
        ErrorCode::VendorError => ("Platform.Code.VendorError", "Platform.Action.AskPlatform"),
        ErrorCode::Unavailable => ("Platform.Code.Unavailable", "Platform.Action.RetryLater"),
        // The plugin sends none of these to a broker: its body is small and its paths and
        // methods right, so the plugin is outdated or the URL is not the broker's.
        ErrorCode::BodyTooLarge => ("Platform.Code.BadRequest", "Platform.Action.UpdatePlugin"),
        ErrorCode::NotFound | ErrorCode::MethodNotAllowed => {
            ("Platform.Code.BadRequest", "Platform.Action.CheckUrl")
        }
    }
}

/// The locale keys of a refusal's text: going live and playing say different things about the
/// same codes.
struct Texts {
    /// The refusal: (for a play, the stream,) the wire code, the meaning, the action.
    refused: &'static str,
    /// A vendor's refusal with a known code: vendor, code, meaning, the platform's action.
    vendor: &'static str,
    /// A vendor's refusal with an unknown code: the code, the broker's text.
    vendor_unknown: &'static str,
    /// A code's meaning and the streamer's action.
    describe: fn(ErrorCode) -> (&'static str, &'static str),
    /// Whether the broker's `retry_after_seconds` is part of the text.
    retry_after: bool,
}

const GO_LIVE_TEXTS: Texts = Texts {
    refused: "Platform.Error.Refused",
    vendor: "Platform.Error.Vendor",
    vendor_unknown: "Platform.Error.VendorUnknown",
    describe: describe_code,
    retry_after: true,
};

const PLAY_TEXTS: Texts = Texts {
    refused: "Pull.Platform.Refused",
    vendor: "Pull.Platform.Vendor",
    vendor_unknown: "Pull.Platform.VendorUnknown",
    describe: describe_play_code,
    retry_after: false,
};

/// [`describe_code`] for a refused `/v1/play`: a stream the token may not play, and waits the
/// source sits out by itself, are told as such.
fn describe_play_code(code: ErrorCode) -> (&'static str, &'static str) {
    match code {
        ErrorCode::Forbidden => ("Pull.Platform.Forbidden", "Pull.Platform.AskPlatform"),
        ErrorCode::RateLimited => ("Platform.Code.RateLimited", "Pull.Platform.RetriesItself"),
        ErrorCode::Unavailable => ("Platform.Code.Unavailable", "Pull.Platform.RetriesItself"),
        other => describe_code(other),
    }
}

/// The code as it reads on the wire (`token_expired`), for the dialog and support.
pub(crate) fn wire_name(code: ErrorCode) -> String {
    serde_json::to_value(code)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// A vendor's refusal relayed by the broker. ZEGOCLOUD's codes are numbers and Alibaba's are
/// words, so the code itself says whose catalogue explains it; the catalogue's action is for
/// the platform, which holds the account, so the streamer is told to pass it on.
fn vendor_message(texts: &Texts, vendor_code: &str, broker_text: &str) -> Message {
    let known = match vendor_code.parse::<i64>() {
        Ok(number) => zego::code_info(number)
            .map(|info| ("Platform.Vendor.Zego", (info.meaning, info.action))),
        Err(_) => aliyun::describe_code(vendor_code).map(|pair| ("Platform.Vendor.Aliyun", pair)),
    };
    match known {
        Some((vendor, (meaning, action))) => Message::new(texts.vendor)
            .key_arg(vendor)
            .text(vendor_code)
            .key_arg(meaning)
            .key_arg(action),
        None => Message::new(texts.vendor_unknown)
            .text(vendor_code)
            .text(broker_text),
    }
}

/// How long a `/v1/golive` may take. The broker holds a go-live in its queue until the vendor's
/// rate limit has room (a rush of a platform's streamers), rather than bouncing it; its default
/// queue (1000 requests at about 37 a second) drains within this.
pub const GOLIVE_TIMEOUT: Duration = Duration::from_secs(30);

/// `POST /v1/golive`: the token's ingest, and with `ahead: false` a session.
pub fn golive(
    http: &ApiClient,
    config: &PlatformConfig,
    request: &GoLiveRequest,
) -> Result<GoLiveAnswer, PlatformError> {
    post(
        &http.with_call_timeout(GOLIVE_TIMEOUT),
        config,
        GOLIVE_PATH,
        request,
    )
}

/// `POST /v1/live`: the heartbeat of `session` while live.
pub fn live(
    http: &ApiClient,
    config: &PlatformConfig,
    session: &str,
) -> Result<LiveAnswer, PlatformError> {
    let request = SessionRequest {
        session: session.to_string(),
    };
    post(http, config, LIVE_PATH, &request)
}

/// `POST /v1/stop`: the stream of `session` ended (idempotent at the broker).
pub fn stop(http: &ApiClient, config: &PlatformConfig, session: &str) -> Result<(), PlatformError> {
    let request = SessionRequest {
        session: session.to_string(),
    };
    post::<serde_json::Value>(http, config, STOP_PATH, &request).map(|_| ())
}

/// `POST /v1/play`: the playing nodes of `stream_id`, which the token must allow.
pub fn play(
    http: &ApiClient,
    config: &PlatformConfig,
    stream_id: &str,
) -> Result<PlayAnswer, PlatformError> {
    let request = PlayRequest {
        stream_id: stream_id.to_string(),
    };
    // A play waits in the broker's queue for the vendor's dispatch rate, as a go-live does.
    post(
        &http.with_call_timeout(GOLIVE_TIMEOUT),
        config,
        PLAY_PATH,
        &request,
    )
}

/// Runs `op` again while the broker asks to wait (`Retry-After`) and the wait still fits in
/// `budget`; `wait` sleeps and returns `false` when the wait was cut short (shutdown).
pub fn honouring_retry_after<T>(
    budget: Duration,
    mut op: impl FnMut() -> Result<T, PlatformError>,
    mut wait: impl FnMut(Duration) -> bool,
) -> Result<T, PlatformError> {
    let started = Instant::now();
    loop {
        let result = op();
        match result.as_ref().err().and_then(PlatformError::retry_after) {
            Some(delay) if started.elapsed() + delay <= budget => {
                log::info!(
                    "the platform asked to retry in {} s; waiting",
                    delay.as_secs()
                );
                if !wait(delay) {
                    return result;
                }
            }
            _ => return result,
        }
    }
}

fn post<T: DeserializeOwned>(
    http: &ApiClient,
    config: &PlatformConfig,
    path: &str,
    body: &impl Serialize,
) -> Result<T, PlatformError> {
    let body = serde_json::to_vec(body).map_err(|e| PlatformError::BadResponse {
        status: 0,
        detail: e.to_string(),
    })?;
    let headers = [(
        "Authorization".to_string(),
        format!("Bearer {}", config.token.expose()),
    )];
    let response = http
        .post_json(&config.url.join(path), &headers, body)
        .map_err(PlatformError::Transport)?;
    parse_answer(&response)
}

/// Reads the broker's answer: the result on 200, a [`PlatformError::Refused`] for its
/// documented refusals, and [`PlatformError::BadResponse`] for anything else.
pub fn parse_answer<T: DeserializeOwned>(response: &ApiResponse) -> Result<T, PlatformError> {
    let status = response.status;
    if status == 200 {
        return serde_json::from_slice(&response.body).map_err(|e| PlatformError::BadResponse {
            status,
            detail: e.to_string(),
        });
    }
    match serde_json::from_slice::<ErrorBody>(&response.body) {
        Ok(ErrorBody { error }) => Err(PlatformError::Refused {
            code: error.code,
            message: error.message,
            vendor_code: error.vendor_code,
            retry_after_seconds: error.retry_after_seconds.or(response.retry_after_seconds),
        }),
        Err(_) => Err(PlatformError::BadResponse {
            status,
            detail: format!("HTTP status {status} without the broker's error body"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::LocaleFile;

    fn response(status: u16, body: &str) -> ApiResponse {
        ApiResponse {
            status,
            body: body.as_bytes().to_vec(),
            retry_after_seconds: None,
        }
    }

    fn locale(name: &str) -> LocaleFile {
        let path = format!(
            "{}/../../data/locale/{name}.ini",
            env!("CARGO_MANIFEST_DIR")
        );
        LocaleFile::parse(&std::fs::read_to_string(path).unwrap())
    }

    const ALL_CODES: [ErrorCode; 15] = [
        ErrorCode::BadRequest,
        ErrorCode::TokenMissing,
        ErrorCode::TokenInvalid,
        ErrorCode::TokenExpired,
        ErrorCode::TokenAudience,
        ErrorCode::TokenRevoked,
        ErrorCode::Forbidden,
        ErrorCode::SessionUnknown,
        ErrorCode::NotPublished,
        ErrorCode::RateLimited,
        ErrorCode::VendorError,
        ErrorCode::Unavailable,
        ErrorCode::BodyTooLarge,
        ErrorCode::NotFound,
        ErrorCode::MethodNotAllowed,
    ];

    #[test]
    fn an_answer_is_read_and_a_refusal_is_typed() {
        let ok: LiveAnswer = parse_answer(&response(200, r#"{"lease_seconds":60}"#)).unwrap();
        assert_eq!(ok.lease_seconds, 60);
        let refused = parse_answer::<LiveAnswer>(&response(
            401,
            r#"{"error":{"code":"token_expired","message":"expired"}}"#,
        ))
        .unwrap_err();
        assert_eq!(refused.code(), Some(ErrorCode::TokenExpired));
        assert_eq!(refused.retry_after(), None);
        let html = parse_answer::<LiveAnswer>(&response(502, "<html>bad gateway</html>"));
        assert!(matches!(
            html,
            Err(PlatformError::BadResponse { status: 502, .. })
        ));
        let garbled = parse_answer::<LiveAnswer>(&response(200, "{}"));
        assert!(matches!(
            garbled,
            Err(PlatformError::BadResponse { status: 200, .. })
        ));
    }

    #[test]
    fn retry_after_comes_from_the_body_or_the_header() {
        let from_body = parse_answer::<LiveAnswer>(&response(
            429,
            r#"{"error":{"code":"rate_limited","message":"slow","retry_after_seconds":3}}"#,
        ))
        .unwrap_err();
        assert_eq!(from_body.retry_after(), Some(Duration::from_secs(3)));
        let mut with_header = response(503, r#"{"error":{"code":"unavailable","message":"x"}}"#);
        with_header.retry_after_seconds = Some(7);
        let from_header = parse_answer::<LiveAnswer>(&with_header).unwrap_err();
        assert_eq!(from_header.retry_after(), Some(Duration::from_secs(7)));
    }

    #[test]
    fn retries_wait_as_asked_within_the_budget() {
        let limited = || PlatformError::Refused {
            code: ErrorCode::RateLimited,
            message: String::new(),
            vendor_code: None,
            retry_after_seconds: Some(2),
        };
        let mut calls = 0;
        let mut waited = Vec::new();
        let result = honouring_retry_after(
            Duration::from_secs(20),
            || {
                calls += 1;
                if calls < 3 {
                    Err(limited())
                } else {
                    Ok(calls)
                }
            },
            |d| {
                waited.push(d);
                true
            },
        );
        assert_eq!(result, Ok(3));
        assert_eq!(waited, [Duration::from_secs(2); 2]);
        // A wait beyond the budget is not taken: the refusal is the answer.
        let mut tries = 0;
        let over = honouring_retry_after(
            Duration::from_secs(1),
            || {
                tries += 1;
                Err::<(), _>(limited())
            },
            |_| true,
        );
        assert_eq!(over, Err(limited()));
        assert_eq!(tries, 1);
    }

    #[test]
    fn every_code_has_a_meaning_and_an_action_in_both_languages() {
        for name in ["en-US", "zh-CN"] {
            let locale = locale(name);
            for code in ALL_CODES {
                let error = PlatformError::Refused {
                    code,
                    message: "broker text".into(),
                    vendor_code: None,
                    retry_after_seconds: None,
                };
                for key in error.message().keys() {
                    assert!(
                        crate::messages::Translate::lookup(&locale, key).is_some(),
                        "{name} lacks {key}"
                    );
                }
                let (meaning, action) = describe_code(code);
                assert_ne!(meaning, action);
            }
        }
        let en = locale("en-US");
        let expired = PlatformError::Refused {
            code: ErrorCode::TokenExpired,
            message: String::new(),
            vendor_code: None,
            retry_after_seconds: None,
        };
        let text = expired.message().render(&en);
        assert!(text.contains("token_expired"), "{text}");
        assert!(text.contains("new token"), "{text}");
    }

    #[test]
    fn a_refused_play_says_so_in_both_languages() {
        let refused = |code, vendor_code: Option<&str>| PlatformError::Refused {
            code,
            message: "broker text".into(),
            vendor_code: vendor_code.map(str::to_string),
            retry_after_seconds: Some(5),
        };
        for name in ["en-US", "zh-CN"] {
            let locale = locale(name);
            let mut errors: Vec<_> = ALL_CODES.iter().map(|c| refused(*c, None)).collect();
            errors.push(refused(ErrorCode::VendorError, Some("30009")));
            errors.push(refused(ErrorCode::VendorError, Some("Weird.Thing")));
            for error in errors {
                for key in error.play_message("guest").keys() {
                    assert!(
                        crate::messages::Translate::lookup(&locale, key).is_some(),
                        "{name} lacks {key}"
                    );
                }
            }
        }
        let (en, zh) = (locale("en-US"), locale("zh-CN"));
        let forbidden = refused(ErrorCode::Forbidden, None).play_message("guest");
        let text = forbidden.render(&en);
        assert!(
            text.contains("stream guest") && text.contains("does not allow playing"),
            "{text}"
        );
        assert!(forbidden.render(&zh).contains("不允许播放"));
        // The source's status says when it tries again; the broker's wait is not repeated.
        let limited = refused(ErrorCode::RateLimited, None).play_message("guest");
        assert!(!limited.keys().contains(&"Platform.Error.RetryAfter"));
        assert!(refused(ErrorCode::RateLimited, None)
            .message()
            .keys()
            .contains(&"Platform.Error.RetryAfter"));
        let vendor = refused(ErrorCode::VendorError, Some("30005")).play_message("guest");
        assert_eq!(vendor.key, "Pull.Platform.Vendor");
        assert!(vendor.render(&en).contains("ZEGOCLOUD refused to play"));
    }

    #[test]
    fn vendor_codes_use_the_vendor_catalogues() {
        let en = locale("en-US");
        let vendor = |code: &str| {
            PlatformError::Refused {
                code: ErrorCode::VendorError,
                message: "vendor said no".into(),
                vendor_code: Some(code.into()),
                retry_after_seconds: None,
            }
            .message()
        };
        let zego = vendor("1002");
        assert!(zego.keys().contains(&"Zego.Code.PushNodeEmpty"), "{zego}");
        assert!(
            zego.render(&en).contains("ZEGOCLOUD"),
            "{}",
            zego.render(&en)
        );
        let aliyun = vendor("SignatureDoesNotMatch");
        assert!(
            aliyun.keys().contains(&"Aliyun.Code.SignatureDoesNotMatch"),
            "{aliyun}"
        );
        let unknown = vendor("Weird.Thing");
        assert_eq!(unknown.key, "Platform.Error.VendorUnknown");
        assert!(unknown.render(&en).contains("vendor said no"));
    }

    #[test]
    fn the_token_never_reaches_an_error() {
        // A server that accepts and never answers: the call runs into its deadline.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let settings = serde_json::json!({
            "platform_url": format!("http://{}", listener.local_addr().unwrap()),
            "platform_token": "SECRETTOKEN"});
        let config = PlatformConfig::from_settings(&settings).unwrap();
        let http = ApiClient::new(Duration::from_secs(1), Duration::from_millis(300)).unwrap();
        // The heartbeat keeps the client's own deadline (a go-live would wait for a queue).
        let e = live(&http, &config, "s1").unwrap_err();
        assert!(matches!(e, PlatformError::Transport(_)), "{e:?}");
        assert!(!format!("{e:?} {e}").contains("SECRETTOKEN"));
        drop(listener);
    }
}
