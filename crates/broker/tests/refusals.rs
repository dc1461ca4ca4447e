//! What the broker refuses, with which code, and that nothing reaches the vendor when it does:
//! tokens (missing, tampered, foreign algorithm, `alg: none`, expired, wrong audience,
//! revoked), the per-streamer limit, and vendor errors mapped to 502 / 503.

// The test harness (rtc-golive-test-support) is Unix only.
#![cfg(unix)]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rtc_golive_broker::token::{Claims, ZegoPin};
use rtc_golive_test_support::broker::{BROKER_AUDIENCE, BROKER_HS256_KEY};
use rtc_golive_test_support::fixtures::sim;
use rtc_golive_test_support::{Broker, BrokerOptions, TokenPin};
use serde_json::json;
use std::time::{SystemTime, UNIX_EPOCH};

fn options() -> BrokerOptions {
    BrokerOptions::new().binary(env!("CARGO_BIN_EXE_rtc-golive-broker"))
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn claims(exp: u64, aud: &str) -> Claims {
    Claims {
        sub: "mallory".into(),
        aud: aud.into(),
        exp,
        iat: now(),
        jti: "forged-jti".into(),
        zego: Some(ZegoPin {
            stream_id: "mallory-main".into(),
            cdn_urls: vec![],
            play: vec![],
            cdn_required: false,
        }),
        aliyun: None,
    }
}

fn sign(alg: Algorithm, claims: &Claims, key: &[u8]) -> String {
    jsonwebtoken::encode(&Header::new(alg), claims, &EncodingKey::from_secret(key)).unwrap()
}

#[test]
fn bad_tokens_are_refused_with_their_code_and_no_vendor_call() {
    let sim = sim()
        .zego(vec!["rtmp://127.0.0.1:1935/live".into()])
        .start();
    let broker = Broker::start(options().zego(&sim.base_url()));
    let key = BROKER_HS256_KEY.as_bytes();
    let good = broker.token("alice", &TokenPin::zego("alice-main"));

    // The payload re-encoded with another stream id, the signature kept.
    let tampered_payload = {
        let parts: Vec<&str> = good.split('.').collect();
        let mut payload: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        payload["zego"]["stream_id"] = json!("someone-else");
        let payload = URL_SAFE_NO_PAD.encode(payload.to_string());
        format!("{}.{payload}.{}", parts[0], parts[2])
    };
    let alg_none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#),
        good.split('.').nth(1).unwrap()
    );
    let cases: Vec<(&str, Option<String>, u16, &str)> = vec![
        ("no token", None, 401, "token_missing"),
        ("garbage", Some("garbage".into()), 401, "token_invalid"),
        (
            "tampered payload",
            Some(tampered_payload),
            401,
            "token_invalid",
        ),
        ("alg none", Some(alg_none), 401, "token_invalid"),
        (
            "HS512",
            Some(sign(
                Algorithm::HS512,
                &claims(now() + 600, BROKER_AUDIENCE),
                key,
            )),
            401,
            "token_invalid",
        ),
        (
            "another key",
            Some(sign(
                Algorithm::HS256,
                &claims(now() + 600, BROKER_AUDIENCE),
                b"another-key-0123456789abcdef-0123456789",
            )),
            401,
            "token_invalid",
        ),
        (
            "expired beyond the leeway",
            Some(sign(
                Algorithm::HS256,
                &claims(now() - 120, BROKER_AUDIENCE),
                key,
            )),
            401,
            "token_expired",
        ),
        (
            "wrong audience",
            Some(sign(
                Algorithm::HS256,
                &claims(now() + 600, "another-platform"),
                key,
            )),
            401,
            "token_audience",
        ),
    ];
    for (what, token, status, code) in &cases {
        for path in ["/v1/golive", "/v1/live", "/v1/stop"] {
            let reply = broker.post(path, token.as_deref(), &json!({"session": "s"}));
            // A token that expired or was revoked may still end its own sessions: the stop is
            // answered for the session (here: one never opened).
            let ending = path == "/v1/stop" && ["token_expired", "token_revoked"].contains(code);
            let expected = if ending {
                (404, "session_unknown")
            } else {
                (*status, *code)
            };
            assert_eq!(
                (reply.status, reply.code()),
                expected,
                "{what} on {path}: {:?}",
                reply.body
            );
        }
    }
    assert!(
        sim.zego().requests().is_empty(),
        "a refused token reached the vendor: {:?}",
        sim.zego().requests()
    );

    // Within the 60 s leeway, an expired token still passes.
    let late = sign(Algorithm::HS256, &claims(now() - 30, BROKER_AUDIENCE), key);
    assert_eq!(
        broker.golive(Some(&late), &json!({"ahead": true})).status,
        200
    );
    let good_reply = broker.golive(Some(&good), &json!({"ahead": true}));
    assert_eq!(good_reply.status, 200, "{:?}", good_reply.body);
}

#[test]
fn a_revoked_token_is_refused_and_others_still_work() {
    let sim = sim()
        .zego(vec!["rtmp://127.0.0.1:1935/live".into()])
        .start();
    let broker = Broker::start(options().zego(&sim.base_url()));
    let minted = broker.mint("alice", &TokenPin::zego("alice-main"), Some("2h"));
    let other = broker.token("bob", &TokenPin::zego("bob-main"));
    let start = broker.golive(Some(&minted.token), &json!({}));
    assert_eq!(start.status, 200, "{:?}", start.body);
    let session = start.body["session"].as_str().unwrap().to_owned();

    // Without Redis, `revoke` goes through the running broker's admin API.
    broker.revoke(&minted.jti);
    sim.zego().clear_requests();
    let refused = broker.golive(Some(&minted.token), &json!({"fresh": true}));
    assert_eq!((refused.status, refused.code()), (401, "token_revoked"));
    assert_eq!(broker.live(&minted.token, &session).code(), "token_revoked");
    assert!(sim.zego().requests().is_empty());
    assert_eq!(
        broker.golive(Some(&other), &json!({"ahead": true})).status,
        200
    );
    assert!(broker.output().contains(&format!("jti={}", minted.jti)));

    let wrong_admin = broker.post(
        "/v1/admin/revoke",
        Some("not-the-admin-key-0123456789"),
        &json!({"jti": "x"}),
    );
    assert_eq!(
        (wrong_admin.status, wrong_admin.code()),
        (401, "token_invalid")
    );
}

