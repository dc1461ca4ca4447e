//! Start Streaming never freezes OBS: the vendor call runs off the UI thread, the output's
//! connect thread waits for it, and quitting, cancelling or a vendor error at any point of that
//! wait ends cleanly, in a real OBS.

// The test harness (rtc-golive-test-support) is Unix only.
#![cfg(unix)]

use rtc_golive_test_support as common;

use common::fixtures::{sim, SettingsBuilder, ZEGO_SERVICE};
use common::ui_thread::{
    find_window, screenshot, ui_round_trip, window_names, window_text, MainThreadSampler,
};
use common::{EventKind, Obs, ObsError, ObsOptions, RtmpServer};
use rtc_golive_simulator::Simulator;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::{Duration, Instant};

const STREAM: &str = "ui-thread";
const CDN_URL: &str = "rtmp://cdn.example.com/live/UITHREADCDNKEY";

/// A cold start: nothing resolved ahead, so Start Streaming has to call the vendor.
fn settings(sim: &Simulator) -> Value {
    SettingsBuilder::zego(&sim.base_url(), STREAM)
        .cold()
        .build()
}

/// Whether the plugin has finished the vendor work of a start (`GetStatus` has a go-live).
fn vendor_done(obs: &Obs) -> bool {
    obs.plugin_status()["hasLastGoLive"] == json!(true)
}

fn launch(settings: Value) -> Obs {
    Obs::launch(ObsOptions::new(ZEGO_SERVICE, settings).with_plugin())
}

/// Sends StartStream without waiting for the outcome, then waits until the simulator has
/// received a request with `action` (the vendor call is in flight). Returns the log's length
/// before the request, for [`Obs::start_outcome_since`].
fn start_and_wait_for(obs: &Obs, sim: &Simulator, action: &str) -> usize {
    let log_mark = obs.log_text().len();
    obs.request(
        "StartStream",
        |c| async move { c.streaming().start().await },
    )
    .expect("StartStream sent");
    common::wait_until(Duration::from_secs(20), || {
        sim.zego()
            .requests()
            .iter()
            .any(|r| r.action == action)
            .then_some(())
    })
    .unwrap_or_else(|| panic!("no {action} request reached the simulator"));
    log_mark
}

#[test]
fn the_ui_thread_answers_during_a_cold_start_with_a_3_s_vendor() {
    let rtmp = RtmpServer::start();
    let sim = sim().zego(vec![rtmp.rtmp_url()]).start();
    sim.zego().set_latency(Duration::from_secs(3));
    let obs = launch(settings(&sim));
    let pid = obs.pid().expect("OBS runs");

    start_and_wait_for(&obs, &sim, "RTMPDispatchV2");
    let sampler = MainThreadSampler::start(pid);
    let round_trip = ui_round_trip(&obs).expect("the UI thread answers");
    let answered_first = vendor_done(&obs);
    std::thread::sleep(Duration::from_millis(800));
    let samples = sampler.finish();
    println!(
        "UI round trip while the vendor call is in flight: {round_trip:?}; {} main-thread samples",
        samples.len()
    );
    assert!(
        !answered_first,
        "the UI thread answered only after the vendor did (round trip {round_trip:?})"
    );
    assert!(!samples.is_empty(), "eu-stack took no sample");
    let stuck: Vec<_> = samples
        .iter()
        .filter(|s| s.inside("obs_output_start"))
        .collect();
    assert!(
        stuck.is_empty(),
        "the UI thread was inside obs_output_start in {} of {} samples: {:?}",
        stuck.len(),
        samples.len(),
        stuck[0].frames
    );
    assert!(!obs.stream_active(), "not live before the vendor answered");

    // The start still completes once the vendor answers.
    rtmp.wait_for_publish(Some(STREAM), Duration::from_secs(20))
        .expect("publish after the slow dispatch");
    assert!(vendor_done(&obs));
}

/// Quits OBS while Start Streaming waits for a vendor answering after `latency`; asserts a
/// clean exit within 3 s and that nothing was published.
fn quit_during_slow_start(latency: Duration) {
    let rtmp = RtmpServer::start();
    let sim = sim().zego(vec![rtmp.rtmp_url()]).start();
    sim.zego().set_latency(latency);
    let mut obs = launch(settings(&sim));
    start_and_wait_for(&obs, &sim, "RTMPDispatchV2");
    // Past the harness's settle pause, so the time measured is the quit itself.
    std::thread::sleep(Duration::from_millis(600));

    let quitting = Instant::now();
    let status = obs.quit();
    let took = quitting.elapsed();
    println!("quit with a {latency:?} dispatch in flight took {took:?}");
    assert_eq!(status.code(), Some(0), "OBS's exit status");
    assert!(took < Duration::from_secs(3), "quit took {took:?}");
    // The output's failure waited until OBS had let go of the output, so the frontend, tearing
    // down, never handled it: handling it then crashed OBS 29.0 or opened a modal dialog that
    // stalled the quit on 32.2.
    let log = obs.log_text();
    let position = |pattern: &str| {
        log.find(pattern)
            .unwrap_or_else(|| panic!("no {pattern:?} in OBS's log:\n{log}"))
    };
    assert!(
        position("All scene data cleared")
            < position("Connecting to RTMP URL rtmp://255.255.255.255"),
        "the failure went out before OBS cleared its scenes:\n{log}"
    );
    assert!(
        !log.contains("==== Streaming Stop"),
        "the frontend handled the failure while quitting:\n{log}"
    );
    assert!(
        rtmp.wait_for_publish(None, latency + Duration::from_secs(1))
            .is_none(),
        "nothing is published after the quit"
    );
}

