//! Alibaba Cloud V3 signature (`ACS3-HMAC-SHA256`).
//!
//! ```text
//! CanonicalRequest = METHOD \n URI \n CanonicalQuery \n CanonicalHeaders \n SignedHeaders \n HexSha256(body)
//! StringToSign     = "ACS3-HMAC-SHA256" \n HexSha256(CanonicalRequest)
//! Signature        = HexHmacSha256(AccessKeySecret, StringToSign)
//! Authorization: ACS3-HMAC-SHA256 Credential=<AccessKeyId>,SignedHeaders=<a;b;c>,Signature=<hex>
//! ```
//!
//! Every API that accepts the older RPC HMAC-SHA1 signature ([`super::aliyun_rpc`]) also accepts
//! this one, which is the scheme Alibaba recommends going forward.

use std::collections::{BTreeMap, BTreeSet};
use std::time::SystemTime;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use super::aliyun_rpc::utc_timestamp;
use super::percent;
use super::zego::signatures_match;

/// The algorithm name, both the first line of the string to sign and the Authorization scheme.
const ALGORITHM: &str = "ACS3-HMAC-SHA256";

/// One V3-signed call, before its headers are computed.
#[derive(Debug, Clone, Copy)]
pub struct V3Request<'a> {
    /// HTTP method in upper case; it is part of the canonical request.
    pub method: &'a str,
    /// The endpoint host, e.g. `live.aliyuncs.com`; sent and signed as the `host` header.
    pub host: &'a str,
    /// The request path as sent; `/` for RPC-style APIs such as ApsaraVideo Live.
    pub path: &'a str,
    /// The API operation, sent as `x-acs-action`.
    pub action: &'a str,
    /// The API version, sent as `x-acs-version`.
    pub version: &'a str,
    /// The query parameters (decoded values).
    pub query: &'a BTreeMap<String, String>,
    /// The request body exactly as sent (empty for a GET).
    pub body: &'a [u8],
}

/// What to send for a [`V3Request`].
///
/// No `Debug`: the headers carry the signature, which must never end up in a log.
#[derive(Clone, PartialEq, Eq)]
pub struct SignedV3Request {
    /// Headers to send, lower-case names: `host`, `x-acs-action`, `x-acs-content-sha256`,
    /// `x-acs-date`, `x-acs-signature-nonce`, `x-acs-version` and `authorization`.
    pub headers: BTreeMap<String, String>,
    /// The query string to send after `?` (empty when there are no parameters); it is the
    /// canonical query that was signed, so it must be sent byte for byte.
    pub query: String,
}

/// The verifier's reading of a received request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum V3Verification {
    /// The signature is the one the secret gives for this request.
    Valid {
        /// The `Credential` of the Authorization header.
        access_key_id: String,
    },
    /// The Authorization header is well formed but the request does not match its signature
    /// (wrong secret, or something changed after signing, or a signed header is missing).
    SignatureMismatch {
        /// The `Credential` of the Authorization header.
        access_key_id: String,
    },
    /// No Authorization header, another scheme, a missing or duplicated
    /// `Credential`/`SignedHeaders`/`Signature`, or `host` or an `x-acs-*` header left unsigned.
    MalformedAuthorization,
}

/// Signs `request`: computes the `x-acs-*` headers and the Authorization header.
///
/// `nonce` must be fresh for every call (see [`super::random_hex_nonce`]); `date` is sent as
/// `x-acs-date` in UTC (`YYYY-MM-DDThh:mm:ssZ`).
pub fn sign_request(
    request: &V3Request<'_>,
    access_key_id: &str,
    access_key_secret: &str,
    nonce: &str,
    date: SystemTime,
) -> SignedV3Request {
    let hashed_payload = hex_sha256(request.body);
    let mut headers: BTreeMap<String, String> = [
        ("host", request.host.to_owned()),
        ("x-acs-action", request.action.to_owned()),
        ("x-acs-content-sha256", hashed_payload.clone()),
        ("x-acs-date", utc_timestamp(date)),
        ("x-acs-signature-nonce", nonce.to_owned()),
        ("x-acs-version", request.version.to_owned()),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value))
    .collect();
    let query = percent::canonical_query(request.query);
    let signed: Vec<(&str, &str)> = headers
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    let canonical = canonical_request(
        request.method,
        request.path,
        &query,
        &signed,
        &hashed_payload,
    );
    let authorization = format!(
        "{ALGORITHM} Credential={access_key_id},SignedHeaders={},Signature={}",
        signed_header_list(&signed),
        signature(access_key_secret, &canonical)
    );
    headers.insert("authorization".to_owned(), authorization);
    SignedV3Request { headers, query }
}

