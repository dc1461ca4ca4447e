//! ZEGOCLOUD server API: signed calls, RTMP push dispatch, and the return-code catalogue.

use crate::api_client::{ApiClient, TransportError};
use crate::config::zego::ZegoConfig;
use crate::messages::Message;
use crate::sequence::SequenceClock;
use crate::signing::{random_hex_nonce, zego::sign};
use crate::unix_time::unix_millis;
use serde::Deserialize;
use serde_json::Value;

/// A failed ZEGOCLOUD call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZegoError {
    /// No HTTP answer.
    Transport(TransportError),
    /// An HTTP status other than 200 (ZEGOCLOUD answers every call with 200 and a `Code`).
    HttpStatus { status: u16 },
    /// The body is not the documented `{Code, Message, RequestId, Data}` JSON.
    BadResponse { detail: String },
    /// ZEGOCLOUD answered with a non-zero `Code`.
    Api {
        code: i64,
        message: String,
        request_id: String,
    },
    /// Success, but no push node in `Data`.
    EmptyData { request_id: String },
    /// A node URL in `Data` that is not `rtmp[s]://host/app/stream`.
    BadNodeUrl { url: String, request_id: String },
}

crate::error_via_message!(ZegoError);

impl ZegoError {
    /// The text for OBS's error dialog: code, meaning, suggested action and RequestId.
    pub fn message(&self) -> Message {
        match self {
            ZegoError::Transport(t) => t.message(),
            ZegoError::HttpStatus { status } => {
                Message::new("Error.Zego.HttpStatus").text(status.to_string())
            }
            ZegoError::BadResponse { detail } => {
                Message::new("Error.Zego.BadResponse").text(detail)
            }
            ZegoError::Api {
                code,
                message,
                request_id,
            } => match code_info(*code) {
                Some(info) => Message::new("Error.Zego.Api")
                    .text(code.to_string())
                    .key_arg(info.meaning)
                    .key_arg(info.action)
                    .text(request_id),
                None => Message::new("Error.Zego.ApiUnknown")
                    .text(code.to_string())
                    .text(message)
                    .text(request_id),
            },
            ZegoError::EmptyData { request_id } => {
                Message::new("Error.Zego.EmptyData").text(request_id)
            }
            ZegoError::BadNodeUrl { url, request_id } => Message::new("Error.Zego.BadNodeUrl")
                .text(url)
                .text(request_id),
        }
    }

    /// Whether a pull dispatch found nothing to play: code 1003 ("Playing node is empty"), or
    /// success with no node, which is what a stream nobody publishes gets.
    pub fn is_not_published(&self) -> bool {
        matches!(
            self,
            ZegoError::Api { code: 1003, .. } | ZegoError::EmptyData { .. }
        )
    }

    /// Whether ZEGOCLOUD refused in a way asking again cannot change ([`Retry::Never`]).
    pub fn is_refusal(&self) -> bool {
        self.retry() == Some(Retry::Never)
    }

    /// Whether ZEGOCLOUD asked us to slow down (retry later with backoff).
    pub fn is_rate_limited(&self) -> bool {
        self.retry() == Some(Retry::SlowDown)
    }

    /// What asking again can do, for a documented return code.
    fn retry(&self) -> Option<Retry> {
        match self {
            ZegoError::Api { code, .. } => code_info(*code).map(|info| info.retry),
            _ => None,
        }
    }
}

/// What asking ZEGOCLOUD again can do after a return code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Load, an internal fault, the clock, or nothing to play yet: a later call may succeed.
    Later,
    /// The rate limit: ask again, more slowly.
    SlowDown,
    /// Credentials, AppID, parameters or the account's setup: only the streamer's settings or
    /// ZEGOCLOUD's console can change the answer.
    Never,
}

/// A documented ZEGOCLOUD return code: its meaning and suggested action (locale keys), and
/// what asking again can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeInfo {
    /// Locale key of what the code means.
    pub meaning: &'static str,
    /// Locale key of the vendor's suggested action.
    pub action: &'static str,
    /// Whether and how a retry can help.
    pub retry: Retry,
}

