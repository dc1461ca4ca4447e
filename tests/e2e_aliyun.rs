//! Alibaba Cloud ARTC go-live in a real OBS: the `aliyun_artc_rtmp` service creates an ingest
//! address at the simulator and OBS publishes to it with name and auth_key intact.

// The test harness (rtc-golive-test-support) is Unix only.
#![cfg(unix)]

use rtc_golive_test_support as common;

use common::fixtures::{
    sim, AliyunRoom, SettingsBuilder, ALIYUN_KEY_ID, ALIYUN_KEY_SECRET, ALIYUN_SERVICE,
};
use common::ui_thread::window_names;
use common::{EventKind, Obs, ObsError, ObsOptions, PublishEvent, RtmpServer};
use rtc_golive_simulator::{AliyunControl, Simulator};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The room every test here publishes into.
const ROOM: AliyunRoom = AliyunRoom {
    app_id: "artc-app_1",
    channel_id: "room-42",
    user_id: "obs-host",
    display_name: "主播 Xiaoming 🎥",
};

/// auth_keys nginx must refuse, as if the ingest had revoked them.
type Refused = Arc<Mutex<HashSet<String>>>;

/// nginx-rtmp wired to the simulator: a publish is accepted only when the simulator issued its
/// auth_key (and it is not in `refused`), and the simulator's participant list follows what
/// nginx really has. The simulator's addresses point at this nginx.
fn setup(refused: Refused) -> (Simulator, RtmpServer) {
    let control: Arc<OnceLock<AliyunControl>> = Arc::default();
    let hooked = control.clone();
    let rtmp = RtmpServer::start_with_hook(move |event: &PublishEvent| {
        let Some(control) = hooked.get() else {
            return false;
        };
        let auth_key = event
            .fields
            .get("auth_key")
            .map(String::as_str)
            .unwrap_or_default();
        match event.kind {
            EventKind::Publish => {
                let ok = !refused.lock().unwrap().contains(auth_key)
                    && control.check_publish(&event.name, auth_key);
                control.set_publishing(&event.name, ok);
                ok
            }
            EventKind::PublishDone => {
                control.set_publishing(&event.name, false);
                true
            }
        }
    });
    let sim = sim().aliyun(rtmp.rtmp_url()).start();
    control
        .set(sim.aliyun())
        .unwrap_or_else(|_| unreachable!("set once"));
    (sim, rtmp)
}

fn settings(sim: &Simulator, signature_version: &str) -> Value {
    SettingsBuilder::aliyun(&sim.base_url(), ROOM)
        .with("signature_version", signature_version)
        .cold()
        .with("presence_check", false)
        .build()
}

fn launch(settings: Value) -> Obs {
    Obs::launch(ObsOptions::new(ALIYUN_SERVICE, settings).with_plugin())
}

fn go_live_with(signature_version: &str) {
    let (sim, rtmp) = setup(Refused::default());
    let mut obs = launch(settings(&sim, signature_version));

    let requested = Instant::now();
    obs.start_stream().expect("go-live succeeds");
    let publish = rtmp
        .wait_for_publish(None, Duration::from_secs(20))
        .expect("nginx accepts the publish");
    println!(
        "aliyun {signature_version} cold go-live: StartStream -> publish {:?}",
        publish.time - requested
    );
    assert_eq!(publish.name, "artc-app_1.room-42.obs-host");
    let auth_key = publish
        .fields
        .get("auth_key")
        .expect("auth_key arrives intact");
    assert!(sim.aliyun().check_publish(&publish.name, auth_key));

    let creates: Vec<_> = sim
        .aliyun()
        .requests()
        .into_iter()
        .filter(|r| r.action == "CreateRoomRealTimeStreamAddress")
        .collect();
    assert_eq!(creates.len(), 1);
    assert_eq!(creates[0].signature_version, signature_version);
    assert_eq!(creates[0].params["DisplayName"], "主播 Xiaoming 🎥");
    assert_eq!(creates[0].status, 200);

    obs.stop_stream().expect("stop");
    let go_live = obs.last_go_live();
    assert_eq!(go_live["provider"], ALIYUN_SERVICE, "{go_live}");
    assert_eq!(go_live["ok"], true, "{go_live}");
    // The log as a streamer shares it: the plugin's go-live line, and no secret.
    let log = obs.log_text();
    assert!(log.contains("go-live: provider=aliyun-artc"), "{log}");
    assert!(
        !log.contains(ALIYUN_KEY_SECRET)
            && !log.contains(auth_key.as_str())
            && !log.contains(ALIYUN_KEY_ID)
    );
    assert_eq!(obs.quit().code(), Some(0));
}

