//! ZEGOCLOUD go-live in a real OBS: the `zego_rtmp_dispatch` service asks the simulator for
//! push nodes (signed RTMPDispatchV2) and OBS publishes to the node nginx-rtmp serves.

// The test harness (rtc-golive-test-support) is Unix only.
#![cfg(unix)]

use rtc_golive_test_support as common;

use common::fixtures::{sim, SettingsBuilder, ZEGO_SERVER_SECRET, ZEGO_SERVICE};
use common::obs::{VIDEO_HEIGHT, VIDEO_WIDTH};
use common::{Obs, ObsError, ObsOptions, RtmpServer};
use rtc_golive_simulator::Simulator;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const STREAM: &str = "obs_e2e-stream";

/// Service settings pointing at the simulator; cold (no resolving ahead) unless a test says.
fn settings(sim: &Simulator) -> Value {
    SettingsBuilder::zego(&sim.base_url(), STREAM)
        .cold()
        .build()
}

fn launch(settings: Value) -> Obs {
    Obs::launch(ObsOptions::new(ZEGO_SERVICE, settings).with_plugin())
}

#[test]
fn goes_live_on_the_dispatched_node() {
    let rtmp = RtmpServer::start();
    let sim = sim().zego(vec![rtmp.rtmp_url()]).start();
    let mut obs = launch(settings(&sim));

    let requested = Instant::now();
    obs.start_stream().expect("go-live succeeds");
    let publish = rtmp
        .wait_for_publish(Some(STREAM), Duration::from_secs(20))
        .expect("nginx receives the dispatched stream");
    println!(
        "zego cold go-live: StartStream -> publish {:?}",
        publish.time - requested
    );

    let dispatches: Vec<_> = sim
        .zego()
        .requests()
        .into_iter()
        .filter(|r| r.action == "RTMPDispatchV2")
        .collect();
    assert_eq!(dispatches.len(), 1, "one dispatch per go-live");
    let d = &dispatches[0];
    assert_eq!(d.code, 0);
    assert_eq!(d.params["Type"], "push");
    assert_eq!(d.params["StreamId"], STREAM);
    assert_eq!(d.params["IsTest"], "false");
    assert_eq!(d.params["SignatureNonce"].len(), 16);

    let info = rtmp.probe_stream(STREAM).expect("the stream plays");
    assert_eq!(info.video_codec, "h264");
    assert_eq!((info.width, info.height), (VIDEO_WIDTH, VIDEO_HEIGHT));

    obs.stop_stream().expect("stop");
    rtmp.wait_for_publish_done(Some(STREAM), Duration::from_secs(10))
        .expect("publish ends");

    let go_live = obs.last_go_live();
    assert_eq!(go_live["provider"], ZEGO_SERVICE, "{go_live}");
    assert_eq!(go_live["ok"], true, "{go_live}");
    assert_eq!(
        go_live["node"],
        format!("127.0.0.1:{}", rtmp.port()),
        "{go_live}"
    );
    assert!(
        !go_live["requestId"].as_str().unwrap_or_default().is_empty(),
        "{go_live}"
    );
    assert!(go_live["latencyMs"].is_u64(), "{go_live}");

    // The log as a streamer shares it: the plugin's go-live line, and no secret.
    let log = obs.log_text();
    assert!(
        log.lines()
            .any(|l| l.contains("go-live: provider=zegocloud")),
        "the go-live line is missing from the log"
    );
    assert!(
        !log.contains(ZEGO_SERVER_SECRET),
        "the ServerSecret reached the log"
    );
    assert!(
        !log.contains(&d.params["Signature"]),
        "a signature reached the log"
    );
    assert_eq!(obs.quit().code(), Some(0));
}

