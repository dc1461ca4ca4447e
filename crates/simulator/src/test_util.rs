//! Building signed ZEGOCLOUD queries for the simulator's own tests.

use std::time::{SystemTime, UNIX_EPOCH};

use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};

use super::ZegoApp;
use rtc_golive_core::signing::{random_hex_nonce, zego::sign};

/// A production app with the secret of ZEGO's official signature vector.
pub(crate) const APP_ID: u32 = 1_540_531_164;
pub(crate) const SECRET: &str = "9193cc662a4c0ec135ec71fb57194b38";
/// A test-environment app.
pub(crate) const TEST_APP_ID: u32 = 123_456_789;
pub(crate) const TEST_SECRET: &str = "0123456789abcdef0123456789abcdef";

pub(crate) fn apps() -> Vec<ZegoApp> {
    vec![
        ZegoApp {
            app_id: APP_ID,
            server_secret: SECRET.to_owned(),
            test_env: false,
        },
        ZegoApp {
            app_id: TEST_APP_ID,
            server_secret: TEST_SECRET.to_owned(),
            test_env: true,
        },
    ]
}

pub(crate) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64
}

/// The common parameters of a correctly signed call, in the order a client sends them.
pub(crate) fn signed(
    app_id: u32,
    secret: &str,
    action: &str,
    timestamp: i64,
) -> Vec<(String, String)> {
    let nonce = random_hex_nonce(8);
    let signature = sign(app_id, &nonce, secret, timestamp);
    [
        ("Action", action.to_owned()),
        ("AppId", app_id.to_string()),
        ("SignatureNonce", nonce),
        ("Timestamp", timestamp.to_string()),
        ("Signature", signature),
        ("SignatureVersion", "2.0".to_owned()),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value))
    .collect()
}

/// `signed` plus the action's own parameters.
pub(crate) fn signed_with(
    app_id: u32,
    secret: &str,
    action: &str,
    timestamp: i64,
    extra: &[(&str, &str)],
) -> Vec<(String, String)> {
    let mut params = signed(app_id, secret, action, timestamp);
    params.extend(
        extra
            .iter()
            .map(|&(name, value)| (name.to_owned(), value.to_owned())),
    );
    params
}

/// Replaces (or adds) one parameter.
pub(crate) fn set(params: &mut Vec<(String, String)>, name: &str, value: &str) {
    match params.iter_mut().find(|(n, _)| n == name) {
        Some(pair) => pair.1 = value.to_owned(),
        None => params.push((name.to_owned(), value.to_owned())),
    }
}

/// Removes one parameter.
pub(crate) fn remove(params: &mut Vec<(String, String)>, name: &str) {
    params.retain(|(n, _)| n != name);
}

/// Percent-encodes the pairs into a query string.
pub(crate) fn query(params: &[(String, String)]) -> String {
    params
        .iter()
        .map(|(name, value)| {
            format!(
                "{}={}",
                utf8_percent_encode(name, NON_ALPHANUMERIC),
                utf8_percent_encode(value, NON_ALPHANUMERIC)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}
