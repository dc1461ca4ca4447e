//! Go-live through a real broker process against the simulator: both providers, reuse within
//! validity, heartbeat and stop, and the CDN forwards the broker holds for a session.

// The test harness (rtc-golive-test-support) is Unix only.
#![cfg(unix)]

use rtc_golive_test_support::fixtures::{sim, AliyunRoom};
use rtc_golive_test_support::{Broker, BrokerOptions, TokenPin};
use serde_json::json;

const NODES: [&str; 2] = ["rtmp://127.0.0.1:1935/live", "rtmp://127.0.0.2:1935/live"];

fn options() -> BrokerOptions {
    BrokerOptions::new().binary(env!("CARGO_BIN_EXE_rtc-golive-broker"))
}

fn dispatches(sim: &rtc_golive_simulator::Simulator) -> usize {
    sim.zego()
        .requests()
        .iter()
        .filter(|r| r.action == "RTMPDispatchV2")
        .count()
}

#[test]
fn zego_go_live_heartbeat_and_stop() {
    let sim = sim().zego(NODES.map(str::to_owned).to_vec()).start();
    let broker = Broker::start(options().zego(&sim.base_url()));
    let token = broker.token("alice", &TokenPin::zego("alice-main"));

    let ahead = broker.golive(Some(&token), &json!({"ahead": true}));
    assert_eq!(ahead.status, 200, "{:?}", ahead.body);
    let body = &ahead.body;
    assert_eq!(body["provider"], "zego");
    assert_eq!(body["server"], NODES[0]);
    assert_eq!(body["key"], "alice-main");
    assert_eq!(body["alternates"][0]["server"], NODES[1]);
    assert_eq!(body["alternates"][0]["key"], "alice-main");
    assert!(
        body.get("session").is_none(),
        "an ahead answer opens no session"
    );
    assert_eq!(dispatches(&sim), 1);
    let sent = &sim.zego().requests()[0];
    assert_eq!(sent.params["StreamId"], "alice-main");
    assert_eq!(sent.params["Type"], "push");

    // Start Streaming after resolving ahead: the dispatch is reused, a session opens.
    let start = broker.golive(Some(&token), &json!({}));
    assert_eq!(start.status, 200, "{:?}", start.body);
    assert_eq!(dispatches(&sim), 1, "the dispatch resolved ahead is reused");
    assert_ne!(start.body["request_id"], body["request_id"]);
    assert_eq!(start.body["heartbeat_seconds"], 20);
    let session = start.body["session"]
        .as_str()
        .expect("a session")
        .to_owned();

    let live = broker.live(&token, &session);
    assert_eq!(live.status, 200, "{:?}", live.body);
    assert_eq!(live.body["lease_seconds"], 60);

    // A reconnect after the node failed asks the vendor again.
    let fresh = broker.golive(Some(&token), &json!({"fresh": true, "ahead": true}));
    assert_eq!(fresh.status, 200, "{:?}", fresh.body);
    assert_eq!(dispatches(&sim), 2);

    let stop = broker.stop(&token, &session);
    assert_eq!((stop.status, &stop.body), (200, &json!({})));
    let again = broker.stop(&token, &session);
    assert_eq!(
        (again.status, &again.body),
        (200, &json!({"already_stopped": true})),
        "a repeated stop says so"
    );
    let lapsed = broker.live(&token, &session);
    assert_eq!((lapsed.status, lapsed.code()), (404, "session_unknown"));

    // SIGTERM ends it cleanly, once its vendor client has been used.
    let mut broker = broker;
    let status = broker.stop_process().expect("the broker exits on SIGTERM");
    let log = broker.output();
    assert!(status.success(), "{status}; log:\n{log}");
    assert!(!log.contains("panicked"), "log:\n{log}");
}