/// Whether a ZEGOCLOUD return code is a refusal that asking again cannot change
/// ([`Retry::Never`]); for codes relayed as text (the broker's `vendor_code`).
pub fn is_refusal_code(code: i64) -> bool {
    code_info(code).is_some_and(|info| info.retry == Retry::Never)
}

/// The catalogue of ZEGOCLOUD's documented return codes (`../shared/seeds`, the dispatch and
/// CDN pages' code tables and the common gateway codes); `None` for a code they do not list.
pub fn code_info(code: i64) -> Option<CodeInfo> {
    use Retry::{Later, Never, SlowDown};
    let (meaning, action, retry) = match code {
        1010 | 30002 | 5007 => ("Zego.Code.RateLimited", "Zego.Action.ReduceRate", SlowDown),
        1001 => (
            "Zego.Code.DispatchFailed",
            "Zego.Action.ContactSupport",
            Later,
        ),
        1002 => (
            "Zego.Code.PushNodeEmpty",
            "Zego.Action.EnableDispatch",
            Never,
        ),
        1003 => (
            "Zego.Code.PullNodeEmpty",
            "Zego.Action.ContactSupport",
            Later,
        ),
        1005 => ("Zego.Code.AppOffline", "Zego.Action.ContactSupport", Never),
        1006 => (
            "Zego.Code.InvalidParameter",
            "Zego.Action.ContactSupport",
            Never,
        ),
        30003 | 5000 | 5001 | 5002 | 5006 => {
            ("Zego.Code.Internal", "Zego.Action.ContactSupport", Later)
        }
        30004 => ("Zego.Code.BadIsTest", "Zego.Action.CheckIsTest", Never),
        30005 => ("Zego.Code.BadAppId", "Zego.Action.CheckAppId", Never),
        30009 => ("Zego.Code.BadStreamId", "Zego.Action.CheckStreamId", Never),
        30010 => ("Zego.Code.BadType", "Zego.Action.ContactSupport", Never),
        30011 => ("Zego.Code.BadClientIp", "Zego.Action.CheckClientIp", Never),
        5003 => ("Zego.Code.AuthFailed", "Zego.Action.CheckSecret", Never),
        5004 | 30001 => ("Zego.Code.BadCdnUrl", "Zego.Action.CheckCdnUrl", Never),
        5005 => (
            "Zego.Code.InvalidRequest",
            "Zego.Action.ContactSupport",
            Never,
        ),
        100000004 => (
            "Zego.Code.SignatureExpired",
            "Zego.Action.CheckClock",
            Later,
        ),
        100000005 => ("Zego.Code.SignatureError", "Zego.Action.CheckSecret", Never),
        100000001 | 100000002 | 100000003 | 100000006 | 100000007 | 100000008 | 100000009
        | 100000013 | 100000014 => (
            "Zego.Code.MalformedRequest",
            "Zego.Action.UpdatePlugin",
            Never,
        ),
        100000015 => ("Zego.Code.GatewayInternal", "Zego.Action.RetryLater", Later),
        100000016 => ("Zego.Code.NotProduction", "Zego.Action.CheckIsTest", Never),
        100000017 => (
            "Zego.Code.ServiceNotEnabled",
            "Zego.Action.EnableDispatch",
            Never,
        ),
        _ => return None,
    };
    Some(CodeInfo {
        meaning,
        action,
        retry,
    })
}

/// The documented response envelope.
#[derive(Debug, Deserialize)]
struct Envelope {
    #[serde(rename = "Code")]
    code: i64,
    #[serde(rename = "Message", default)]
    message: String,
    #[serde(rename = "RequestId", default, deserialize_with = "string_or_number")]
    request_id: String,
    #[serde(rename = "Data", default)]
    data: Value,
}

fn string_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => s,
        Value::Null => String::new(),
        other => other.to_string(),
    })
}

/// A successful answer: the RequestId and `Data`.
#[derive(Debug, Clone)]
pub struct ZegoAnswer {
    /// The vendor's RequestId.
    pub request_id: String,
    /// The `Data` member.
    pub data: Value,
}