/// Verifier side (the simulator): recomputes the signature of a received request and compares
/// it (in constant time) with the one in its Authorization header.
///
/// `query` holds the decoded query parameters, `headers` the received headers with lower-case
/// names (the Authorization header included), `body` the raw body. The hash of the body is
/// recomputed rather than trusted, and a signed `x-acs-content-sha256` that disagrees with it
/// is a mismatch.
#[must_use = "ignoring a verification accepts any request"]
pub fn verify(
    method: &str,
    path: &str,
    query: &BTreeMap<String, String>,
    headers: &BTreeMap<String, String>,
    body: &[u8],
    access_key_secret: &str,
) -> V3Verification {
    let Some(authorization) = headers
        .get("authorization")
        .and_then(|value| parse_authorization(value))
    else {
        return V3Verification::MalformedAuthorization;
    };
    // Alibaba requires host and every x-acs-* header to be signed; otherwise a replayed
    // signature could be paired with another action, version or nonce.
    let signs_required = authorization.signed_headers.contains("host")
        && headers
            .keys()
            .filter(|name| name.starts_with("x-acs-"))
            .all(|name| authorization.signed_headers.contains(name.as_str()));
    if !signs_required {
        return V3Verification::MalformedAuthorization;
    }

    let access_key_id = authorization.access_key_id.to_owned();
    let mismatch = || V3Verification::SignatureMismatch {
        access_key_id: access_key_id.clone(),
    };
    let hashed_payload = hex_sha256(body);
    if headers
        .get("x-acs-content-sha256")
        .is_some_and(|claimed| *claimed != hashed_payload)
    {
        return mismatch();
    }
    let mut signed = Vec::with_capacity(authorization.signed_headers.len());
    for name in &authorization.signed_headers {
        match headers.get(*name) {
            Some(value) => signed.push((*name, value.as_str())),
            None => return mismatch(),
        }
    }
    let canonical = canonical_request(
        method,
        path,
        &percent::canonical_query(query),
        &signed,
        &hashed_payload,
    );
    if signatures_match(
        &signature(access_key_secret, &canonical),
        authorization.signature,
    ) {
        V3Verification::Valid { access_key_id }
    } else {
        mismatch()
    }
}

/// The parts of an `ACS3-HMAC-SHA256` Authorization header.
struct Authorization<'a> {
    access_key_id: &'a str,
    /// Sorted and de-duplicated, which is the order the canonical request lists them in.
    signed_headers: BTreeSet<&'a str>,
    signature: &'a str,
}

fn parse_authorization(value: &str) -> Option<Authorization<'_>> {
    let rest = value.strip_prefix(ALGORITHM)?;
    if !rest.starts_with(' ') {
        return None;
    }
    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    for part in rest.trim().split(',') {
        let (name, value) = part.trim().split_once('=')?;
        let slot = match name {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed_headers,
            "Signature" => &mut signature,
            _ => return None,
        };
        if value.is_empty() || slot.replace(value).is_some() {
            return None;
        }
    }
    let signed_headers: BTreeSet<&str> = signed_headers?.split(';').collect();
    if signed_headers.contains("") {
        return None;
    }
    Some(Authorization {
        access_key_id: credential?,
        signed_headers,
        signature: signature?,
    })
}

/// `headers` are the signed headers only, lower-case names, sorted by name.
fn canonical_request(
    method: &str,
    path: &str,
    canonical_query: &str,
    headers: &[(&str, &str)],
    hashed_payload: &str,
) -> String {
    let canonical_headers: String = headers
        .iter()
        .map(|(name, value)| format!("{name}:{}\n", value.trim()))
        .collect();
    format!(
        "{method}\n{path}\n{canonical_query}\n{canonical_headers}\n{}\n{hashed_payload}",
        signed_header_list(headers)
    )
}

fn signed_header_list(headers: &[(&str, &str)]) -> String {
    headers
        .iter()
        .map(|(name, _)| *name)
        .collect::<Vec<_>>()
        .join(";")
}

