//! Nothing secret reaches the broker's stdout, stderr or log: not the vendor secrets, the
//! token key or admin key, the tokens, the request signatures, the ingest addresses' auth_key,
//! nor the CDN URLs' stream keys; through go-lives, refusals, vendor errors and revocation, and
//! in the access log too (a token in the query string or the path included).

// The test harness (rtc-golive-test-support) is Unix only.
#![cfg(unix)]

use rtc_golive_test_support::fixtures::{sim, AliyunRoom};
use rtc_golive_test_support::{Broker, BrokerOptions, TokenPin};
use serde_json::json;

#[test]
fn the_broker_s_output_holds_no_secret() {
    let sim = sim()
        .zego(vec!["rtmp://127.0.0.1:1935/live".into()])
        .aliyun("rtmp://127.0.0.1:1935/live")
        .start();
    let broker = Broker::start(
        BrokerOptions::new()
            .binary(env!("CARGO_BIN_EXE_rtc-golive-broker"))
            .zego(&sim.base_url())
            .aliyun(&sim.base_url(), "artc-app"),
    );
    let cdn_key = "CDNSTREAMKEY-77";
    let cdn = format!("rtmp://cdn.example.com/live/{cdn_key}?token=CDNQUERY-88");
    let zego = broker.mint(
        "alice",
        &TokenPin::zego_with_cdn("alice-main", &[&cdn]),
        None,
    );
    let room = AliyunRoom {
        app_id: "artc-app",
        channel_id: "room-1",
        user_id: "bob",
        display_name: "Bob",
    };
    let aliyun = broker.mint("bob", &TokenPin::aliyun(room), None);

    let start = broker.golive(Some(&zego.token), &json!({}));
    assert_eq!(start.status, 200, "{:?}", start.body);
    let session = start.body["session"].as_str().unwrap().to_owned();
    assert_eq!(broker.live(&zego.token, &session).status, 200);
    assert_eq!(broker.stop(&zego.token, &session).status, 200);
    let address = broker.golive(Some(&aliyun.token), &json!({}));
    assert_eq!(address.status, 200, "{:?}", address.body);
    let auth_key = address.body["key"]
        .as_str()
        .unwrap()
        .split("auth_key=")
        .nth(1)
        .unwrap()
        .to_owned();
    sim.zego().fail_next("RTMPDispatchV2", 100000005, 1);
    assert_eq!(
        broker
            .golive(Some(&zego.token), &json!({"fresh": true}))
            .status,
        502
    );
    let mut tampered = zego.token.clone();
    tampered.push('x');
    assert_eq!(broker.golive(Some(&tampered), &json!({})).status, 401);
    broker.revoke(&aliyun.jti);
    assert_eq!(broker.golive(Some(&aliyun.token), &json!({})).status, 401);
    // A client that puts its token in the query string or the path: the access log names
    // neither (only the known endpoints, never a query).
    let in_query = broker.post(
        &format!("/v1/live?token={}", zego.token),
        Some(&zego.token),
        &json!({"session": session}),
    );
    assert_eq!(in_query.status, 404, "{:?}", in_query.body);
    let in_path = broker.post(&format!("/v1/{}", zego.token), None, &json!({}));
    assert_eq!(in_path.code(), "not_found");

    let mut secrets: Vec<String> = BrokerOptions::secrets()
        .into_iter()
        .map(str::to_owned)
        .collect();
    secrets.extend([
        zego.token.clone(),
        aliyun.token.clone(),
        // A token's signature alone.
        zego.token.rsplit('.').next().unwrap().to_owned(),
        auth_key,
        cdn_key.to_owned(),
        "CDNQUERY-88".to_owned(),
    ]);
    let signatures: Vec<String> = sim
        .zego()
        .requests()
        .iter()
        .filter_map(|r| r.params.get("Signature").cloned())
        .collect();
    assert!(!signatures.is_empty());
    secrets.extend(signatures);

    let output = broker.output();
    assert!(
        output.contains("sub=alice") && output.contains(&zego.jti),
        "{output}"
    );
    assert!(
        output.contains(r#""path":"/v1/golive""#) && output.contains(r#""path":"unmatched""#),
        "the access log is part of what is checked:\n{output}"
    );
    for secret in &secrets {
        assert!(
            !output.contains(secret.as_str()),
            "a secret ({}…) is in the broker's output:\n{output}",
            &secret[..4.min(secret.len())]
        );
    }
    let metrics = broker.metrics();
    for secret in &secrets {
        assert!(!metrics.contains(secret.as_str()));
    }
}