/// Calls `Action` with the common parameters, signed, plus `params`; `Code != 0` is an error.
///
/// A refusal for an expired signature (the local clock is off by more than ZEGOCLOUD's 10
/// minutes) is retried once, signed with the server's time from its `Date` header.
pub fn call(
    http: &ApiClient,
    config: &ZegoConfig,
    action: &str,
    params: &[(&str, String)],
) -> Result<ZegoAnswer, ZegoError> {
    match call_once(http, config, action, params) {
        Err(ZegoError::Api {
            code: SIGNATURE_EXPIRED,
            ..
        }) if http.adopt_server_clock() => call_once(http, config, action, params),
        other => other,
    }
}

/// ZEGOCLOUD's gateway code for a timestamp outside its ±10 minute window.
const SIGNATURE_EXPIRED: i64 = 100000004;

fn call_once(
    http: &ApiClient,
    config: &ZegoConfig,
    action: &str,
    params: &[(&str, String)],
) -> Result<ZegoAnswer, ZegoError> {
    let timestamp = unix_millis(http.now()) / 1000;
    let nonce = random_hex_nonce(8);
    let signature = sign(
        config.app_id,
        &nonce,
        config.server_secret.expose(),
        timestamp,
    );
    let mut url = config.endpoint.root();
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("Action", action)
            .append_pair("AppId", &config.app_id.to_string())
            .append_pair("SignatureNonce", &nonce)
            .append_pair("Timestamp", &timestamp.to_string())
            .append_pair("Signature", &signature)
            .append_pair("SignatureVersion", "2.0")
            .append_pair("IsTest", if config.is_test { "true" } else { "false" });
        for (name, value) in params {
            q.append_pair(name, value);
        }
    }
    let response = http.get(&url, &[]).map_err(ZegoError::Transport)?;
    if response.status != 200 {
        return Err(ZegoError::HttpStatus {
            status: response.status,
        });
    }
    parse_answer(&response.body)
}

/// Reads the body of an HTTP 200 answer: the `{Code, Message, RequestId, Data}` envelope, with
/// a non-zero `Code` as [`ZegoError::Api`] and anything else as [`ZegoError::BadResponse`].
pub fn parse_answer(body: &[u8]) -> Result<ZegoAnswer, ZegoError> {
    let envelope: Envelope = serde_json::from_slice(body).map_err(|e| ZegoError::BadResponse {
        detail: e.to_string(),
    })?;
    if envelope.code != 0 {
        return Err(ZegoError::Api {
            code: envelope.code,
            message: envelope.message,
            request_id: envelope.request_id,
        });
    }
    Ok(ZegoAnswer {
        request_id: envelope.request_id,
        data: envelope.data,
    })
}

/// The push nodes RTMPDispatchV2 returned.
#[derive(Debug, Clone)]
pub struct Dispatch {
    /// The vendor's RequestId.
    pub request_id: String,
    /// Publish URLs, best first.
    pub urls: Vec<String>,
}

/// Asks ZEGOCLOUD for RTMP push nodes for the configured stream.
pub fn dispatch_push(
    http: &ApiClient,
    config: &ZegoConfig,
    sequence: &SequenceClock,
) -> Result<Dispatch, ZegoError> {
    dispatch(http, config, sequence, "push")
}

/// Asks ZEGOCLOUD for RTMP playing nodes of the configured stream (`Type=pull`, "for a
/// third-party player to pull RTMP streams"). A stream nobody publishes has no playing node:
/// see [`ZegoError::is_not_published`].
pub fn dispatch_pull(
    http: &ApiClient,
    config: &ZegoConfig,
    sequence: &SequenceClock,
) -> Result<Dispatch, ZegoError> {
    dispatch(http, config, sequence, "pull")
}

/// RTMPDispatchV2 with `Type` = `kind`.
fn dispatch(
    http: &ApiClient,
    config: &ZegoConfig,
    sequence: &SequenceClock,
    kind: &str,
) -> Result<Dispatch, ZegoError> {
    let mut params = vec![
        ("StreamId", config.stream_id.clone()),
        ("Sequence", sequence.next().to_string()),
        ("Type", kind.to_string()),
    ];
    if let Some(ip) = config.client_ip {
        params.push(("ClientIP", ip.to_string()));
    }
    let answer = call(http, config, "RTMPDispatchV2", &params)?;
    Ok(Dispatch {
        urls: dispatch_urls(&answer)?,
        request_id: answer.request_id,
    })
}

