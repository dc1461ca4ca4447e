//! Alibaba Cloud RPC signature: HMAC-SHA1, `SignatureVersion=1.0` (Alibaba's docs now call it "V2").
//!
//! ```text
//! StringToSign = METHOD + "&" + "%2F" + "&" + encode(canonical_query(params without Signature))
//! Signature    = base64(HMAC-SHA1(AccessKeySecret + "&", StringToSign))
//! ```
//!
//! This is what the official ApsaraVideo Live SDKs in wide use still send, so it is the signer
//! the Live provider uses; [`super::aliyun_v3`] is the newer scheme the same APIs also accept.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha1::Sha1;

use super::percent;

/// One RPC-style call, before the common parameters and the signature are added.
#[derive(Debug, Clone, Copy)]
pub struct RpcCall<'a> {
    /// HTTP method in upper case (`GET` or `POST`); it is part of the string to sign.
    pub method: &'a str,
    /// The API operation, e.g. `CreateRoomRealTimeStreamAddress`.
    pub action: &'a str,
    /// The API version, e.g. `2016-11-01` for ApsaraVideo Live.
    pub version: &'a str,
    /// The operation's own parameters (decoded values).
    pub params: &'a BTreeMap<String, String>,
}

/// The signature of a parameter set: base64 HMAC-SHA1, not yet percent-encoded.
///
/// `params` are the decoded names and values of every parameter sent (common and action ones);
/// a `Signature` entry, if present, is skipped, so a verifier can pass what it received as is.
/// `method` is the upper-case HTTP method.
pub fn sign(method: &str, params: &BTreeMap<String, String>, access_key_secret: &str) -> String {
    let query = if params.contains_key("Signature") {
        let mut signed = params.clone();
        signed.remove("Signature");
        percent::canonical_query(&signed)
    } else {
        percent::canonical_query(params)
    };
    let string_to_sign = format!("{method}&%2F&{}", percent::encode(&query));
    // The trailing `&` is part of the key by definition (it once separated an empty token secret).
    let mut mac = Hmac::<Sha1>::new_from_slice(format!("{access_key_secret}&").as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(string_to_sign.as_bytes());
    BASE64.encode(mac.finalize().into_bytes())
}

/// The complete, signed query string to send after `?` (GET) or as the form body (POST).
///
/// Adds the common parameters `Format=JSON`, `SignatureMethod=HMAC-SHA1`,
/// `SignatureVersion=1.0`, `SignatureNonce`, `Timestamp` (UTC, `YYYY-MM-DDThh:mm:ssZ`),
/// `AccessKeyId`, `Version` and `Action` (they win over action parameters of the same name),
/// then appends the percent-encoded `Signature`. `nonce` must be fresh for every call (see
/// [`super::random_hex_nonce`]): Alibaba rejects a reused one with `SignatureNonceUsed`.
pub fn signed_query(
    call: &RpcCall<'_>,
    access_key_id: &str,
    access_key_secret: &str,
    nonce: &str,
    timestamp: SystemTime,
) -> String {
    let mut params = call.params.clone();
    for (name, value) in [
        ("Format", "JSON"),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureVersion", "1.0"),
        ("SignatureNonce", nonce),
        ("Timestamp", &utc_timestamp(timestamp)),
        ("AccessKeyId", access_key_id),
        ("Version", call.version),
        ("Action", call.action),
    ] {
        params.insert(name.to_owned(), value.to_owned());
    }
    let signature = sign(call.method, &params, access_key_secret);
    format!(
        "{}&Signature={}",
        percent::canonical_query(&params),
        percent::encode(&signature)
    )
}

/// `YYYY-MM-DDThh:mm:ssZ` in UTC, the timestamp format of both Alibaba signatures.
///
/// The time is clamped to what the format can express (1970 to 9999): the formatter panics
/// outside that range, and a plugin must not take OBS down over a wildly wrong clock. The
/// gateway then reports the skew (`InvalidTimeStamp.Expired`), which is the useful diagnosis.
pub(super) fn utc_timestamp(time: SystemTime) -> String {
    const LAST_SECOND_OF_9999: u64 = 253_402_300_799;
    let latest = UNIX_EPOCH + Duration::from_secs(LAST_SECOND_OF_9999);
    humantime::format_rfc3339_seconds(time.clamp(UNIX_EPOCH, latest)).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn official_params() -> BTreeMap<String, String> {
        map(&[
            ("AccessKeyId", "testid"),
            ("Action", "DescribeRegions"),
            ("Format", "XML"),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureNonce", "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"),
            ("SignatureVersion", "1.0"),
            ("Timestamp", "2016-02-23T12:46:24Z"),
            ("Version", "2014-05-26"),
        ])
    }

    #[test]
    fn official_vector_get() {
        assert_eq!(
            sign("GET", &official_params(), "testsecret"),
            "OLeaidS1JvxuMvnyHOwuJ+uX5qY="
        );
    }

    #[test]
    fn official_vector_post() {
        assert_eq!(
            sign("POST", &official_params(), "testsecret"),
            "MxbnVAM4w6sft9xjVpe/GCKueuk="
        );
    }

    #[test]
    fn a_received_signature_parameter_is_not_signed() {
        let mut params = official_params();
        params.insert("Signature".to_owned(), "anything".to_owned());
        assert_eq!(
            sign("GET", &params, "testsecret"),
            "OLeaidS1JvxuMvnyHOwuJ+uX5qY="
        );
    }

    #[test]
    fn timestamp_format_and_clamping() {
        let t = UNIX_EPOCH + Duration::from_secs(1_456_231_584);
        assert_eq!(utc_timestamp(t), "2016-02-23T12:46:24Z");
        assert_eq!(
            utc_timestamp(t + Duration::from_millis(999)),
            "2016-02-23T12:46:24Z"
        );
        assert_eq!(
            utc_timestamp(UNIX_EPOCH - Duration::from_secs(1)),
            "1970-01-01T00:00:00Z"
        );
        assert_eq!(
            utc_timestamp(UNIX_EPOCH + Duration::from_secs(400_000_000_000)),
            "9999-12-31T23:59:59Z"
        );
    }

    /// A Live call with a non-ASCII display name; the expected query and signature were computed
    /// independently with Python's `hmac` and `urllib.parse.quote(s, safe="-_.~")`.
    #[test]
    fn signed_query_with_non_ascii_display_name() {
        let params = map(&[
            ("AppId", "app-1"),
            ("ChannelId", "room_1"),
            ("UserId", "obs-1"),
            ("DisplayName", "主播小明 🎥*~"),
        ]);
        let call = RpcCall {
            method: "GET",
            action: "CreateRoomRealTimeStreamAddress",
            version: "2016-11-01",
            params: &params,
        };
        let query = signed_query(
            &call,
            "testid",
            "testsecret",
            "0123456789abcdef",
            UNIX_EPOCH + Duration::from_secs(1_714_550_400),
        );
        assert_eq!(
            query,
            "AccessKeyId=testid&Action=CreateRoomRealTimeStreamAddress&AppId=app-1\
             &ChannelId=room_1\
             &DisplayName=%E4%B8%BB%E6%92%AD%E5%B0%8F%E6%98%8E%20%F0%9F%8E%A5%2A~\
             &Format=JSON&SignatureMethod=HMAC-SHA1&SignatureNonce=0123456789abcdef\
             &SignatureVersion=1.0&Timestamp=2024-05-01T08%3A00%3A00Z&UserId=obs-1\
             &Version=2016-11-01&Signature=aOM%2BGNHc7aTfhtW2BFBaZxONrkY%3D"
        );
    }
}