#[test]
fn vendor_error_refuses_the_start_with_code_and_action() {
    let rtmp = RtmpServer::start();
    let sim = sim().zego(vec![rtmp.rtmp_url()]).start();
    sim.zego().fail_next("RTMPDispatchV2", 1002, 1);
    let mut obs = launch(settings(&sim));

    match obs.start_stream() {
        Err(ObsError::StartFailed {
            last_error: Some(text),
        }) => {
            assert!(
                text.contains("ZEGOCLOUD refused the request (code 1002)"),
                "{text}"
            );
        }
        other => panic!("expected a refused start with a Last Error, got {other:?}"),
    }
    // The whole refusal, with what to do and the RequestId.
    let go_live = obs.last_go_live();
    let error = go_live["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("What to do: RTMP dispatch must be enabled for your AppID"),
        "{go_live}"
    );
    assert!(error.contains("RequestId: "), "{go_live}");
    assert_eq!(go_live["ok"], false, "{go_live}");
    assert_eq!(sim.zego().requests()[0].code, 1002);
    assert!(
        rtmp.wait_for_publish(None, Duration::from_secs(2))
            .is_none(),
        "nothing published"
    );
    assert_eq!(obs.quit().code(), Some(0));
}

#[test]
fn invalid_stream_id_sends_no_request_and_names_the_field() {
    let rtmp = RtmpServer::start();
    let sim = sim().zego(vec![rtmp.rtmp_url()]).start();
    let mut s = settings(&sim);
    s["stream_id"] = json!("has space/and slash");
    let mut obs = launch(s);

    match obs.start_stream() {
        Err(ObsError::StartFailed {
            last_error: Some(text),
        }) => {
            assert!(text.contains("Stream ID"), "{text}");
        }
        other => panic!("expected a refused start, got {other:?}"),
    }
    assert!(
        sim.zego().requests().is_empty(),
        "no request may reach the API"
    );
    assert_eq!(obs.quit().code(), Some(0));
}

#[test]
fn dead_first_node_is_skipped() {
    let rtmp = RtmpServer::start();
    let dead_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let sim = sim()
        .zego(vec![
            format!("rtmp://127.0.0.1:{dead_port}/live"),
            rtmp.rtmp_url(),
        ])
        .start();
    let mut obs = launch(settings(&sim));

    obs.start_stream()
        .expect("go-live succeeds on the second node");
    rtmp.wait_for_publish(Some(STREAM), Duration::from_secs(20))
        .expect("publish on the live node");
    obs.assert_went_live_on(&format!("127.0.0.1:{}", rtmp.port()));
    obs.stop_stream().expect("stop");
    assert_eq!(obs.quit().code(), Some(0));
}

#[test]
fn chinese_ui_gets_chinese_errors() {
    let sim = sim().zego(vec!["rtmp://127.0.0.1:1/live".into()]).start();
    let mut s = settings(&sim);
    s["app_id"] = json!(0);
    let mut obs = Obs::launch(
        ObsOptions::new(ZEGO_SERVICE, s)
            .with_plugin()
            .with_ui_language("zh-CN"),
    );
    match obs.start_stream() {
        Err(ObsError::StartFailed {
            last_error: Some(text),
        }) => {
            assert!(text.contains("为空"), "expected the zh-CN text, got {text}");
        }
        other => panic!("expected a refused start, got {other:?}"),
    }
    assert_eq!(obs.quit().code(), Some(0));
}

#[test]
fn warm_go_live_uses_the_node_resolved_ahead() {
    let rtmp = RtmpServer::start();
    let sim = sim().zego(vec![rtmp.rtmp_url()]).start();
    let mut s = settings(&sim);
    s["prefetch"] = json!(true);
    let mut obs = launch(s);
    obs.wait_for_log("resolved ahead: node", Duration::from_secs(20))
        .expect("resolves ahead");
    let before = sim.zego().requests().len();

    obs.start_stream().expect("warm go-live");
    rtmp.wait_for_publish(Some(STREAM), Duration::from_secs(20))
        .expect("publish");
    assert!(obs.log_text().contains("using the node resolved ahead"));
    let dispatched_during_start = sim.zego().requests()[before..]
        .iter()
        .filter(|r| r.action == "RTMPDispatchV2" && r.at < std::time::SystemTime::now())
        .count();
    // The task resolves the next node after this one was taken; Start Streaming itself made
    // no call, which the log line above shows. At most that one refill may have happened.
    assert!(dispatched_during_start <= 1, "{dispatched_during_start}");
    obs.stop_stream().expect("stop");
    assert_eq!(obs.quit().code(), Some(0));
}
