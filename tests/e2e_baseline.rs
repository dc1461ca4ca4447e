//! Proves the e2e harness with OBS's built-in `rtmp_custom` service (no plugin): OBS goes live
//! into a local nginx-rtmp, the stream is real h264, and OBS exits cleanly.

// The test harness (rtc-golive-test-support) is Unix only.
#![cfg(unix)]

use rtc_golive_test_support as common;

use std::time::{Duration, Instant};

use common::obs::{VIDEO_HEIGHT, VIDEO_WIDTH};
use common::{Obs, ObsOptions, RtmpServer};
use serde_json::json;

const KEY: &str = "baseline";

#[test]
fn custom_rtmp_goes_live() {
    let rtmp = RtmpServer::start();
    let launched = Instant::now();
    let mut obs = Obs::launch(ObsOptions::new(
        "rtmp_custom",
        json!({"server": rtmp.rtmp_url(), "key": KEY}),
    ));
    let launch_time = launched.elapsed();

    let requested = Instant::now();
    obs.start_stream().expect("StartStream should go live");
    let publish = rtmp
        .wait_for_publish(Some(KEY), Duration::from_secs(20))
        .expect("nginx should see the publish within 20 s");
    assert_eq!(publish.app, "live");
    println!(
        "OBS launch: {launch_time:?}; StartStream -> publish: {:?}; launch + go-live: {:?}",
        publish.time - requested,
        publish.time - launched
    );

    let info = rtmp
        .probe_stream(KEY)
        .expect("ffprobe should read the live stream");
    println!("ffprobe: {info:?}");
    assert_eq!(info.video_codec, "h264");
    assert_eq!((info.width, info.height), (VIDEO_WIDTH, VIDEO_HEIGHT));

    obs.stop_stream().expect("StopStream");
    rtmp.wait_for_publish_done(Some(KEY), Duration::from_secs(10))
        .expect("nginx should see the publish end");

    let status = obs.quit();
    assert_eq!(status.code(), Some(0), "OBS should exit cleanly: {status}");
}

/// OBS dying under a test is reported with how it ended: CI keeps only what a test prints.
#[test]
fn a_request_to_an_obs_that_died_says_how_it_ended() {
    let mut obs = Obs::launch(ObsOptions::new(
        "rtmp_custom",
        json!({"server": "rtmp://127.0.0.1/live", "key": KEY}),
    ));
    assert_eq!(obs.exit_report(), None, "OBS is running");
    let pid = obs.pid().expect("OBS runs").to_string();
    let killed = std::process::Command::new("kill")
        .args(["-KILL", &pid])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let request = obs.request("GetVersion", |c| async move { c.general().version().await });
    assert!(request.is_err(), "a dead OBS cannot answer");
    let report = obs.exit_report().expect("OBS has exited");
    assert!(report.starts_with("OBS exited (signal 9)"), "{report}");
    assert!(report.contains("--- log ---"), "{report}");
    assert!(!obs.is_running());
}
