//! Alibaba Cloud ApsaraVideo Live (`live`, 2016-11-01): ARTC RTMP ingest addresses and channel
//! participants, signed with the RPC (HMAC-SHA1) or ACS3-HMAC-SHA256 scheme.

use crate::api_client::{ApiClient, TransportError};
use crate::config::aliyun::{mask, AliyunConfig, SignatureVersion};
use crate::messages::Message;
use crate::signing::{aliyun_rpc, aliyun_v3, random_hex_nonce};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// The API version of ApsaraVideo Live.
pub const API_VERSION: &str = "2016-11-01";

/// A failed Alibaba Cloud call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AliyunError {
    /// No HTTP answer.
    Transport(TransportError),
    /// An error answer (`{Code, Message, RequestId, Recommend}`).
    Api {
        /// HTTP status.
        status: u16,
        /// Alibaba's error code, e.g. `SignatureDoesNotMatch`.
        code: String,
        /// The vendor's message, already cleaned of the AccessKey ID.
        message: String,
        /// The RequestId.
        request_id: String,
        /// Alibaba's troubleshooting link, when sent.
        recommend: String,
    },
    /// An answer that is not the documented JSON.
    BadResponse { status: u16, detail: String },
    /// Success without an `RtmpAddress`.
    NoAddress { request_id: String },
    /// An `RtmpAddress` that is not `rtmp[s]://host/app/name?auth_key=...`. The address itself
    /// carries the auth_key, so it is never shown.
    BadAddress { request_id: String },
}

crate::error_via_message!(AliyunError);

impl AliyunError {
    /// The text for OBS's error dialog: code, meaning, action and RequestId.
    pub fn message(&self) -> Message {
        match self {
            AliyunError::Transport(t) => t.message(),
            AliyunError::Api {
                status,
                code,
                message,
                request_id,
                recommend,
            } => {
                let with_link = |m: Message| {
                    if recommend.is_empty() {
                        m
                    } else {
                        Message::new("Error.Aliyun.WithLink")
                            .message_arg(m)
                            .text(recommend)
                    }
                };
                match describe_code(code) {
                    Some((meaning, action)) => with_link(
                        Message::new("Error.Aliyun.Api")
                            .text(code)
                            .key_arg(meaning)
                            .key_arg(action)
                            .text(request_id),
                    ),
                    None => with_link(
                        Message::new("Error.Aliyun.ApiUnknown")
                            .text(code)
                            .text(status.to_string())
                            .text(message)
                            .text(request_id),
                    ),
                }
            }
            AliyunError::BadResponse { status, detail } => Message::new("Error.Aliyun.BadResponse")
                .text(status.to_string())
                .text(detail),
            AliyunError::NoAddress { request_id } => {
                Message::new("Error.Aliyun.NoAddress").text(request_id)
            }
            AliyunError::BadAddress { request_id } => {
                Message::new("Error.Aliyun.BadAddress").text(request_id)
            }
        }
    }

    /// Whether Alibaba asked us to slow down.
    pub fn is_rate_limited(&self) -> bool {
        matches!(self, AliyunError::Api { code, .. } if code.starts_with("Throttling"))
    }
}

/// Meaning and suggested action (locale keys) of Alibaba's common error codes.
pub fn describe_code(code: &str) -> Option<(&'static str, &'static str)> {
    let pair = match code {
        "SignatureDoesNotMatch" => (
            "Aliyun.Code.SignatureDoesNotMatch",
            "Aliyun.Action.CheckSecret",
        ),
        "InvalidAccessKeyId.NotFound" | "InvalidAccessKeyId.Inactive" => (
            "Aliyun.Code.InvalidAccessKeyId",
            "Aliyun.Action.CheckAccessKeyId",
        ),
        "InvalidTimeStamp.Expired" => ("Aliyun.Code.TimestampExpired", "Aliyun.Action.CheckClock"),
        "SignatureNonceUsed" => ("Aliyun.Code.NonceUsed", "Aliyun.Action.RetryNow"),
        "Forbidden.RAM" | "NoAuth" | "Forbidden" => {
            ("Aliyun.Code.Forbidden", "Aliyun.Action.GrantRam")
        }
        "InputInvalid" | "InvalidParameter" => {
            ("Aliyun.Code.InputInvalid", "Aliyun.Action.CheckIds")
        }
        "ResourceNotExist" => ("Aliyun.Code.ResourceNotExist", "Aliyun.Action.CheckIds"),
        "ServerError" | "InternalError" | "ServiceUnavailable" => {
            ("Aliyun.Code.ServerError", "Aliyun.Action.RetryLater")
        }
        "InvalidApi.NotFound" => ("Aliyun.Code.ApiNotFound", "Aliyun.Action.CheckEndpoint"),
        c if c.starts_with("Throttling") => ("Aliyun.Code.Throttling", "Aliyun.Action.RetryLater"),
        c if c.starts_with("MissingParameter") => {
            ("Aliyun.Code.MissingParameter", "Aliyun.Action.UpdatePlugin")
        }
        _ => return None,
    };
    Some(pair)
}

