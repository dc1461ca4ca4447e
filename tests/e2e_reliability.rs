//! Reliability in a real OBS: a node dying mid-stream, many start/stop cycles, quitting while
//! the plugin works, and no secret in OBS's log after every kind of run.

// The test harness (rtc-golive-test-support) is Unix only.
#![cfg(unix)]

use rtc_golive_test_support as common;

use common::fixtures::{
    sim, AliyunRoom, SettingsBuilder, ALIYUN_KEY_ID, ALIYUN_KEY_SECRET, ALIYUN_SERVICE,
    ZEGO_SERVER_SECRET, ZEGO_SERVICE,
};
use common::{EventKind, Obs, ObsError, ObsOptions, PublishEvent, RtmpServer};
use rtc_golive_simulator::Simulator;
use serde_json::json;
use std::time::{Duration, Instant};

const STREAM: &str = "reliability";

/// The simulator; Alibaba's ingest addresses point at the first node.
fn simulator(nodes: Vec<String>) -> Simulator {
    sim().aliyun(nodes[0].clone()).zego(nodes).start()
}

fn zego_settings(sim: &Simulator) -> serde_json::Value {
    SettingsBuilder::zego(&sim.base_url(), STREAM)
        .cold()
        .build()
}

/// OBS reconnecting after one second instead of its default wait.
fn launch_fast_reconnect(settings: serde_json::Value) -> Obs {
    Obs::launch(
        ObsOptions::new(ZEGO_SERVICE, settings)
            .with_plugin()
            .with_profile_ini("Output", "Reconnect", "true")
            .with_profile_ini("Output", "RetryDelay", "1")
            .with_profile_ini("Output", "MaxRetries", "20"),
    )
}

#[test]
fn a_node_dying_mid_stream_fails_over_to_the_next_one() {
    let mut first = RtmpServer::start();
    let second = RtmpServer::start();
    let sim = simulator(vec![first.rtmp_url(), second.rtmp_url()]);
    let mut obs = launch_fast_reconnect(zego_settings(&sim));

    obs.start_stream().expect("go-live");
    first
        .wait_for_publish(Some(STREAM), Duration::from_secs(20))
        .expect("publish on the first node");
    assert!(second.events().is_empty());

    first.kill();
    let killed = Instant::now();
    let publish = second
        .wait_for_publish(Some(STREAM), Duration::from_secs(15))
        .expect("the stream continues on the second node within 15 s");
    println!(
        "failover: node killed -> publish on the next node in {:?}",
        publish.time - killed
    );
    assert!(obs.stream_active());
    assert!(obs.log_text().contains(&format!(
        "failover: reconnecting to node 127.0.0.1:{}",
        second.port()
    )));
    let dispatches = sim
        .zego()
        .requests()
        .iter()
        .filter(|r| r.action == "RTMPDispatchV2")
        .count();
    assert_eq!(
        dispatches, 1,
        "within the node validity no new dispatch is needed"
    );
    obs.stop_stream().expect("stop");
    assert_eq!(obs.quit().code(), Some(0));
}

#[test]
fn twenty_start_stop_cycles_then_a_prompt_clean_exit() {
    let rtmp = RtmpServer::start();
    let sim = simulator(vec![rtmp.rtmp_url()]);
    let mut obs = Obs::launch(ObsOptions::new(ZEGO_SERVICE, zego_settings(&sim)).with_plugin());
    for cycle in 1..=20 {
        obs.start_stream()
            .unwrap_or_else(|e| panic!("cycle {cycle}: {e:?}"));
        let published = |e: &PublishEvent| e.kind == EventKind::Publish;
        common::wait_until(Duration::from_secs(20), || {
            (rtmp.events().iter().filter(|e| published(e)).count() >= cycle).then_some(())
        })
        .unwrap_or_else(|| panic!("cycle {cycle}: no publish"));
        obs.stop_stream()
            .unwrap_or_else(|e| panic!("cycle {cycle}: {e:?}"));
    }
    quit_cleanly_within_5_s(&mut obs, "quit after 20 cycles");
    assert!(!obs
        .log_text()
        .contains("background tasks still running at unload"));
}

#[test]
fn quitting_while_a_background_dispatch_is_in_flight_is_prompt() {
    let rtmp = RtmpServer::start();
    let sim = simulator(vec![rtmp.rtmp_url()]);
    // Every answer takes 7 s: the dispatch resolving ahead is in flight when OBS quits.
    sim.zego().set_latency(Duration::from_secs(7));
    let mut settings = zego_settings(&sim);
    settings["prefetch"] = json!(true);
    let mut obs = Obs::launch(ObsOptions::new(ZEGO_SERVICE, settings).with_plugin());
    common::wait_until(Duration::from_secs(10), || {
        (!sim.zego().requests().is_empty()).then_some(())
    })
    .expect("the background dispatch started");

    quit_cleanly_within_5_s(&mut obs, "quit with a dispatch in flight");
}

#[test]
fn quitting_while_start_streaming_waits_for_the_api_exits_cleanly() {
    let rtmp = RtmpServer::start();
    let sim = simulator(vec![rtmp.rtmp_url()]);
    sim.zego().set_latency(Duration::from_secs(2));
    let mut obs = Obs::launch(ObsOptions::new(ZEGO_SERVICE, zego_settings(&sim)).with_plugin());
    // Start Streaming blocks OBS's window for the dispatch (2 s); the quit is handled after it.
    obs.request(
        "StartStream",
        |c| async move { c.streaming().start().await },
    )
    .expect("StartStream sent");
    common::wait_until(Duration::from_secs(5), || {
        (!sim.zego().requests().is_empty()).then_some(())
    })
    .expect("the dispatch is in flight");
    quit_cleanly_within_5_s(&mut obs, "quit during Start Streaming");
}

