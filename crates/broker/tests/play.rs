//! `/v1/play` through a real broker process against the simulator: a stream the token may play
//! gets the vendor's playing nodes; any other stream is refused before the vendor is asked.

// The test harness (rtc-golive-test-support) is Unix only.
#![cfg(unix)]

use rtc_golive_test_support::fixtures::sim;
use rtc_golive_test_support::{Broker, BrokerOptions, TokenPin};

const NODES: [&str; 2] = ["rtmp://127.0.0.1:1935/live", "rtmp://127.0.0.2:1935/live"];

fn options() -> BrokerOptions {
    BrokerOptions::new().binary(env!("CARGO_BIN_EXE_rtc-golive-broker"))
}

#[test]
fn a_stream_the_token_may_play_gets_its_playing_nodes() {
    let sim = sim().zego(NODES.map(str::to_owned).to_vec()).start();
    sim.zego().set_stream_live("guest", true);
    let broker = Broker::start(options().zego(&sim.base_url()));
    let token = broker.token("alice", &TokenPin::zego_playing("alice-main", &["guest"]));

    let play = broker.play(&token, "guest");
    assert_eq!(play.status, 200, "{:?}", play.body);
    assert_eq!(
        play.body["urls"],
        serde_json::json!([
            "rtmp://127.0.0.1:1935/live/guest",
            "rtmp://127.0.0.2:1935/live/guest"
        ])
    );
    assert!(play.body["valid_until"].as_u64().unwrap() > 0);
    let requests = sim.zego().requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].action, "RTMPDispatchV2");
    assert_eq!(requests[0].params["StreamId"], "guest");
    assert_eq!(requests[0].params["Type"], "pull");
    assert_eq!(requests[0].code, 0);
    assert!(!play.body["request_id"].as_str().unwrap().is_empty());

    // Nobody publishes it any more: the vendor's 1003 ("playing node is empty") is said as
    // such, with the vendor's code.
    sim.zego().set_stream_live("guest", false);
    let gone = broker.play(&token, "guest");
    assert_eq!((gone.status, gone.code()), (404, "not_published"));
    assert_eq!(gone.body["error"]["vendor_code"], "1003");
}

#[test]
fn a_stream_the_token_does_not_list_is_forbidden_without_a_vendor_call() {
    let sim = sim().zego(NODES.map(str::to_owned).to_vec()).start();
    sim.zego().set_stream_live("other", true);
    sim.zego().set_stream_live("alice-main", true);
    let broker = Broker::start(options().zego(&sim.base_url()));
    let playing = broker.token("alice", &TokenPin::zego_playing("alice-main", &["guest"]));
    let plain = broker.token("bob", &TokenPin::zego("bob-main"));

    for (token, stream) in [
        (&playing, "other"),
        (&playing, "alice-main"),
        (&plain, "guest"),
    ] {
        let refused = broker.play(token, stream);
        assert_eq!(
            (refused.status, refused.code()),
            (403, "forbidden"),
            "{stream}: {:?}",
            refused.body
        );
    }
    let no_token = broker.post("/v1/play", None, &serde_json::json!({"stream_id": "guest"}));
    assert_eq!((no_token.status, no_token.code()), (401, "token_missing"));
    assert_eq!(
        sim.zego().requests().len(),
        0,
        "no vendor call for a refusal"
    );
}