#[derive(Debug, Deserialize)]
struct ErrorBody {
    #[serde(rename = "Code", default)]
    code: String,
    #[serde(rename = "Message", default)]
    message: String,
    #[serde(rename = "RequestId", default)]
    request_id: String,
    #[serde(rename = "Recommend", default)]
    recommend: String,
}

/// A successful answer's JSON.
#[derive(Debug, Clone)]
pub struct AliyunAnswer {
    /// The response body.
    pub body: Value,
    /// The RequestId.
    pub request_id: String,
}

/// Calls `action` with `params`, signed with the configured scheme.
///
/// A refusal for an expired timestamp (the local clock is off by more than Alibaba's 15
/// minutes) is retried once, signed with the server's time from its `Date` header.
pub fn call(
    http: &ApiClient,
    config: &AliyunConfig,
    action: &str,
    params: &BTreeMap<String, String>,
) -> Result<AliyunAnswer, AliyunError> {
    match call_once(http, config, action, params) {
        Err(AliyunError::Api { code, .. })
            if code == "InvalidTimeStamp.Expired" && http.adopt_server_clock() =>
        {
            call_once(http, config, action, params)
        }
        other => other,
    }
}

fn call_once(
    http: &ApiClient,
    config: &AliyunConfig,
    action: &str,
    params: &BTreeMap<String, String>,
) -> Result<AliyunAnswer, AliyunError> {
    let mut url = config.endpoint.root();
    let secret = config.access_key_secret.expose();
    let nonce = random_hex_nonce(16);
    let now = http.now();
    let headers: Vec<(String, String)> = match config.signature_version {
        SignatureVersion::V2 => {
            let rpc = aliyun_rpc::RpcCall {
                method: "GET",
                action,
                version: API_VERSION,
                params,
            };
            url.set_query(Some(&aliyun_rpc::signed_query(
                &rpc,
                &config.access_key_id,
                secret,
                &nonce,
                now,
            )));
            Vec::new()
        }
        SignatureVersion::V3 => {
            let host = match url.port() {
                Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
                None => url.host_str().unwrap_or_default().to_string(),
            };
            let request = aliyun_v3::V3Request {
                method: "GET",
                host: &host,
                path: "/",
                action,
                version: API_VERSION,
                query: params,
                body: b"",
            };
            let signed =
                aliyun_v3::sign_request(&request, &config.access_key_id, secret, &nonce, now);
            url.set_query(
                Some(&signed.query)
                    .filter(|q| !q.is_empty())
                    .map(String::as_str),
            );
            // The HTTP client writes Host itself, from the same URL.
            signed
                .headers
                .into_iter()
                .filter(|(name, _)| name != "host")
                .collect()
        }
    };
    let response = http.get(&url, &headers).map_err(AliyunError::Transport)?;
    parse_answer(response.status, &response.body, &config.access_key_id)
}