/// Every success and failure path the plugin has, then OBS's log and stdout/stderr scanned for
/// every secret, signature, signed query and auth_key the run produced.
#[test]
fn no_secret_reaches_obs_output_after_every_path() {
    let rtmp = RtmpServer::start();
    let sim = simulator(vec![rtmp.rtmp_url()]);
    let mut obs = Obs::launch(ObsOptions::new(ZEGO_SERVICE, zego_settings(&sim)).with_plugin());

    // ZEGOCLOUD: success, vendor error, wrong secret, CDN forward with a keyed URL, test connection.
    obs.start_stream().expect("go-live");
    rtmp.wait_for_publish(Some(STREAM), Duration::from_secs(20))
        .expect("publish");
    obs.stop_stream().expect("stop");
    sim.zego().fail_next("RTMPDispatchV2", 1001, 1);
    assert!(matches!(
        obs.start_stream(),
        Err(ObsError::StartFailed { .. })
    ));
    let mut wrong = zego_settings(&sim);
    wrong["server_secret"] = json!("00000000000000000000000000000000");
    obs.set_stream_service(ZEGO_SERVICE, &wrong)
        .expect("settings");
    assert!(matches!(
        obs.start_stream(),
        Err(ObsError::StartFailed { .. })
    ));
    let mut cdn = zego_settings(&sim);
    cdn["cdn_urls"] = json!([{"value": "rtmp://cdn.example.com/live/CDNSTREAMKEY123"}]);
    obs.set_stream_service(ZEGO_SERVICE, &cdn)
        .expect("settings");
    obs.start_stream().expect("go-live with a forward");
    obs.stop_stream().expect("stop");

    // Alibaba: success (v2, v3), vendor error, wrong secret.
    let room = AliyunRoom {
        app_id: "app",
        channel_id: "room",
        user_id: "host",
        display_name: "Host",
    };
    let aliyun = |version: &str, secret: &str| {
        SettingsBuilder::aliyun(&sim.base_url(), room)
            .with("access_key_secret", secret)
            .with("signature_version", version)
            .cold()
            .with("presence_check", false)
            .build()
    };
    obs.set_stream_service(ALIYUN_SERVICE, &aliyun("v3", ALIYUN_KEY_SECRET))
        .expect("settings");
    sim.aliyun()
        .fail_next("CreateRoomRealTimeStreamAddress", "Forbidden.RAM", 403, 1);
    assert!(matches!(
        obs.start_stream(),
        Err(ObsError::StartFailed { .. })
    ));
    obs.set_stream_service(ALIYUN_SERVICE, &aliyun("v2", "wrong-secret"))
        .expect("settings");
    assert!(matches!(
        obs.start_stream(),
        Err(ObsError::StartFailed { .. })
    ));
    obs.set_stream_service(ALIYUN_SERVICE, &aliyun("v2", ALIYUN_KEY_SECRET))
        .expect("settings");
    obs.start_stream().expect("aliyun go-live");
    let publish = common::wait_until(Duration::from_secs(20), || {
        rtmp.events()
            .into_iter()
            .find(|e| e.kind == EventKind::Publish && e.fields.contains_key("auth_key"))
    })
    .expect("aliyun publish");
    obs.stop_stream().expect("stop");

    // Test connection through obs-websocket, a success and a failure.
    for settings in [zego_settings(&sim), wrong.clone()] {
        obs.vendor_request(
            "TestConnection",
            json!({"serviceType": ZEGO_SERVICE, "settings": settings}),
        );
    }
    assert_eq!(obs.quit().code(), Some(0));

    let mut secrets: Vec<String> = vec![
        ZEGO_SERVER_SECRET.into(),
        ALIYUN_KEY_SECRET.into(),
        "CDNSTREAMKEY123".into(),
        ALIYUN_KEY_ID.into(),
    ];
    secrets.push(publish.fields["auth_key"].clone());
    for request in sim.zego().requests() {
        secrets.push(request.params["Signature"].clone());
    }
    let output = obs.log_text() + &obs.process_output();
    assert!(
        output.contains("go-live: provider=zegocloud")
            && output.contains("go-live: provider=aliyun-artc")
    );
    for secret in &secrets {
        assert!(!secret.is_empty());
        assert!(
            !output.contains(secret.as_str()),
            "OBS's log or output contains {secret:?}"
        );
    }
    assert!(
        !output.contains("SignatureNonce="),
        "a signed query reached the log"
    );
    assert!(output.contains("LTA"), "the AccessKey ID appears masked");
}

/// Quits OBS and asserts it exits with 0 within 5 s (the settle pause before SIGINT included).
fn quit_cleanly_within_5_s(obs: &mut Obs, what: &str) {
    let quitting = Instant::now();
    let status = obs.quit();
    println!("{what} took {:?}", quitting.elapsed());
    assert_eq!(status.code(), Some(0), "{what}");
    assert!(
        quitting.elapsed() < Duration::from_secs(5),
        "{what}: {:?}",
        quitting.elapsed()
    );
}
