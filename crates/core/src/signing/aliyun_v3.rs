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

use std::collections::BTreeMap;
use std::time::SystemTime;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use super::aliyun_rpc::utc_timestamp;
use super::percent;

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

/// The signature of a request as received: the canonical request of `method`, `path`, the
/// `canonical_query`, the signed `headers` (lower-case names, sorted) and the body's hash,
/// signed with `access_key_secret`. The verifier's half of [`sign_request`].
pub fn signature_of(
    method: &str,
    path: &str,
    canonical_query: &str,
    headers: &[(&str, &str)],
    hashed_payload: &str,
    access_key_secret: &str,
) -> String {
    let canonical = canonical_request(method, path, canonical_query, headers, hashed_payload);
    signature(access_key_secret, &canonical)
}

/// Lower-case hex SHA-256, as the signature hashes the body and the canonical request.
pub fn hex_sha256(bytes: &[u8]) -> String {
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
}