/// Reads an answer of HTTP `status`: a 2xx JSON body, or the `{Code, Message, RequestId,
/// Recommend}` error body as [`AliyunError::Api`] (its message cleaned of `access_key_id`);
/// anything else is [`AliyunError::BadResponse`].
pub fn parse_answer(
    status: u16,
    body: &[u8],
    access_key_id: &str,
) -> Result<AliyunAnswer, AliyunError> {
    let body: Value = serde_json::from_slice(body).map_err(|e| AliyunError::BadResponse {
        status,
        detail: e.to_string(),
    })?;
    if !(200..300).contains(&status) {
        let error: ErrorBody =
            serde_json::from_value(body).map_err(|e| AliyunError::BadResponse {
                status,
                detail: e.to_string(),
            })?;
        if error.code.is_empty() {
            return Err(AliyunError::BadResponse {
                status,
                detail: "no Code in the error answer".into(),
            });
        }
        return Err(AliyunError::Api {
            status,
            message: clean_vendor_message(&error.message, access_key_id),
            code: error.code,
            request_id: error.request_id,
            recommend: error.recommend,
        });
    }
    let request_id = body
        .get("RequestId")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    Ok(AliyunAnswer { body, request_id })
}

/// Alibaba's messages may echo the string it signed, AccessKey ID included: mask it. (Length
/// is bounded where the text enters a message.)
fn clean_vendor_message(message: &str, access_key_id: &str) -> String {
    if access_key_id.is_empty() {
        message.to_string()
    } else {
        message.replace(access_key_id, &mask(access_key_id))
    }
}

/// A created ingest address.
#[derive(Clone)]
pub struct IngestAddress {
    /// The RequestId.
    pub request_id: String,
    /// `rtmp://host/app/name?auth_key=...`: a credential, never logged.
    pub rtmp_address: String,
}

impl std::fmt::Debug for IngestAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IngestAddress")
            .field("request_id", &self.request_id)
            .field("rtmp_address", &"***")
            .finish()
    }
}

/// `CreateRoomRealTimeStreamAddress`: an RTMP URL that joins the channel as `user_id`.
pub fn create_address(
    http: &ApiClient,
    config: &AliyunConfig,
) -> Result<IngestAddress, AliyunError> {
    let params = BTreeMap::from([
        ("AppId".to_string(), config.app_id.clone()),
        ("ChannelId".to_string(), config.channel_id.clone()),
        ("UserId".to_string(), config.user_id.clone()),
        ("DisplayName".to_string(), config.display_name.clone()),
        ("ExpireTime".to_string(), config.expire_time.to_string()),
    ]);
    let answer = call(http, config, "CreateRoomRealTimeStreamAddress", &params)?;
    ingest_address(answer)
}

/// The `RtmpAddress` of a `CreateRoomRealTimeStreamAddress` answer: missing, null or blank is
/// [`AliyunError::NoAddress`], another type [`AliyunError::BadResponse`].
pub fn ingest_address(answer: AliyunAnswer) -> Result<IngestAddress, AliyunError> {
    match answer.body.get("RtmpAddress") {
        Some(Value::String(address)) if !address.trim().is_empty() => Ok(IngestAddress {
            request_id: answer.request_id,
            rtmp_address: address.trim().to_string(),
        }),
        Some(Value::String(_)) | Some(Value::Null) | None => Err(AliyunError::NoAddress {
            request_id: answer.request_id,
        }),
        Some(_) => Err(AliyunError::BadResponse {
            status: 200,
            detail: "RtmpAddress is not a string".into(),
        }),
    }
}