/// The publish URLs in the `Data` of an RTMPDispatchV2 answer: at least one, or
/// [`ZegoError::EmptyData`]; a `Data` of another shape is [`ZegoError::BadResponse`].
pub fn dispatch_urls(answer: &ZegoAnswer) -> Result<Vec<String>, ZegoError> {
    let urls =
        parse_dispatch_data(&answer.data).map_err(|detail| ZegoError::BadResponse { detail })?;
    if urls.is_empty() {
        return Err(ZegoError::EmptyData {
            request_id: answer.request_id.clone(),
        });
    }
    Ok(urls)
}

/// `CreatCDNTransferRule` (the vendor's spelling): forward the stream to `cdn_url`.
pub fn create_cdn_rule(
    http: &ApiClient,
    config: &ZegoConfig,
    sequence: &SequenceClock,
    cdn_url: &str,
) -> Result<ZegoAnswer, ZegoError> {
    cdn_rule_call(http, config, sequence, "CreatCDNTransferRule", cdn_url)
}

/// `DeleteCDNTransferRule`: stop forwarding to `cdn_url` (the URL the rule was created with).
pub fn delete_cdn_rule(
    http: &ApiClient,
    config: &ZegoConfig,
    sequence: &SequenceClock,
    cdn_url: &str,
) -> Result<ZegoAnswer, ZegoError> {
    cdn_rule_call(http, config, sequence, "DeleteCDNTransferRule", cdn_url)
}

fn cdn_rule_call(
    http: &ApiClient,
    config: &ZegoConfig,
    sequence: &SequenceClock,
    action: &str,
    cdn_url: &str,
) -> Result<ZegoAnswer, ZegoError> {
    // The query encoder percent-encodes CDNUrl, as the vendor requires.
    let params = [
        ("StreamId", config.stream_id.clone()),
        ("CDNUrl", cdn_url.to_string()),
        ("Sequence", sequence.next().to_string()),
    ];
    call(http, config, action, &params)
}

/// What `DescribeRTCStreamState` says of the configured stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamState {
    /// Code 0: the stream exists and is live.
    Live,
    /// Code 41004: ZEGOCLOUD has never seen it.
    Unknown,
    /// Code 41006: it existed and is closed.
    Closed,
}

/// `DescribeRTCStreamState` for the configured stream.
pub fn describe_stream_state(
    http: &ApiClient,
    config: &ZegoConfig,
    sequence: &SequenceClock,
) -> Result<StreamState, ZegoError> {
    let params = [
        ("StreamId", config.stream_id.clone()),
        ("Sequence", sequence.next().to_string()),
    ];
    match call(http, config, "DescribeRTCStreamState", &params) {
        Ok(_) => Ok(StreamState::Live),
        Err(ZegoError::Api { code: 41004, .. }) => Ok(StreamState::Unknown),
        Err(ZegoError::Api { code: 41006, .. }) => Ok(StreamState::Closed),
        Err(e) => Err(e),
    }
}

/// `Data` of RTMPDispatchV2: an array of URL strings (null or missing means none).
fn parse_dispatch_data(data: &Value) -> Result<Vec<String>, String> {
    match data {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => items
            .iter()
            .map(|v| match v {
                Value::String(s) if !s.trim().is_empty() => Ok(s.trim().to_string()),
                Value::String(_) => Err("Data holds an empty URL".to_string()),
                other => Err(format!("Data holds {} instead of a URL", json_type(other))),
            })
            .collect(),
        other => Err(format!(
            "Data is {} instead of an array of URLs",
            json_type(other)
        )),
    }
}