#[test]
fn quitting_during_a_slow_start_exits_0_within_3_s() {
    quit_during_slow_start(Duration::from_secs(2));
    quit_during_slow_start(Duration::from_secs(8));
}

#[test]
fn cancelling_a_slow_start_publishes_nothing_and_deletes_the_forward() {
    let rtmp = RtmpServer::start();
    let sim = sim().zego(vec![rtmp.rtmp_url()]).start();
    // The simulator records a request before it holds the answer back, so the cancel below
    // has this long to arrive after the test sees CreatCDNTransferRule: two obs-websocket
    // round trips, which took more than 2 s on a loaded CI machine.
    sim.zego().set_latency(Duration::from_secs(5));
    let mut s = settings(&sim);
    s["cdn_urls"] = json!([{ "value": CDN_URL }]);
    let mut obs = launch(s);

    // Given up while the CDN forward is being created: the forward exists at the vendor by
    // the time the answer comes, so it has to be deleted again.
    let log_mark = start_and_wait_for(&obs, &sim, "CreatCDNTransferRule");
    // OBS's own Stop Streaming cannot do it: the frontend disables it until the output has
    // connected, and obs-websocket's StopStream is refused for an output not active yet.
    let stop = obs.request("StopStream", |c| async move { c.streaming().stop().await });
    assert!(
        stop.is_err(),
        "OBS accepted StopStream while connecting: {stop:?}"
    );
    let answer = obs.vendor_request("CancelStart", json!({"unused": true}));
    assert_eq!(answer["ok"], json!(true), "{answer}");
    assert_eq!(answer["cancelled"], json!(1), "{answer}");

    match obs.start_outcome_since(log_mark) {
        Err(ObsError::StartFailed {
            last_error: Some(text),
        }) => assert!(text.contains("Start Streaming was given up"), "{text}"),
        other => panic!("expected the cancelled start to fail, got {other:?}"),
    }
    common::wait_until(Duration::from_secs(20), || {
        let deleted = sim
            .zego()
            .requests()
            .iter()
            .any(|r| r.action == "DeleteCDNTransferRule" && r.code == 0);
        (deleted && sim.zego().cdn_rules(STREAM).is_empty()).then_some(())
    })
    .expect("the forward created for the cancelled start is deleted");
    assert!(
        rtmp.events().iter().all(|e| e.kind != EventKind::Publish),
        "nothing was published: {:?}",
        rtmp.events()
    );

    // The service is usable again right after.
    sim.zego().set_latency(Duration::ZERO);
    obs.start_stream().expect("the next start goes live");
    rtmp.wait_for_publish(Some(STREAM), Duration::from_secs(20))
        .expect("publish");
    obs.stop_stream().expect("stop");
    assert_eq!(obs.quit().code(), Some(0));
}

#[test]
fn a_vendor_error_found_off_the_ui_thread_shows_its_code_in_obs_dialog() {
    let rtmp = RtmpServer::start();
    let sim = sim().zego(vec![rtmp.rtmp_url()]).start();
    sim.zego().set_latency(Duration::from_millis(300));
    sim.zego().fail_next("RTMPDispatchV2", 1002, 1);
    let mut obs = launch(settings(&sim));

    match obs.start_stream() {
        Err(ObsError::StartFailed {
            last_error: Some(text),
        }) => assert!(text.contains("(code 1002)"), "{text}"),
        other => panic!("expected a refused start, got {other:?}"),
    }
    let display = obs.display().to_owned();
    let window = find_window(&display, "^Failed to connect$", Duration::from_secs(10))
        .unwrap_or_else(|| {
            panic!(
                "OBS's \"Failed to connect\" dialog is not on screen; windows:\n{}",
                window_names(&display)
            )
        });
    let version = obs
        .request("GetVersion", |c| async move { c.general().version().await })
        .map(|v| v.obs_studio_version.to_string())
        .unwrap_or_else(|_| "unknown".into());
    let artifacts = common::util::artifacts_dir("ui-thread");
    let go_live = obs.last_go_live();
    let request_id = go_live["requestId"]
        .as_str()
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| panic!("the refusal names a RequestId: {go_live}"))
        .to_owned();
    let expected = [
        "Failed to connect to server",
        "ZEGOCLOUD refused the request (code 1002)",
        "RTMP dispatch must be enabled for your AppID",
        "RequestId:",
        request_id.as_str(),
    ];
    // Read again while the dialog may still be painting. OCR may read a capital I as a small
    // one and split a long number, so the comparison ignores case and whitespace.
    let squash = |t: &str| -> String {
        t.chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_lowercase()
    };
    let mut text = String::new();
    let complete = common::wait_until(Duration::from_secs(10), || {
        text = window_text(&display, &window, &artifacts.join("dialog-ocr.png"));
        let seen = squash(&text);
        expected
            .iter()
            .all(|e| seen.contains(&squash(e)))
            .then_some(())
    });
    println!("OBS's dialog, read from the screen: {text}");
    assert!(
        complete.is_some(),
        "OBS's dialog does not show all of {expected:?}: {text}"
    );
    let shot = artifacts.join(format!("error-dialog-vendor-{version}.png"));
    screenshot(&display, &shot);
    if std::env::var_os("RTC_GOLIVE_UPDATE_DOCS").is_some() {
        let docs = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots");
        std::fs::copy(&shot, docs.join(shot.file_name().expect("file name")))
            .expect("copy the screenshot into docs/screenshots");
    }
    assert!(
        rtmp.wait_for_publish(None, Duration::from_secs(1))
            .is_none(),
        "nothing published"
    );
    assert_eq!(obs.quit().code(), Some(0));
}
