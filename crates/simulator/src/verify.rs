//! The verifier's side of the vendors' signatures: what the simulated gateways check. The
//! signers are the core's ([`rtc_golive_core::signing`]); the plugin never verifies anything.

use percent_encoding::percent_decode_str;
use rtc_golive_core::signing::{aliyun_rpc, aliyun_v3, percent};
use std::collections::{BTreeMap, BTreeSet};

/// Constant-time comparison of two signatures, so the verifier leaks no timing.
pub fn signatures_match(expected: &str, given: &str) -> bool {
    expected.len() == given.len()
        && expected
            .bytes()
            .zip(given.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// Decodes a received query string (without the `?`) into its parameters.
///
/// `+` is kept as a literal `+`: signers following RFC 3986 send a space as `%20`, so reading
/// `+` as a space would make a verifier accept what the real gateway rejects. A pair without
/// `=` has an empty value. Returns `None` when a name appears twice (a signature over a map
/// cannot cover both) or when a decoded name or value is not UTF-8.
pub fn parse_query(query: &str) -> Option<BTreeMap<String, String>> {
    let mut params = BTreeMap::new();
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = percent_decode_str(name).decode_utf8().ok()?.into_owned();
        let value = percent_decode_str(value).decode_utf8().ok()?.into_owned();
        if params.insert(name, value).is_some() {
            return None;
        }
    }
    Some(params)
}

/// Alibaba RPC: whether the received `Signature` is the one `access_key_secret` gives for the
/// other received parameters.
///
/// `params` are the decoded parameters as received, `Signature` included (a missing one fails).
/// The comparison is constant-time.
#[must_use = "ignoring a verification accepts any request"]
pub fn rpc(method: &str, params: &BTreeMap<String, String>, access_key_secret: &str) -> bool {
    params.get("Signature").is_some_and(|given| {
        signatures_match(&aliyun_rpc::sign(method, params, access_key_secret), given)
    })
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

/// Alibaba V3: recomputes the signature of a received request and compares it (in constant
/// time) with the one in its Authorization header.
///
/// `query` holds the decoded query parameters, `headers` the received headers with lower-case
/// names (the Authorization header included), `body` the raw body. The hash of the body is
/// recomputed rather than trusted, and a signed `x-acs-content-sha256` that disagrees with it
/// is a mismatch.
#[must_use = "ignoring a verification accepts any request"]
pub fn v3(
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
    let hashed_payload = aliyun_v3::hex_sha256(body);
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
    let expected = aliyun_v3::signature_of(
        method,
        path,
        &percent::canonical_query(query),
        &signed,
        &hashed_payload,
        access_key_secret,
    );
    if signatures_match(&expected, authorization.signature) {
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
    let rest = value.strip_prefix("ACS3-HMAC-SHA256")?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use rtc_golive_core::signing::random_hex_nonce;
    use std::time::SystemTime;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn match_is_exact() {
        assert!(signatures_match("abc", "abc"));
        assert!(!signatures_match("abc", "abd"));
        assert!(!signatures_match("abc", "abcd"));
    }

    #[test]
    fn parse_query_inverts_canonical_query() {
        let params: BTreeMap<String, String> = [
            ("DisplayName", "主播小明 🎥"),
            ("Url", "rtmp://h/app?k=v&x=*~+"),
            ("Empty", ""),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(
            parse_query(&percent::canonical_query(&params)),
            Some(params)
        );
    }

    #[test]
    fn parse_query_keeps_plus_rejects_duplicates_and_bad_utf8() {
        let parsed = parse_query("a=1+2&b&&c=%20").unwrap();
        assert_eq!(parsed["a"], "1+2");
        assert_eq!(parsed["b"], "");
        assert_eq!(parsed["c"], " ");
        assert_eq!(parse_query("a=1&a=2"), None);
        assert_eq!(parse_query("a=%FF"), None);
    }

    #[test]
    fn signed_query_round_trips_through_the_verifier() {
        let params = map(&[("ChannelId", "room_1"), ("DisplayName", "主播小明 🎥")]);
        let call = aliyun_rpc::RpcCall {
            method: "GET",
            action: "CreateRoomRealTimeStreamAddress",
            version: "2016-11-01",
            params: &params,
        };
        let query = aliyun_rpc::signed_query(
            &call,
            "id",
            "secret",
            &random_hex_nonce(16),
            SystemTime::now(),
        );
        let received = parse_query(&query).expect("well-formed query");
        assert_eq!(received["DisplayName"], "主播小明 🎥");
        assert!(rpc("GET", &received, "secret"));

        assert!(!rpc("POST", &received, "secret"));
        assert!(!rpc("GET", &received, "secreT"));
        assert!(!rpc("GET", &received, "secret "));

        let mut tampered = received.clone();
        tampered.insert("ChannelId".to_owned(), "room_2".to_owned());
        assert!(!rpc("GET", &tampered, "secret"));

        let mut unsigned = received.clone();
        unsigned.remove("Signature");
        assert!(!rpc("GET", &unsigned, "secret"));

        let mut extra = received;
        extra.insert("Extra".to_owned(), String::new());
        assert!(!rpc("GET", &extra, "secret"));
    }

    /// Signs a POST with a body and returns what a server would receive, decoded.
    fn received(secret: &str) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
        let query = map(&[("ChannelId", "room_1"), ("DisplayName", "主播小明 🎥")]);
        let request = aliyun_v3::V3Request {
            method: "POST",
            host: "live.aliyuncs.com",
            path: "/",
            action: "CreateRoomRealTimeStreamAddress",
            version: "2016-11-01",
            query: &query,
            body: b"UserId=obs-1",
        };
        let signed = aliyun_v3::sign_request(
            &request,
            "LTAIexample",
            secret,
            &random_hex_nonce(16),
            SystemTime::now(),
        );
        let query = parse_query(&signed.query).expect("well-formed query");
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
        assert_eq!(v3("POST", "/", &query, &headers, body, "secret"), valid());

        assert_eq!(v3("GET", "/", &query, &headers, body, "secret"), mismatch());
        assert_eq!(
            v3("POST", "/x", &query, &headers, body, "secret"),
            mismatch()
        );
        assert_eq!(
            v3("POST", "/", &query, &headers, body, "secreT"),
            mismatch()
        );
        assert_eq!(
            v3("POST", "/", &query, &headers, b"UserId=obs-2", "secret"),
            mismatch()
        );

        let mut tampered = query.clone();
        tampered.insert("ChannelId".to_owned(), "room_2".to_owned());
        assert_eq!(
            v3("POST", "/", &tampered, &headers, body, "secret"),
            mismatch()
        );

        let mut extra = query.clone();
        extra.insert("Extra".to_owned(), String::new());
        assert_eq!(
            v3("POST", "/", &extra, &headers, body, "secret"),
            mismatch()
        );

        let mut other_action = headers.clone();
        other_action.insert("x-acs-action".to_owned(), "DeleteChannel".to_owned());
        assert_eq!(
            v3("POST", "/", &query, &other_action, body, "secret"),
            mismatch()
        );

        let mut no_host = headers.clone();
        no_host.remove("host");
        assert_eq!(
            v3("POST", "/", &query, &no_host, body, "secret"),
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
            v3("POST", "/", &query, &headers, body, "secret")
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