fn signature(access_key_secret: &str, canonical_request: &str) -> String {
    let string_to_sign = format!("{ALGORITHM}\n{}", hex_sha256(canonical_request.as_bytes()));
    let mut mac = Hmac::<Sha256>::new_from_slice(access_key_secret.as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(string_to_sign.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

fn hex_sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn official_query() -> BTreeMap<String, String> {
        map(&[
            (
                "ImageId",
                "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd",
            ),
            ("RegionId", "cn-shanghai"),
        ])
    }

    fn official_date() -> SystemTime {
        // 2023-10-26T10:22:32Z
        UNIX_EPOCH + Duration::from_secs(1_698_315_752)
    }

    #[test]
    fn official_vector_canonical_request_and_signature() {
        let headers = [
            ("host", "ecs.cn-shanghai.aliyuncs.com"),
            ("x-acs-action", "RunInstances"),
            ("x-acs-content-sha256", EMPTY_SHA256),
            ("x-acs-date", "2023-10-26T10:22:32Z"),
            ("x-acs-signature-nonce", "3156853299f313e23d1673dc12e1703d"),
            ("x-acs-version", "2014-05-26"),
        ];
        let canonical = canonical_request(
            "POST",
            "/",
            &percent::canonical_query(&official_query()),
            &headers,
            &hex_sha256(b""),
        );
        assert_eq!(
            hex_sha256(canonical.as_bytes()),
            "7ea06492da5221eba5297e897ce16e55f964061054b7695beedaac1145b1e259"
        );
        assert_eq!(
            signature("YourAccessKeySecret", &canonical),
            "06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0"
        );
    }

    #[test]
    fn official_vector_through_the_builder() {
        let query = official_query();
        let request = V3Request {
            method: "POST",
            host: "ecs.cn-shanghai.aliyuncs.com",
            path: "/",
            action: "RunInstances",
            version: "2014-05-26",
            query: &query,
            body: b"",
        };
        let signed = sign_request(
            &request,
            "YourAccessKeyId",
            "YourAccessKeySecret",
            "3156853299f313e23d1673dc12e1703d",
            official_date(),
        );
        assert_eq!(
            signed.query,
            "ImageId=win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd&RegionId=cn-shanghai"
        );
        assert_eq!(
            signed.headers,
            map(&[
                ("host", "ecs.cn-shanghai.aliyuncs.com"),
                ("x-acs-action", "RunInstances"),
                ("x-acs-content-sha256", EMPTY_SHA256),
                ("x-acs-date", "2023-10-26T10:22:32Z"),
                ("x-acs-signature-nonce", "3156853299f313e23d1673dc12e1703d"),
                ("x-acs-version", "2014-05-26"),
                (
                    "authorization",
                    "ACS3-HMAC-SHA256 Credential=YourAccessKeyId,\
                     SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-date;\
                     x-acs-signature-nonce;x-acs-version,\
                     Signature=06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0"
                ),
            ])
        );
    }

    /// Expected values computed independently with Python's `hashlib`/`hmac` and
    /// `urllib.parse.quote(s, safe="-_.~")`.
    #[test]
    fn non_ascii_display_name_is_signed_encoded() {
        let query = map(&[("AppId", "app-1"), ("DisplayName", "主播小明 🎥*~")]);
        let request = V3Request {
            method: "GET",
            host: "live.aliyuncs.com",
            path: "/",
            action: "CreateRoomRealTimeStreamAddress",
            version: "2016-11-01",
            query: &query,
            body: b"",
        };
        let signed = sign_request(
            &request,
            "testid",
            "testsecret",
            "0123456789abcdef",
            UNIX_EPOCH + Duration::from_secs(1_714_550_400),
        );
        assert_eq!(
            signed.query,
            "AppId=app-1&DisplayName=%E4%B8%BB%E6%92%AD%E5%B0%8F%E6%98%8E%20%F0%9F%8E%A5%2A~"
        );
        assert!(signed.headers["authorization"].ends_with(
            ",Signature=293d952a3b7a13a45485dbe8e50b01f3a928db4d0a3a3bc65df70ef37cc43354"
        ));
    }

    /// Signs a POST with a body and returns what a server would receive, decoded.
    fn received(secret: &str) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
        let query = map(&[("ChannelId", "room_1"), ("DisplayName", "主播小明 🎥")]);
        let request = V3Request {
            method: "POST",
            host: "live.aliyuncs.com",
            path: "/",
            action: "CreateRoomRealTimeStreamAddress",
            version: "2016-11-01",
            query: &query,
            body: b"UserId=obs-1",
        };
        let signed = sign_request(
            &request,
            "LTAIexample",
            secret,
            &crate::signing::random_hex_nonce(16),
            SystemTime::now(),
        );
        let query = percent::parse_query(&signed.query).expect("well-formed query");
        (query, signed.headers)
    }

    fn valid() -> V3Verification {
        V3Verification::Valid {
            access_key_id: "LTAIexample".to_owned(),
        }
    }

    fn mismatch() -> V3Verification {
        V3Verification::SignatureMismatch {
            access_key_id: "LTAIexample".to_owned(),
        }
    }

    #[test]
    fn builder_round_trips_through_the_verifier() {
        let (query, headers) = received("secret");
        let body = b"UserId=obs-1";
        assert_eq!(query["DisplayName"], "主播小明 🎥");
        assert_eq!(
            verify("POST", "/", &query, &headers, body, "secret"),
            valid()
        );

        assert_eq!(
            verify("GET", "/", &query, &headers, body, "secret"),
            mismatch()
        );
        assert_eq!(
            verify("POST", "/x", &query, &headers, body, "secret"),
            mismatch()
        );
        assert_eq!(
            verify("POST", "/", &query, &headers, body, "secreT"),
            mismatch()
        );
        assert_eq!(
            verify("POST", "/", &query, &headers, b"UserId=obs-2", "secret"),
            mismatch()
        );

        let mut tampered = query.clone();
        tampered.insert("ChannelId".to_owned(), "room_2".to_owned());
        assert_eq!(
            verify("POST", "/", &tampered, &headers, body, "secret"),
            mismatch()
        );

        let mut extra = query.clone();
        extra.insert("Extra".to_owned(), String::new());
        assert_eq!(
            verify("POST", "/", &extra, &headers, body, "secret"),
            mismatch()
        );

        let mut other_action = headers.clone();
        other_action.insert("x-acs-action".to_owned(), "DeleteChannel".to_owned());
        assert_eq!(
            verify("POST", "/", &query, &other_action, body, "secret"),
            mismatch()
        );

        let mut no_host = headers.clone();
        no_host.remove("host");
        assert_eq!(
            verify("POST", "/", &query, &no_host, body, "secret"),
            mismatch()
        );
    }

    #[test]
    fn malformed_authorization_is_told_apart_from_a_mismatch() {
        let (query, headers) = received("secret");
        let body = b"UserId=obs-1";
        let with_authorization = |value: Option<&str>| {
            let mut headers = headers.clone();
            match value {
                Some(value) => headers.insert("authorization".to_owned(), value.to_owned()),
                None => headers.remove("authorization"),
            };
            verify("POST", "/", &query, &headers, body, "secret")
        };
        let original = headers["authorization"].clone();

        for broken in [
            None,
            Some(""),
            Some("garbage"),
            Some(&original.replacen("ACS3-HMAC-SHA256", "ACS3-HMAC-SHA1", 1)),
            Some(&original.replacen("ACS3-HMAC-SHA256 ", "ACS3-HMAC-SHA256", 1)),
            Some(&original.replacen("Credential=LTAIexample", "Credential=", 1)),
            Some(&original.replacen("Credential=", "Key=", 1)),
            Some(&original.replacen(",Signature=", ",", 1)),
            Some(&format!("{original},Signature=00")),
            Some(&original.replacen("host;", "", 1)),
            Some(&original.replacen(";x-acs-date", "", 1)),
            Some(&original.replacen("host;", "host;;", 1)),
        ] {
            assert_eq!(
                with_authorization(broken),
                V3Verification::MalformedAuthorization,
                "{broken:?}"
            );
        }

        // One hex digit of the signature changed.
        let (rest, last) = original.split_at(original.len() - 1);
        let flipped = format!("{rest}{}", if last == "0" { "1" } else { "0" });
        assert_eq!(with_authorization(Some(&flipped)), mismatch());
        let spaced = original.replacen(",SignedHeaders=", ", SignedHeaders=", 1);
        assert_eq!(with_authorization(Some(&spaced)), valid());
    }
}
