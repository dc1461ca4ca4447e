//! Operations with the real binary: `admin_listen` takes `/healthz`, `/metrics` and the admin
//! API off the public listener; `/healthz` says `degraded` while Redis is away; `/metrics` has
//! per-endpoint counts and latency; one JSON access line per request.

// The test harness (rtc-golive-test-support) is Unix only.
#![cfg(unix)]

use rtc_golive_test_support::fixtures::sim;
use rtc_golive_test_support::{wait_until, Broker, BrokerOptions, RedisServer, TokenPin};
use serde_json::{json, Value};
use std::time::Duration;

fn access_lines(broker: &Broker) -> Vec<Value> {
    broker
        .output()
        .lines()
        .filter(|line| line.contains(" access] "))
        .map(|line| {
            let json = &line[line.find('{').expect("a JSON object")..];
            serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {line}"))
        })
        .collect()
}

#[test]
fn admin_listen_takes_operations_off_the_public_listener() {
    let sim = sim()
        .zego(vec!["rtmp://127.0.0.1:1935/live".into()])
        .start();
    let broker = Broker::start(
        BrokerOptions::new()
            .binary(env!("CARGO_BIN_EXE_rtc-golive-broker"))
            .zego(&sim.base_url())
            .admin_listen(),
    );
    assert_ne!(broker.admin_url(), broker.url());
    let minted = broker.mint("alice", &TokenPin::zego("alice-main"), None);
    assert_eq!(broker.golive(Some(&minted.token), &json!({})).status, 200);

    for path in ["/healthz", "/metrics"] {
        let public = broker.get(path).unwrap();
        assert_eq!(
            (public.status, public.code()),
            (404, "not_found"),
            "{path} on the public listener: {:?}",
            public.body
        );
    }
    let revoke = broker.post("/v1/admin/revoke", None, &json!({"jti": minted.jti}));
    assert_eq!(revoke.status, 404, "{:?}", revoke.body);
    let health = broker.health();
    assert_eq!(health["status"], "ok", "{health}");
    assert_eq!(health["ok"], true, "{health}");

    // The streamer API is not on the admin listener.
    let on_admin = reqwest::blocking::Client::new()
        .post(format!("{}/v1/golive", broker.admin_url()))
        .bearer_auth(&minted.token)
        .body("{}")
        .send()
        .unwrap();
    assert_eq!(on_admin.status().as_u16(), 404);

    // Two /v1/golive requests: the one answered, and the one the admin listener refused.
    let metrics = broker.metrics();
    for line in [
        "rtc_golive_http_requests_total{endpoint=\"/v1/golive\",status=\"200\"} 1",
        "rtc_golive_http_requests_total{endpoint=\"/healthz\",status=\"404\"} 1",
        "rtc_golive_http_request_duration_seconds_count{endpoint=\"/v1/golive\"} 2",
        "rtc_golive_http_request_duration_seconds_bucket{endpoint=\"/v1/golive\",le=\"+Inf\"} 2",
        "rtc_golive_golives_total{result=\"ok\"} 1",
    ] {
        assert!(metrics.contains(line), "{line} not in\n{metrics}");
    }

    // `revoke` without Redis finds the admin API on admin_listen.
    broker.revoke(&minted.jti);
    let refused = broker.golive(Some(&minted.token), &json!({}));
    assert_eq!(refused.code(), "token_revoked");
}

#[test]
fn health_is_degraded_while_redis_is_away() {
    let mut redis = RedisServer::start();
    let sim = sim()
        .zego(vec!["rtmp://127.0.0.1:1935/live".into()])
        .start();
    let broker = Broker::start(
        BrokerOptions::new()
            .binary(env!("CARGO_BIN_EXE_rtc-golive-broker"))
            .zego(&sim.base_url())
            .redis(&redis.url()),
    );
    let up = wait_until(Duration::from_secs(10), || {
        let health = broker.health();
        (health["status"] == "ok").then_some(health)
    });
    assert!(up.is_some(), "{}", broker.health());
    redis.kill();
    let degraded = wait_until(Duration::from_secs(10), || {
        let reply = broker.get("/healthz").unwrap();
        (reply.body["status"] == "degraded").then_some(reply)
    })
    .unwrap_or_else(|| panic!("never degraded: {}", broker.health()));
    assert_eq!(degraded.status, 200, "a degraded broker still serves");
    assert_eq!(degraded.body["ok"], true);
    assert_eq!(degraded.body["limiter"], "local fallback");
    redis.restart();
    let back = wait_until(Duration::from_secs(15), || {
        (broker.health()["status"] == "ok").then_some(())
    });
    assert!(back.is_some(), "{}", broker.health());
}

#[test]
fn each_request_has_one_json_access_line() {
    let sim = sim()
        .zego(vec!["rtmp://127.0.0.1:1935/live".into()])
        .start();
    let broker = Broker::start(
        BrokerOptions::new()
            .binary(env!("CARGO_BIN_EXE_rtc-golive-broker"))
            .zego(&sim.base_url())
            .client_ip_header("X-Forwarded-For"),
    );
    let token = broker.token("alice", &TokenPin::zego("alice-main"));
    let before = access_lines(&broker).len();
    let answer = broker.post_with(
        "/v1/golive?debug=QUERYSECRET",
        Some(&token),
        &json!({}),
        &[("X-Forwarded-For", "6.6.6.6, 203.0.113.9")],
    );
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let refused = broker.post("/v1/live", None, &json!({"session": "x"}));
    assert_eq!(refused.status, 401);
    let probe = broker.post("/wp-login.php", None, &json!({}));
    assert_eq!(probe.code(), "not_found");

    let lines = wait_until(Duration::from_secs(5), || {
        let lines = access_lines(&broker);
        (lines.len() >= before + 3).then_some(lines)
    })
    .expect("three access lines");
    let lines = &lines[before..];
    assert_eq!(lines[0]["method"], "POST");
    assert_eq!(lines[0]["path"], "/v1/golive", "no query string");
    assert_eq!(lines[0]["status"], 200);
    assert!(lines[0]["duration_ms"].as_f64().unwrap() > 0.0);
    assert_eq!(
        lines[0]["source"], "203.0.113.9",
        "the address the proxy added"
    );
    assert!(lines[0]["peer"].as_str().unwrap().starts_with("127.0.0.1:"));
    assert_eq!(
        (&lines[1]["path"], &lines[1]["status"]),
        (&json!("/v1/live"), &json!(401))
    );
    assert_eq!(lines[1]["source"], Value::Null, "no header: no source");
    assert_eq!(
        lines[2]["path"], "unmatched",
        "a client's path is not logged"
    );
    let output = broker.output();
    assert!(!output.contains("QUERYSECRET") && !output.contains("wp-login"));
}