/// `DescribeChannelParticipants`: whether `config.user_id` is in the channel now.
///
/// Pages through the user list (100 per page) until the user is found or the list ends.
pub fn user_in_channel(http: &ApiClient, config: &AliyunConfig) -> Result<bool, AliyunError> {
    const PAGE_SIZE: u32 = 100;
    // The channel limit of ARTC is far below this; the bound only stops a misbehaving server.
    const MAX_PAGES: u32 = 50;
    for page in 1..=MAX_PAGES {
        let params = BTreeMap::from([
            ("AppId".to_string(), config.app_id.clone()),
            ("ChannelId".to_string(), config.channel_id.clone()),
            ("PageNum".to_string(), page.to_string()),
            ("PageSize".to_string(), PAGE_SIZE.to_string()),
            ("Order".to_string(), "asc".to_string()),
        ]);
        let answer = call(http, config, "DescribeChannelParticipants", &params)?;
        let users = answer
            .body
            .get("UserList")
            .and_then(Value::as_array)
            .ok_or_else(|| AliyunError::BadResponse {
                status: 200,
                detail: "UserList is missing".into(),
            })?;
        if users
            .iter()
            .any(|u| u.as_str() == Some(config.user_id.as_str()))
        {
            return Ok(true);
        }
        let total_pages = answer
            .body
            .get("TotalPage")
            .and_then(Value::as_u64)
            .unwrap_or(1);
        if u64::from(page) >= total_pages {
            break;
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_codes_have_meanings_and_actions() {
        for code in [
            "SignatureDoesNotMatch",
            "InvalidAccessKeyId.NotFound",
            "InvalidTimeStamp.Expired",
            "SignatureNonceUsed",
            "Throttling.User",
            "Throttling.Api",
            "Forbidden.RAM",
            "MissingParameter",
            "MissingParameter.AppId",
            "InputInvalid",
            "ServerError",
            "NoAuth",
            "ResourceNotExist",
        ] {
            assert!(describe_code(code).is_some(), "{code}");
        }
        assert_eq!(describe_code("Whatever.Else"), None);
    }

    #[test]
    fn rate_limit_detection() {
        let e = |code: &str| AliyunError::Api {
            status: 400,
            code: code.into(),
            message: String::new(),
            request_id: String::new(),
            recommend: String::new(),
        };
        assert!(e("Throttling.User").is_rate_limited());
        assert!(!e("SignatureDoesNotMatch").is_rate_limited());
    }

    #[test]
    fn vendor_messages_are_masked() {
        let m = clean_vendor_message(
            "string to sign: GET&%2F&AccessKeyId%3DLTAI5tSECRETID9",
            "LTAI5tSECRETID9",
        );
        assert!(!m.contains("LTAI5tSECRETID9"));
        assert!(m.contains("LTA*********ID9"));
    }

    #[test]
    fn answers_are_parsed_into_addresses_or_typed_errors() {
        let ok = parse_answer(
            200,
            br#"{"RequestId":"R1","RtmpAddress":" rtmp://h/live/s?auth_key=k "}"#,
            "LTAI5tKEY",
        )
        .unwrap();
        assert_eq!(ok.request_id, "R1");
        let address = ingest_address(ok).unwrap();
        assert_eq!(address.rtmp_address, "rtmp://h/live/s?auth_key=k");
        let error = parse_answer(
            403,
            br#"{"RequestId":"R2","Code":"Forbidden.RAM","Message":"key LTAI5tKEY denied"}"#,
            "LTAI5tKEY",
        )
        .unwrap_err();
        match &error {
            AliyunError::Api {
                status: 403,
                code,
                message,
                request_id,
                ..
            } => {
                assert_eq!(
                    (code.as_str(), request_id.as_str()),
                    ("Forbidden.RAM", "R2")
                );
                assert!(!message.contains("LTAI5tKEY"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        let missing = parse_answer(200, br#"{"RequestId":"R3"}"#, "").unwrap();
        assert_eq!(
            ingest_address(missing).unwrap_err(),
            AliyunError::NoAddress {
                request_id: "R3".into()
            }
        );
        let number = parse_answer(200, br#"{"RtmpAddress":7}"#, "").unwrap();
        assert!(matches!(
            ingest_address(number),
            Err(AliyunError::BadResponse { status: 200, .. })
        ));
        for (status, bad) in [
            (200, &b"{\"RtmpAddress\":"[..]),
            (500, b"<html>oops</html>"),
            (400, br#"{"Message":"no code"}"#),
            (400, br#"{"Code":5}"#),
        ] {
            assert!(
                matches!(
                    parse_answer(status, bad, ""),
                    Err(AliyunError::BadResponse { status: s, .. }) if s == status
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn address_debug_hides_the_auth_key() {
        let a = IngestAddress {
            request_id: "R".into(),
            rtmp_address: "rtmp://h/a/n?auth_key=SECRET".into(),
        };
        assert!(!format!("{a:?}").contains("SECRET"));
    }
}