#[test]
fn goes_live_with_v2_signatures() {
    go_live_with("v2");
}

#[test]
fn goes_live_with_v3_signatures() {
    go_live_with("v3");
}

#[test]
fn vendor_error_shows_code_action_and_request_id() {
    let (sim, rtmp) = setup(Refused::default());
    sim.aliyun()
        .fail_next("CreateRoomRealTimeStreamAddress", "Forbidden.RAM", 403, 1);
    let mut obs = launch(settings(&sim, "v2"));

    match obs.start_stream() {
        Err(ObsError::StartFailed {
            last_error: Some(text),
        }) => {
            assert!(
                text.contains("Alibaba Cloud refused the request (Forbidden.RAM)"),
                "{text}"
            );
        }
        other => panic!("expected a refused start, got {other:?}"),
    }
    let go_live = obs.last_go_live();
    let error = go_live["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("live:CreateRoomRealTimeStreamAddress"),
        "the RAM action is named: {go_live}"
    );
    assert!(error.contains("RequestId: "), "{go_live}");
    assert!(rtmp
        .wait_for_publish(None, Duration::from_secs(1))
        .is_none());

    // A wrong secret: the vendor's own answer, with the AccessKey ID masked.
    let mut wrong = settings(&sim, "v2");
    wrong["access_key_secret"] = json!("not-the-secret");
    obs.set_stream_service(ALIYUN_SERVICE, &wrong)
        .expect("settings");
    match obs.start_stream() {
        Err(ObsError::StartFailed {
            last_error: Some(text),
        }) => {
            assert!(text.contains("SignatureDoesNotMatch"), "{text}");
        }
        other => panic!("expected a refused start, got {other:?}"),
    }
    assert!(
        !obs.log_text().contains(ALIYUN_KEY_ID),
        "AccessKey ID must appear masked at most"
    );
    assert_eq!(obs.quit().code(), Some(0));
}

#[test]
fn a_second_start_within_validity_reuses_the_address_even_after_a_restart() {
    let (sim, rtmp) = setup(Refused::default());
    let mut obs = launch(settings(&sim, "v2"));

    obs.start_stream().expect("first go-live");
    rtmp.wait_for_publish(None, Duration::from_secs(20))
        .expect("publish");
    obs.stop_stream().expect("stop");
    rtmp.wait_for_publish_done(None, Duration::from_secs(10))
        .expect("publish ends");
    assert_eq!(sim.aliyun().create_calls(), 1);

    let publishes = || {
        rtmp.events()
            .iter()
            .filter(|e| e.kind == EventKind::Publish)
            .count()
    };
    let published_before = publishes();
    obs.start_stream().expect("second go-live");
    common::wait_until(Duration::from_secs(20), || {
        (publishes() > published_before).then_some(())
    })
    .expect("second publish");
    obs.stop_stream().expect("stop");
    assert_eq!(sim.aliyun().create_calls(), 1, "the address was reused");

    obs.quit();
    obs.relaunch();
    obs.start_stream().expect("go-live after an OBS restart");
    common::wait_until(Duration::from_secs(20), || {
        (publishes() > published_before + 1).then_some(())
    })
    .expect("publish after restart");
    assert_eq!(
        sim.aliyun().create_calls(),
        1,
        "the address survived the restart"
    );
    assert!(obs.log_text().contains("reusing the ingest address"));
    let cache = std::fs::read_to_string(
        obs.config_dir()
            .join("plugin_config/obs-rtc-golive/addresses.json"),
    )
    .expect("the address cache file");
    assert!(
        !cache.contains(ALIYUN_KEY_SECRET),
        "the secret is never written to disk"
    );
    obs.stop_stream().expect("stop");
    assert_eq!(obs.quit().code(), Some(0));
}

