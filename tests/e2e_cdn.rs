//! ZEGOCLOUD CDN forwarding follows the stream's life in a real OBS: rules exist before the
//! publish arrives, go away on every stop path, and survive nothing after a crash.

// The test harness (rtc-golive-test-support) is Unix only.
#![cfg(unix)]

use rtc_golive_test_support as common;

use common::fixtures::{sim, SettingsBuilder, ZEGO_SERVICE};
use common::{EventKind, Obs, ObsError, ObsOptions, PublishEvent, RtmpServer};
use rtc_golive_simulator::{Simulator, ZegoControl};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

const STREAM: &str = "cdn-e2e";
const CDN_A: &str = "rtmp://cdn-a.example.com/live/KEY_A_SECRET";
const CDN_B: &str = "rtmps://cdn-b.example.com:443/app/KEY_B_SECRET?token=abc";

/// The simulator, nginx wired to it (publishes drive DescribeRTCStreamState), and the CDN
/// rules the simulator had at the moment each publish arrived.
struct Rig {
    sim: Simulator,
    rtmp: RtmpServer,
    rules_at_publish: Arc<Mutex<Vec<Vec<String>>>>,
}

fn rig() -> Rig {
    let control: Arc<OnceLock<ZegoControl>> = Arc::default();
    let rules_at_publish: Arc<Mutex<Vec<Vec<String>>>> = Arc::default();
    let (hooked, seen) = (control.clone(), rules_at_publish.clone());
    let rtmp = RtmpServer::start_with_hook(move |event: &PublishEvent| {
        let Some(control) = hooked.get() else {
            return false;
        };
        let live = event.kind == EventKind::Publish;
        if live {
            seen.lock().unwrap().push(control.cdn_rules(&event.name));
        }
        control.set_stream_live(&event.name, live);
        true
    });
    let sim = sim().zego(vec![rtmp.rtmp_url()]).start();
    control
        .set(sim.zego())
        .unwrap_or_else(|_| unreachable!("set once"));
    Rig {
        sim,
        rtmp,
        rules_at_publish,
    }
}

fn settings(rig: &Rig, required: bool) -> Value {
    SettingsBuilder::zego(&rig.sim.base_url(), STREAM)
        .cold()
        .with(
            "cdn_urls",
            json!([{"value": CDN_A, "selected": false, "hidden": false}, {"value": CDN_B, "selected": false, "hidden": false}]),
        )
        .with("cdn_required", required)
        .build()
}

fn launch(settings: Value) -> Obs {
    Obs::launch(ObsOptions::new(ZEGO_SERVICE, settings).with_plugin())
}

fn rules(rig: &Rig) -> Vec<String> {
    let mut r = rig.sim.zego().cdn_rules(STREAM);
    r.sort();
    r
}

fn wait_for_rules(rig: &Rig, expected: &[&str], timeout: Duration) {
    let mut expected: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
    expected.sort();
    common::wait_until(timeout, || (rules(rig) == expected).then_some(()))
        .unwrap_or_else(|| panic!("CDN rules are {:?}, expected {expected:?}", rules(rig)));
}

#[test]
fn forwards_exist_before_the_publish_and_end_with_the_stream() {
    let rig = rig();
    let mut obs = launch(settings(&rig, false));

    obs.start_stream().expect("go-live");
    rig.rtmp
        .wait_for_publish(Some(STREAM), Duration::from_secs(20))
        .expect("publish");
    let mut at_publish = rig.rules_at_publish.lock().unwrap()[0].clone();
    at_publish.sort();
    let mut expected = vec![CDN_A.to_string(), CDN_B.to_string()];
    expected.sort();
    assert_eq!(
        at_publish, expected,
        "both forwards existed when the publish arrived"
    );
    obs.wait_for_log(
        &format!("ZEGOCLOUD sees stream {STREAM} live"),
        Duration::from_secs(15),
    )
    .expect("DescribeRTCStreamState confirms the stream");

    // Stopping never waits for ZEGOCLOUD: make its answers slow and time StopStream.
    rig.sim.zego().set_latency(Duration::from_secs(3));
    let stopping = Instant::now();
    obs.stop_stream().expect("stop");
    assert!(
        stopping.elapsed() < Duration::from_secs(3),
        "StopStream waited for the API: {:?}",
        stopping.elapsed()
    );
    wait_for_rules(&rig, &[], Duration::from_secs(20));

    // Every call for the stream carried a strictly increasing Sequence.
    let sequences: Vec<i64> = rig
        .sim
        .zego()
        .requests()
        .iter()
        .filter(|r| r.params.get("StreamId").map(String::as_str) == Some(STREAM))
        .map(|r| r.params["Sequence"].parse().expect("numeric Sequence"))
        .collect();
    assert!(sequences.len() >= 5, "{sequences:?}");
    assert!(sequences.windows(2).all(|w| w[1] > w[0]), "{sequences:?}");

    let log = obs.log_text();
    assert!(
        !log.contains("KEY_A_SECRET") && !log.contains("KEY_B_SECRET"),
        "CDN keys reached the log"
    );
    assert_eq!(obs.quit().code(), Some(0));
}