#[test]
fn the_cli_refuses_what_the_broker_could_not_serve() {
    let sim = sim()
        .zego(vec!["rtmp://127.0.0.1:1935/live".into()])
        .start();
    let broker = Broker::start(options().zego(&sim.base_url()));
    let args = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let (ok, stdout, stderr) = broker.cli(
        "token",
        &args(&["--sub", "a", "--zego-stream-id", "bad/stream"]),
    );
    assert!(!ok && stdout.is_empty(), "{stderr}");
    assert!(stderr.contains("stream_id"), "{stderr}");
    let (ok, _, stderr) = broker.cli(
        "token",
        &args(&[
            "--sub",
            "a",
            "--aliyun-channel",
            "c",
            "--aliyun-user",
            "u",
            "--aliyun-display-name",
            "n",
        ]),
    );
    assert!(!ok && stderr.contains("[aliyun]"), "{stderr}");
    let (ok, _, stderr) = broker.cli(
        "token",
        &args(&[
            "--sub",
            "a",
            "--zego-stream-id",
            "s",
            "--aliyun-channel",
            "c",
        ]),
    );
    assert!(!ok && stderr.contains("cannot be used with"), "{stderr}");
    let (ok, _, stderr) = broker.cli(
        "token",
        &args(&["--sub", "a", "--zego-stream-id", "s", "--ttl", "400d"]),
    );
    assert!(!ok && stderr.contains("366 days"), "{stderr}");
}

#[test]
fn the_per_streamer_limit_answers_429_with_retry_after() {
    let sim = sim()
        .zego(vec!["rtmp://127.0.0.1:1935/live".into()])
        .start();
    let broker = Broker::start(
        options()
            .zego(&sim.base_url())
            .set("limits", "sub_golives_per_minute", "2")
            .set("limits", "sub_burst", "2"),
    );
    let alice = broker.token("alice", &TokenPin::zego("alice-main"));
    let alice_again = broker.token("alice", &TokenPin::zego("alice-second"));
    let bob = broker.token("bob", &TokenPin::zego("bob-main"));
    for _ in 0..2 {
        assert_eq!(
            broker.golive(Some(&alice), &json!({"ahead": true})).status,
            200
        );
    }
    let before = sim.zego().requests().len();
    // The limit is the streamer's, whichever of their tokens asks.
    let limited = broker.golive(Some(&alice_again), &json!({"ahead": true}));
    assert_eq!((limited.status, limited.code()), (429, "rate_limited"));
    let retry: u64 = limited.retry_after.as_deref().unwrap().parse().unwrap();
    assert!((1..=30).contains(&retry), "Retry-After {retry}");
    assert_eq!(limited.body["error"]["retry_after_seconds"], retry);
    assert_eq!(sim.zego().requests().len(), before, "no vendor call");
    assert_eq!(
        broker.golive(Some(&bob), &json!({"ahead": true})).status,
        200
    );
}

#[test]
fn vendor_errors_carry_the_vendor_code() {
    let sim = sim()
        .zego(vec!["rtmp://127.0.0.1:1935/live".into()])
        .start();
    let broker = Broker::start(options().zego(&sim.base_url()));
    let token = broker.token("alice", &TokenPin::zego("alice-main"));
    sim.zego().fail_next("RTMPDispatchV2", 1005, 1);
    let refused = broker.golive(Some(&token), &json!({}));
    assert_eq!((refused.status, refused.code()), (502, "vendor_error"));
    assert_eq!(refused.body["error"]["vendor_code"], "1005");
    let message = refused.body["error"]["message"].as_str().unwrap();
    assert!(message.contains("1005"), "{message}");
    assert!(
        !message.contains("Error.Zego"),
        "an untranslated key: {message}"
    );

    // The vendor cannot be reached: 503 with Retry-After.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://127.0.0.1:{}", dead.local_addr().unwrap().port());
    drop(dead);
    let unreachable = Broker::start(options().zego(&endpoint));
    let token = unreachable.token("alice", &TokenPin::zego("alice-main"));
    let refused = unreachable.golive(Some(&token), &json!({}));
    assert_eq!((refused.status, refused.code()), (503, "unavailable"));
    assert!(refused.retry_after.is_some());

    // A token for a provider the broker does not serve.
    let aliyun_token = {
        let aliyun_broker = Broker::start(options().aliyun(&sim.base_url(), "app"));
        let room = rtc_golive_test_support::fixtures::AliyunRoom {
            app_id: "app",
            channel_id: "c",
            user_id: "u",
            display_name: "n",
        };
        aliyun_broker.token("alice", &TokenPin::aliyun(room))
    };
    let refused = broker.golive(Some(&aliyun_token), &json!({}));
    assert_eq!((refused.status, refused.code()), (403, "forbidden"));

    let bad_body = broker.post(
        "/v1/live",
        Some(&broker.token("a", &TokenPin::zego("a"))),
        &json!({"nope": 1}),
    );
    assert_eq!((bad_body.status, bad_body.code()), (400, "bad_request"));
}