/// OBS live with the presence check polling every second, on nginx that refuses the auth_keys
/// in `refused`.
struct PresenceRig {
    sim: Simulator,
    rtmp: RtmpServer,
    refused: Refused,
    obs: Obs,
    publish: PublishEvent,
}

impl PresenceRig {
    /// Goes live with the presence check (restarting the ingest when `restart`).
    fn go_live(signature_version: &str, restart: bool) -> PresenceRig {
        let refused = Refused::default();
        let (sim, rtmp) = setup(refused.clone());
        let mut s = settings(&sim, signature_version);
        s["presence_check"] = json!(true);
        s["presence_interval"] = json!(1);
        s["presence_restart"] = json!(restart);
        let obs = launch(s);
        obs.start_stream().expect("go-live");
        let publish = rtmp
            .wait_for_publish(None, Duration::from_secs(20))
            .expect("publish");
        PresenceRig {
            sim,
            rtmp,
            refused,
            obs,
            publish,
        }
    }
}

/// nginx drops `publish`'s publisher and refuses its auth_key from now on, as if the ingest had
/// revoked it.
fn revoke(rtmp: &RtmpServer, refused: &Refused, publish: &PublishEvent) {
    refused
        .lock()
        .unwrap()
        .insert(publish.fields["auth_key"].clone());
    assert_eq!(
        rtmp.drop_publisher(&publish.name),
        1,
        "nginx dropped the publisher"
    );
}

#[test]
fn presence_check_notices_a_dropped_stream() {
    let PresenceRig {
        sim,
        rtmp,
        refused,
        mut obs,
        publish,
    } = PresenceRig::go_live("v2", false);
    std::thread::sleep(Duration::from_secs(3));
    let status = obs.plugin_status();
    assert!(
        status.get("lastAlert").is_none(),
        "present while published: {status}"
    );

    revoke(&rtmp, &refused, &publish);
    let alert = common::wait_until(Duration::from_secs(20), || {
        let status = obs.plugin_status();
        let text = status["lastAlert"]["text"].as_str()?.to_owned();
        text.contains("no longer in ARTC channel room-42")
            .then_some(text)
    });
    assert!(
        alert.is_some(),
        "the presence check notices the user left the channel"
    );
    // Scripts saw it in GetStatus; the streamer is told inside OBS: the plugin's window opens
    // with the warning.
    let window = common::wait_until(Duration::from_secs(10), || {
        window_names(obs.display())
            .contains("Properties for 'RTC Go-Live'")
            .then_some(())
    });
    assert!(
        window.is_some(),
        "the plugin's window opened with the alert"
    );
    let polls = sim
        .aliyun()
        .requests()
        .iter()
        .filter(|r| r.action == "DescribeChannelParticipants")
        .count();
    assert!(polls >= 2, "{polls}");
    obs.stop_stream().expect("stop");
    assert_eq!(obs.quit().code(), Some(0));
}

#[test]
fn presence_restart_goes_live_again_with_a_fresh_address() {
    let PresenceRig {
        sim,
        rtmp,
        refused,
        mut obs,
        publish: first,
    } = PresenceRig::go_live("v3", true);
    let old_key = first.fields["auth_key"].clone();
    revoke(&rtmp, &refused, &first);

    obs.wait_for_log(
        "restarting the ingest with a fresh address",
        Duration::from_secs(20),
    )
    .expect("the restart is logged");
    let fresh = common::wait_until(Duration::from_secs(30), || {
        rtmp.events().into_iter().find(|e| {
            e.kind == EventKind::Publish
                && e.accepted
                && e.fields.get("auth_key").is_some_and(|k| *k != old_key)
        })
    })
    .expect("OBS publishes again with a fresh auth_key");
    assert_eq!(fresh.name, first.name);
    assert_eq!(
        sim.aliyun().create_calls(),
        2,
        "a fresh address was created"
    );
    assert!(obs.stream_active());
    obs.stop_stream().expect("stop");
    assert_eq!(obs.quit().code(), Some(0));
}