/// A rig and an OBS live on it with both optional forwards in place.
fn live_with_both_forwards() -> (Rig, Obs) {
    let rig = rig();
    let obs = launch(settings(&rig, false));
    obs.start_stream().expect("go-live");
    rig.rtmp
        .wait_for_publish(Some(STREAM), Duration::from_secs(20))
        .expect("publish");
    wait_for_rules(&rig, &[CDN_A, CDN_B], Duration::from_secs(5));
    (rig, obs)
}

#[test]
fn forwards_left_by_a_killed_obs_are_deleted_at_the_next_start() {
    let (rig, mut obs) = live_with_both_forwards();

    obs.kill9();
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(rules(&rig).len(), 2, "a killed OBS cannot clean up");

    obs.relaunch();
    wait_for_rules(&rig, &[], Duration::from_secs(20));
    obs.wait_for_log(
        "left by an OBS session that ended without stopping",
        Duration::from_secs(5),
    )
    .expect("the clean-up is logged");
    assert_eq!(obs.quit().code(), Some(0));
}

#[test]
fn quitting_obs_while_live_deletes_the_forwards() {
    let (rig, mut obs) = live_with_both_forwards();
    let quitting = Instant::now();
    assert_eq!(obs.quit().code(), Some(0));
    assert!(
        quitting.elapsed() < Duration::from_secs(10),
        "{:?}",
        quitting.elapsed()
    );
    wait_for_rules(&rig, &[], Duration::from_secs(5));
}

#[test]
fn optional_forwards_that_fail_are_a_warning() {
    let rig = rig();
    rig.sim.zego().fail_next("CreatCDNTransferRule", 5004, 1);
    let mut obs = launch(settings(&rig, false));
    obs.start_stream()
        .expect("go-live despite the failed forward");
    rig.rtmp
        .wait_for_publish(Some(STREAM), Duration::from_secs(20))
        .expect("publish");
    wait_for_rules(&rig, &[CDN_B], Duration::from_secs(5));
    let go_live = obs.last_go_live();
    let warnings = go_live["warnings"].to_string();
    assert!(
        warnings.contains("CDN URL #1 (rtmp://cdn-a.example.com/…) failed"),
        "the failed forward is a warning: {go_live}"
    );
    assert!(!warnings.contains("KEY_A_SECRET"), "{go_live}");
    assert_eq!(go_live["ok"], true, "{go_live}");
    obs.stop_stream().expect("stop");
    wait_for_rules(&rig, &[], Duration::from_secs(20));
    assert_eq!(obs.quit().code(), Some(0));
}

#[test]
fn required_forwards_that_fail_stop_the_go_live_and_are_cleaned_up() {
    let rig = rig();
    rig.sim.zego().fail_next("CreatCDNTransferRule", 5004, 1);
    let mut obs = launch(settings(&rig, true));
    match obs.start_stream() {
        Err(ObsError::StartFailed {
            last_error: Some(text),
        }) => {
            assert!(
                text.contains("CDN URL #1 (rtmp://cdn-a.example.com/…)"),
                "{text}"
            );
            assert!(!text.contains("KEY_A_SECRET"), "{text}");
        }
        other => panic!("expected a refused start, got {other:?}"),
    }
    let go_live = obs.last_go_live();
    assert!(
        go_live["error"]
            .as_str()
            .is_some_and(|error| error.contains("Require every CDN forward")),
        "the setting is named: {go_live}"
    );
    // The forward that was created (#2) is deleted again.
    wait_for_rules(&rig, &[], Duration::from_secs(20));
    let created_b = rig
        .sim
        .zego()
        .requests()
        .iter()
        .any(|r| r.action == "CreatCDNTransferRule" && r.code == 0);
    assert!(
        created_b,
        "the second forward had been created before the clean-up"
    );
    assert!(rig
        .rtmp
        .wait_for_publish(None, Duration::from_secs(1))
        .is_none());
    assert_eq!(obs.quit().code(), Some(0));
}
