//! The streamer's address reaches ZEGOCLOUD's dispatch as `ClientIP`, so that the nodes are
//! near the streamer and not near the broker: the connection's peer, or behind a reverse proxy
//! the value it added to the header the config names. A real broker process against the
//! simulator; the test's connections come from loopback, which is never passed on.

// The test harness (rtc-golive-test-support) is Unix only.
#![cfg(unix)]

use rtc_golive_test_support::fixtures::sim;
use rtc_golive_test_support::{Broker, BrokerOptions, TokenPin};
use serde_json::json;

const NODES: [&str; 1] = ["rtmp://127.0.0.1:1935/live"];
/// ZEGOCLOUD's own example of a ClientIP.
const STREAMER: &str = "119.23.242.129";
const ELSEWHERE: &str = "8.8.8.8";

fn options() -> BrokerOptions {
    BrokerOptions::new().binary(env!("CARGO_BIN_EXE_rtc-golive-broker"))
}

/// The `ClientIP` of every dispatch the simulator received, in order (`None`: left out).
fn client_ips(sim: &rtc_golive_simulator::Simulator) -> Vec<Option<String>> {
    sim.zego()
        .requests()
        .iter()
        .filter(|r| r.action == "RTMPDispatchV2")
        .map(|r| r.params.get("ClientIP").cloned())
        .collect()
}

#[test]
fn without_a_proxy_header_the_peer_counts_and_a_forged_header_is_ignored() {
    let sim = sim().zego(NODES.map(str::to_owned).to_vec()).start();
    sim.zego().set_stream_live("guest", true);
    let broker = Broker::start(options().zego(&sim.base_url()));
    let token = broker.token("alice", &TokenPin::zego_playing("alice-main", &["guest"]));
    let forged = [("X-Forwarded-For", STREAMER)];

    let live = broker.post_with("/v1/golive", Some(&token), &json!({"ahead": true}), &forged);
    assert_eq!(live.status, 200, "{:?}", live.body);
    let play = broker.post_with(
        "/v1/play",
        Some(&token),
        &json!({"stream_id": "guest"}),
        &forged,
    );
    assert_eq!(play.status, 200, "{:?}", play.body);
    // The peer is 127.0.0.1: no ClientIP, and the vendor uses the caller's address.
    assert_eq!(client_ips(&sim), vec![None, None]);
}

#[test]
fn behind_a_proxy_the_address_it_added_is_the_client_ip() {
    let sim = sim().zego(NODES.map(str::to_owned).to_vec()).start();
    sim.zego().set_stream_live("guest", true);
    let broker = Broker::start(
        options()
            .zego(&sim.base_url())
            .client_ip_header("X-Forwarded-For"),
    );
    let token = broker.token("alice", &TokenPin::zego_playing("alice-main", &["guest"]));
    let via_proxy = |client: &str| format!("6.6.6.6, {client}");

    let from_streamer = via_proxy(STREAMER);
    let proxied = [("X-Forwarded-For", from_streamer.as_str())];
    let ahead = broker.post_with(
        "/v1/golive",
        Some(&token),
        &json!({"ahead": true}),
        &proxied,
    );
    assert_eq!(ahead.status, 200, "{:?}", ahead.body);
    let start = broker.post_with("/v1/golive", Some(&token), &json!({}), &proxied);
    assert_eq!(start.status, 200, "{:?}", start.body);
    let play = broker.post_with(
        "/v1/play",
        Some(&token),
        &json!({"stream_id": "guest"}),
        &proxied,
    );
    assert_eq!(play.status, 200, "{:?}", play.body);
    assert_eq!(
        client_ips(&sim),
        vec![Some(STREAMER.to_owned()), Some(STREAMER.to_owned())],
        "the start reused the dispatch resolved ahead from the same address"
    );

    // Nodes dispatched for one address are not handed to a go-live from another.
    let moved = via_proxy(ELSEWHERE);
    let again = broker.post_with(
        "/v1/golive",
        Some(&token),
        &json!({"ahead": true}),
        &[("X-Forwarded-For", moved.as_str())],
    );
    assert_eq!(again.status, 200, "{:?}", again.body);
    // A private address (the proxy saw a client on its own network) is left out.
    let inside = broker.post_with(
        "/v1/golive",
        Some(&token),
        &json!({"ahead": true}),
        &[("X-Forwarded-For", "10.1.2.3")],
    );
    assert_eq!(inside.status, 200, "{:?}", inside.body);
    assert_eq!(client_ips(&sim)[2..], [Some(ELSEWHERE.to_owned()), None]);
    let session = start.body["session"].as_str().expect("a session");
    assert_eq!(broker.stop(&token, session).status, 200);
}
