//! The platform's broker (`rtc-golive-broker`): go-live, heartbeat and stop calls with the
//! streamer's token, and its refusals as the streamer's localized messages.
//!
//! The wire format is [`crate::platform_api`]; the broker holds the vendor's secrets, so no
//! call here is signed and nothing here ever sees a vendor secret.

use crate::api_client::{ApiClient, ApiResponse, TransportError};
use crate::config::platform::PlatformConfig;
use crate::messages::Message;
use crate::platform_api::{
    ErrorBody, ErrorCode, GoLiveAnswer, GoLiveRequest, LiveAnswer, SessionRequest, GOLIVE_PATH,
    LIVE_PATH, STOP_PATH,
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
            } => vendor_message(vendor_code.as_deref().unwrap_or_default(), message),
            PlatformError::Refused {
                code,
                retry_after_seconds,
                ..
            } => {
                let (meaning, action) = describe_code(*code);
                let refused = Message::new("Platform.Error.Refused")
                    .text(wire_name(*code))
                    .key_arg(meaning)
                    .key_arg(action);
                match retry_after_seconds {
                    Some(secs) => Message::new("Platform.Error.RetryAfter")
                        .message_arg(refused)
                        .text(secs.to_string()),
                    None => refused,
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
        ErrorCode::RateLimited => ("Platform.Code.RateLimited", "Platform.Action.RetryLater"),
        ErrorCode::VendorError => ("Platform.Code.VendorError", "Platform.Action.AskPlatform"),
        ErrorCode::Unavailable => ("Platform.Code.Unavailable", "Platform.Action.RetryLater"),
    }
}

/// The code as it reads on the wire (`token_expired`), for the dialog and support.
fn wire_name(code: ErrorCode) -> String {
    serde_json::to_value(code)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// A vendor's refusal relayed by the broker. ZEGOCLOUD's codes are numbers and Alibaba's are
/// words, so the code itself says whose catalogue explains it; the catalogue's action is for
/// the platform, which holds the account, so the streamer is told to pass it on.
fn vendor_message(vendor_code: &str, broker_text: &str) -> Message {
    let known = match vendor_code.parse::<i64>() {
        Ok(number) => zego::describe_code(number).map(|pair| ("Platform.Vendor.Zego", pair)),
        Err(_) => aliyun::describe_code(vendor_code).map(|pair| ("Platform.Vendor.Aliyun", pair)),
    };
    match known {
        Some((vendor, (meaning, action))) => Message::new("Platform.Error.Vendor")
            .key_arg(vendor)
            .text(vendor_code)
            .key_arg(meaning)
            .key_arg(action),
        None => Message::new("Platform.Error.VendorUnknown")
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

    const ALL_CODES: [ErrorCode; 11] = [
        ErrorCode::BadRequest,
        ErrorCode::TokenMissing,
        ErrorCode::TokenInvalid,
        ErrorCode::TokenExpired,
        ErrorCode::TokenAudience,
        ErrorCode::TokenRevoked,
        ErrorCode::Forbidden,
        ErrorCode::SessionUnknown,
        ErrorCode::RateLimited,
        ErrorCode::VendorError,
        ErrorCode::Unavailable,
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