#[test]
fn aliyun_go_live_reuses_the_address_until_fresh() {
    let sim = sim().aliyun("rtmp://127.0.0.1:1935/live").start();
    let broker = Broker::start(options().aliyun(&sim.base_url(), "artc-app"));
    let room = AliyunRoom {
        app_id: "artc-app",
        channel_id: "room-7",
        user_id: "bob",
        display_name: "Bob",
    };
    let token = broker.token("bob", &TokenPin::aliyun(room));

    let first = broker.golive(Some(&token), &json!({}));
    assert_eq!(first.status, 200, "{:?}", first.body);
    assert_eq!(first.body["provider"], "aliyun");
    assert!(first.body["server"]
        .as_str()
        .unwrap()
        .starts_with("rtmp://127.0.0.1:1935/live"));
    assert!(first.body["key"].as_str().unwrap().contains("auth_key="));
    assert!(first.body["valid_until"].as_u64().unwrap() > 0);
    assert_eq!(sim.aliyun().create_calls(), 1);
    let params = &sim.aliyun().requests()[0].params;
    assert_eq!(params["ChannelId"], "room-7");
    assert_eq!(params["UserId"], "bob");
    assert_eq!(params["AppId"], "artc-app");

    let second = broker.golive(Some(&token), &json!({}));
    assert_eq!(second.status, 200);
    assert_eq!(
        second.body["key"], first.body["key"],
        "the address is reused"
    );
    assert_eq!(sim.aliyun().create_calls(), 1);

    let fresh = broker.golive(Some(&token), &json!({"fresh": true}));
    assert_eq!(fresh.status, 200);
    assert_eq!(sim.aliyun().create_calls(), 2);
    for reply in [&first, &second, &fresh] {
        let session = reply.body["session"].as_str().unwrap();
        assert_eq!(broker.stop(&token, session).status, 200);
    }
}

/// Heartbeats until the session's forwards stand as `states` (each forward's `state`).
fn wait_for_forwards(broker: &Broker, token: &str, session: &str, states: &[&str]) {
    let mut last = serde_json::Value::Null;
    let reached = rtc_golive_test_support::wait_until(std::time::Duration::from_secs(10), || {
        let beat = broker.live(token, session);
        assert_eq!(beat.status, 200, "{:?}", beat.body);
        last = beat.body["forwards"].clone();
        let now: Vec<&str> = last
            .as_array()
            .map(|f| f.iter().filter_map(|f| f["state"].as_str()).collect())
            .unwrap_or_default();
        (now == states).then_some(())
    });
    assert!(reached.is_some(), "forwards {last}, not {states:?}");
}

#[test]
fn the_session_holds_its_cdn_forwards_until_stop() {
    let sim = sim().zego(vec![NODES[0].to_owned()]).start();
    let broker = Broker::start(options().zego(&sim.base_url()));
    let cdn = [
        "rtmp://cdn.example.com/live/carol?key=CDNKEY1",
        "rtmp://cdn2.example.com/app/carol2",
    ];
    let token = broker.token("carol", &TokenPin::zego_with_cdn("carol-main", &cdn));

    let ahead = broker.golive(Some(&token), &json!({"ahead": true}));
    assert_eq!(ahead.status, 200);
    assert!(
        sim.zego().cdn_rules("carol-main").is_empty(),
        "ahead creates no forward"
    );

    let start = broker.golive(Some(&token), &json!({}));
    assert_eq!(start.status, 200, "{:?}", start.body);
    assert_eq!(start.body["warnings"], json!([]));
    let session = start.body["session"].as_str().unwrap().to_owned();
    // The forwards are created after the answer, in order; the heartbeats say how they stand.
    wait_for_forwards(&broker, &token, &session, &["created", "created"]);
    assert_eq!(sim.zego().cdn_rules("carol-main"), cdn);
    let beat = broker.live(&token, &session);
    assert_eq!(
        beat.body["forwards"],
        json!([
            {"index": 1, "cdn": "rtmp://cdn.example.com/…", "state": "created"},
            {"index": 2, "cdn": "rtmp://cdn2.example.com/…", "state": "created"}
        ])
    );

    // A reconnect's Start Streaming while live joins the session: no second set of forwards,
    // and no duplicate session whose lapse would delete the live stream's forwards.
    let again = broker.golive(Some(&token), &json!({"fresh": true}));
    assert_eq!(again.status, 200, "{:?}", again.body);
    assert_eq!(again.body["session"], session.as_str());
    let creates = sim
        .zego()
        .requests()
        .iter()
        .filter(|r| r.action == "CreatCDNTransferRule")
        .count();
    assert_eq!(creates, cdn.len());

    assert_eq!(broker.stop(&token, &session).status, 200);
    assert!(sim.zego().cdn_rules("carol-main").is_empty());
    let next = broker.golive(Some(&token), &json!({}));
    assert_ne!(
        next.body["session"],
        session.as_str(),
        "a stopped session is not joined"
    );
    let next_session = next.body["session"].as_str().unwrap();
    wait_for_forwards(&broker, &token, next_session, &["created", "created"]);
    assert_eq!(sim.zego().cdn_rules("carol-main"), cdn);
    assert_eq!(
        broker
            .stop(&token, next.body["session"].as_str().unwrap())
            .status,
        200
    );
    assert!(
        !broker.output().contains("CDNKEY1"),
        "a CDN key reached the log"
    );
}