/// The JSON type of `v`, with its article.
fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dispatch_data_shapes() {
        assert_eq!(
            parse_dispatch_data(&json!(["rtmp://a/b/c", " rtmp://d/e/f "])).unwrap(),
            vec!["rtmp://a/b/c", "rtmp://d/e/f"]
        );
        assert_eq!(
            parse_dispatch_data(&Value::Null).unwrap(),
            Vec::<String>::new()
        );
        assert!(parse_dispatch_data(&json!({"url": "x"}))
            .unwrap_err()
            .contains("object"));
        assert!(parse_dispatch_data(&json!([1]))
            .unwrap_err()
            .contains("number"));
        assert!(parse_dispatch_data(&json!([""])).is_err());
    }

    #[test]
    fn answers_are_parsed_into_urls_or_typed_errors() {
        let ok = parse_answer(
            br#"{"Code":0,"Message":"success","RequestId":"R1","Data":["rtmp://h/app/s"]}"#,
        )
        .unwrap();
        assert_eq!(ok.request_id, "R1");
        assert_eq!(dispatch_urls(&ok).unwrap(), ["rtmp://h/app/s"]);
        assert_eq!(
            parse_answer(br#"{"Code":1010,"Message":"rate","RequestId":"R2"}"#).unwrap_err(),
            ZegoError::Api {
                code: 1010,
                message: "rate".into(),
                request_id: "R2".into()
            }
        );
        let empty = parse_answer(br#"{"Code":0,"RequestId":"R3","Data":[]}"#).unwrap();
        assert_eq!(
            dispatch_urls(&empty).unwrap_err(),
            ZegoError::EmptyData {
                request_id: "R3".into()
            }
        );
        let object = parse_answer(br#"{"Code":0,"Data":{"url":"rtmp://h/a/s"}}"#).unwrap();
        assert_eq!(
            dispatch_urls(&object).unwrap_err(),
            ZegoError::BadResponse {
                detail: "Data is an object instead of an array of URLs".into()
            }
        );
        for bad in [&br#"{"Code":"0"}"#[..], b"{\"Code\":0,", b"<html>", b""] {
            assert!(
                matches!(parse_answer(bad), Err(ZegoError::BadResponse { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn envelope_accepts_numeric_request_id() {
        let e: Envelope =
            serde_json::from_str(r#"{"Code":0,"RequestId":5094436160208407316}"#).unwrap();
        assert_eq!(e.request_id, "5094436160208407316");
        assert_eq!(e.data, Value::Null);
    }

    #[test]
    fn every_documented_code_has_a_meaning_and_action() {
        for code in [
            1010, 30002, 1001, 1002, 1003, 1005, 1006, 30003, 30004, 30005, 30009, 30010, 30011,
            5000, 5001, 5002, 5003, 5004, 5005, 5006, 5007, 30001, 100000001, 100000002, 100000003,
            100000004, 100000005, 100000006, 100000007, 100000008, 100000009, 100000013, 100000014,
            100000015, 100000016, 100000017,
        ] {
            assert!(code_info(code).is_some(), "code {code}");
        }
        assert_eq!(code_info(42), None);
    }

    #[test]
    fn whether_asking_again_helps_comes_from_the_catalogue() {
        let api = |code| ZegoError::Api {
            code,
            message: String::new(),
            request_id: "R".into(),
        };
        for code in [5003, 30005, 100000005, 100000017] {
            assert!(
                api(code).is_refusal() && !api(code).is_rate_limited(),
                "{code}"
            );
            assert!(is_refusal_code(code), "{code}");
        }
        for code in [1010, 30002, 5007] {
            assert!(
                api(code).is_rate_limited() && !api(code).is_refusal(),
                "{code}"
            );
        }
        // Nothing to play yet, an internal fault, the clock: a later call may succeed.
        for code in [1003, 1001, 5000, 100000004, 100000015] {
            assert_eq!(
                code_info(code).map(|i| i.retry),
                Some(Retry::Later),
                "{code}"
            );
            assert!(
                !api(code).is_refusal() && !api(code).is_rate_limited(),
                "{code}"
            );
        }
        // A code the catalogue does not know is not assumed permanent.
        assert!(!api(42).is_refusal() && !is_refusal_code(42));
        assert!(!ZegoError::HttpStatus { status: 502 }.is_refusal());
    }

    #[test]
    fn api_error_message_carries_code_action_and_request_id() {
        let e = ZegoError::Api {
            code: 1010,
            message: "rate".into(),
            request_id: "R1".into(),
        };
        let m = e.message();
        assert_eq!(m.key, "Error.Zego.Api");
        assert!(m.keys().contains(&"Zego.Action.ReduceRate"));
        assert!(e.is_rate_limited());
        let unknown = ZegoError::Api {
            code: 7,
            message: "odd".into(),
            request_id: "R2".into(),
        }
        .message();
        assert_eq!(unknown.key, "Error.Zego.ApiUnknown");
    }
}
