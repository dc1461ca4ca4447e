//! Reliability in a real OBS: a node dying mid-stream, many start/stop cycles, quitting while
//! the plugin works, and no secret in OBS's log after every kind of run.

use rtc_golive_test_support as common;

use common::{EventKind, Obs, ObsError, ObsOptions, PublishEvent, RtmpServer};
use rtc_golive_simulator::{AliyunKey, SimConfig, Simulator, ZegoApp};
use serde_json::json;
use std::time::{Duration, Instant};

const APP_ID: u32 = 2_468_024;
const SECRET: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f90";
const STREAM: &str = "reliability";
const KEY_ID: &str = "LTAI5tRELIABILITY01";
const KEY_SECRET: &str = "reliability-access-key-secret";

/// The simulator; Alibaba's ingest addresses point at the first node.
fn simulator(nodes: Vec<String>) -> Simulator {
    Simulator::start(SimConfig {
        aliyun_rtmp_base: nodes[0].clone(),
        zego_apps: vec![ZegoApp {
            app_id: APP_ID,
            server_secret: SECRET.into(),
            test_env: false,
        }],
        zego_nodes: nodes,
        aliyun_keys: vec![AliyunKey {
            access_key_id: KEY_ID.into(),
            access_key_secret: KEY_SECRET.into(),
        }],
        ..SimConfig::default()
    })
    .expect("simulator starts")
}

fn zego_settings(sim: &Simulator) -> serde_json::Value {
    json!({
        "app_id": APP_ID, "server_secret": SECRET, "stream_id": STREAM,
        "endpoint": sim.base_url(), "prefetch": false,
    })
}

/// OBS reconnecting after one second instead of its default wait.
fn launch_fast_reconnect(settings: serde_json::Value) -> Obs {
    Obs::launch(
        ObsOptions::new("zego_rtmp_dispatch", settings)
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
    let mut obs =
        Obs::launch(ObsOptions::new("zego_rtmp_dispatch", zego_settings(&sim)).with_plugin());
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
    let mut obs = Obs::launch(ObsOptions::new("zego_rtmp_dispatch", settings).with_plugin());
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
    let mut obs =
        Obs::launch(ObsOptions::new("zego_rtmp_dispatch", zego_settings(&sim)).with_plugin());
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
    let mut obs =
        Obs::launch(ObsOptions::new("zego_rtmp_dispatch", zego_settings(&sim)).with_plugin());

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
    obs.set_stream_service("zego_rtmp_dispatch", &wrong)
        .expect("settings");
    assert!(matches!(
        obs.start_stream(),
        Err(ObsError::StartFailed { .. })
    ));
    let mut cdn = zego_settings(&sim);
    cdn["cdn_urls"] = json!([{"value": "rtmp://cdn.example.com/live/CDNSTREAMKEY123"}]);
    obs.set_stream_service("zego_rtmp_dispatch", &cdn)
        .expect("settings");
    obs.start_stream().expect("go-live with a forward");
    obs.stop_stream().expect("stop");

    // Alibaba: success (v2, v3), vendor error, wrong secret.
    let aliyun = |version: &str, secret: &str| {
        json!({
            "access_key_id": KEY_ID, "access_key_secret": secret, "endpoint": sim.base_url(),
            "app_id": "app", "channel_id": "room", "user_id": "host", "display_name": "Host",
            "signature_version": version, "prefetch": false, "presence_check": false,
        })
    };
    obs.set_stream_service("aliyun_artc_rtmp", &aliyun("v3", KEY_SECRET))
        .expect("settings");
    sim.aliyun()
        .fail_next("CreateRoomRealTimeStreamAddress", "Forbidden.RAM", 403, 1);
    assert!(matches!(
        obs.start_stream(),
        Err(ObsError::StartFailed { .. })
    ));
    obs.set_stream_service("aliyun_artc_rtmp", &aliyun("v2", "wrong-secret"))
        .expect("settings");
    assert!(matches!(
        obs.start_stream(),
        Err(ObsError::StartFailed { .. })
    ));
    obs.set_stream_service("aliyun_artc_rtmp", &aliyun("v2", KEY_SECRET))
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
        let data = json!({"serviceType": "zego_rtmp_dispatch", "settings": settings});
        obs.request("CallVendorRequest", |c| {
            let data = data.clone();
            async move {
                c.general()
                    .call_vendor_request::<serde_json::Value, serde_json::Value>(
                        obws::requests::general::CallVendorRequest {
                            vendor_name: "obs-rtc-golive",
                            request_type: "TestConnection",
                            request_data: &data,
                        },
                    )
                    .await
            }
        })
        .expect("TestConnection answers");
    }
    assert_eq!(obs.quit().code(), Some(0));

    let mut secrets: Vec<String> = vec![
        SECRET.into(),
        KEY_SECRET.into(),
        "CDNSTREAMKEY123".into(),
        KEY_ID.into(),
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
