//! Going live through the platform in a real OBS: the `rtc_platform_golive` service holds only
//! the broker's URL and the streamer's token; the real `rtc-golive-broker` binary holds the
//! vendor's secrets and calls the simulator; OBS publishes to nginx-rtmp.
//!
//! Needs the broker binary: `cargo build -p rtc-golive-broker` (the harness says so if not).

// The test harness (rtc-golive-test-support) is Unix only.
#![cfg(unix)]

use rtc_golive_test_support as common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::broker::{Broker, BrokerOptions, TokenPin, BROKER_HS256_KEY};
use common::fixtures::{sim, AliyunRoom};
use common::ui_thread::{window_names, xdotool};
use common::{wait_until, Obs, ObsError, ObsOptions, RtmpServer};
use hmac::{Hmac, Mac};
use rtc_golive_simulator::Simulator;
use serde_json::{json, Value};
use sha2::Sha256;
use std::os::unix::process::ExitStatusExt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const PLATFORM_SERVICE: &str = "rtc_platform_golive";
const STREAM: &str = "plat_e2e-stream";
/// A CDN URL with a key of its own: the broker forwards to it, the plugin never sees it.
const CDN_URL: &str = "rtmp://cdn.example.com/live/plat-e2e?key=CDNKEY";
const ARTC_APP: &str = "plat-app";
const ROOM: AliyunRoom<'static> = AliyunRoom {
    app_id: ARTC_APP,
    channel_id: "room-7",
    user_id: "host-1",
    display_name: "主播 Plat",
};
/// A short lease, so that a stream outliving two of them proves the heartbeats came (the
/// plugin sends one every third of the lease, as the broker asks).
const LEASE_SECONDS: u64 = 6;

/// nginx-rtmp and the simulator wired to it, and a broker with both vendors on the simulator.
fn rig() -> (RtmpServer, Simulator, Broker) {
    let (rtmp, sim) = sim().start_with_ingest();
    let broker = Broker::start(
        BrokerOptions::new()
            .zego(&sim.base_url())
            .aliyun(&sim.base_url(), ARTC_APP)
            .set("sessions", "lease_seconds", &LEASE_SECONDS.to_string())
            .set("sessions", "sweep_seconds", "1"),
    );
    (rtmp, sim, broker)
}

fn settings(broker: &Broker, token: &str) -> Value {
    json!({"platform_url": broker.url(), "platform_token": token, "prefetch": false})
}

fn launch(settings: Value) -> Obs {
    Obs::launch(ObsOptions::new(PLATFORM_SERVICE, settings).with_plugin())
}

/// Every request the simulator received, of either vendor.
fn vendor_calls(sim: &Simulator) -> usize {
    sim.zego().requests().len() + sim.aliyun().requests().len()
}

/// The OBS log, OBS's stdout/stderr and the profile's service.json hold no vendor secret, and
/// the log and output not the token either.
fn assert_no_secret_in_obs(obs: &Obs, token: &str) {
    let log = obs.log_text();
    let output = obs.process_output();
    let profile = std::fs::read_to_string(obs.config_dir().join("basic/profiles/e2e/service.json"))
        .expect("the profile's service.json");
    for secret in BrokerOptions::secrets() {
        assert!(!log.contains(secret), "a broker secret reached OBS's log");
        assert!(
            !output.contains(secret),
            "a broker secret reached OBS's output"
        );
        assert!(
            !profile.contains(secret),
            "a broker secret reached the profile"
        );
    }
    assert!(!log.contains(token), "the token reached OBS's log");
    assert!(!output.contains(token), "the token reached OBS's output");
}

fn refusal_text(obs: &Obs) -> String {
    match obs.start_stream() {
        Err(ObsError::StartFailed {
            last_error: Some(text),
        }) => text,
        other => panic!("expected a refused start with a Last Error, got {other:?}"),
    }
}

/// `token` with its claims changed by `edit` and signed again with the broker's key: a token
/// the broker really signed, but expired or for another audience.
fn resigned(token: &str, edit: impl FnOnce(&mut Value)) -> String {
    let mut parts = token.split('.');
    let (header, payload) = (parts.next().unwrap(), parts.next().unwrap());
    let mut claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap())
        .expect("the token's claims are JSON");
    edit(&mut claims);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let signed = format!("{header}.{payload}");
    let mut mac = Hmac::<Sha256>::new_from_slice(BROKER_HS256_KEY.as_bytes()).unwrap();
    mac.update(signed.as_bytes());
    format!(
        "{signed}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

/// `token` with another stream id in its claims and the old signature.
fn tampered(token: &str) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    let claims = String::from_utf8(URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    let forged = claims.replace(STREAM, "someone-elses-stream");
    assert_ne!(forged, claims, "the token pins {STREAM}");
    format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(forged),
        parts[2]
    )
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[test]
fn goes_live_on_zego_with_heartbeats_and_stops_the_session() {
    let (rtmp, sim, broker) = rig();
    let token = broker.token("alice", &TokenPin::zego_with_cdn(STREAM, &[CDN_URL]));
    let mut obs = launch(settings(&broker, &token));

    obs.start_stream().expect("go-live through the broker");
    rtmp.wait_for_publish(Some(STREAM), Duration::from_secs(20))
        .expect("nginx receives the stream the token pins");
    let dispatches: Vec<_> = sim
        .zego()
        .requests()
        .into_iter()
        .filter(|r| r.action == "RTMPDispatchV2")
        .collect();
    assert_eq!(dispatches.len(), 1, "one dispatch, by the broker");
    assert_eq!(dispatches[0].params["StreamId"], STREAM);
    assert_eq!(dispatches[0].params["Type"], "push");
    // The broker creates the forward after answering the go-live.
    let forwarded = wait_until(Duration::from_secs(10), || {
        (sim.zego().cdn_rules(STREAM) == [CDN_URL]).then_some(())
    });
    assert!(
        forwarded.is_some(),
        "the broker's forward:\n{}",
        broker.log_tail(30)
    );

    // Two leases later the session and its forward are still there: the heartbeats came.
    std::thread::sleep(Duration::from_secs(2 * LEASE_SECONDS + 1));
    assert_eq!(
        sim.zego().cdn_rules(STREAM),
        [CDN_URL],
        "the forward outlives the lease only with heartbeats:\n{}",
        broker.log_tail(30)
    );
    assert!(
        broker.metrics().contains("rtc_golive_sessions 1"),
        "{}",
        broker.metrics()
    );
    assert!(
        !broker.output().contains("lapsed without a heartbeat"),
        "{}",
        broker.log_tail(30)
    );

    let go_live = obs.last_go_live();
    assert_eq!(go_live["provider"], PLATFORM_SERVICE, "{go_live}");
    assert_eq!(go_live["ok"], true, "{go_live}");
    assert_eq!(
        go_live["node"],
        format!("127.0.0.1:{}", rtmp.port()),
        "{go_live}"
    );

    obs.stop_stream().expect("stop");
    rtmp.wait_for_publish_done(Some(STREAM), Duration::from_secs(10))
        .expect("publish ends");
    common::wait_until(Duration::from_secs(5), || {
        sim.zego().cdn_rules(STREAM).is_empty().then_some(())
    })
    .unwrap_or_else(|| panic!("the stop deletes the forward:\n{}", broker.log_tail(30)));
    assert!(
        broker.output().contains("stop sub=alice"),
        "the stop reached the broker, not the lease:\n{}",
        broker.log_tail(30)
    );
    assert!(obs
        .log_text()
        .lines()
        .any(|l| l.contains("go-live: provider=platform")));
    assert_no_secret_in_obs(&obs, &token);
    assert_eq!(obs.quit().code(), Some(0));
}

/// A token revoked while live: the next heartbeat is refused, and the plugin stops the stream
/// (it would go on to the vendor's node without the platform's session and CDN forward) and
/// tells the streamer why and what to do, in its window.
#[test]
fn a_token_revoked_while_live_stops_the_stream_with_the_reason() {
    let (rtmp, sim, broker) = rig();
    let minted = broker.mint("alice", &TokenPin::zego_with_cdn(STREAM, &[CDN_URL]), None);
    let mut obs = launch(settings(&broker, &minted.token));
    obs.start_stream().expect("go-live through the broker");
    rtmp.wait_for_publish(Some(STREAM), Duration::from_secs(20))
        .expect("nginx receives the stream");
    assert_eq!(sim.zego().cdn_rules(STREAM), [CDN_URL]);

    broker.revoke(&minted.jti);
    // A heartbeat every third of the lease: the stream stops within one and a bit.
    let stopped = common::wait_until(Duration::from_secs(LEASE_SECONDS + 10), || {
        (!obs.stream_active()).then_some(())
    });
    assert!(
        stopped.is_some(),
        "the stream goes on with a revoked token:\n{}",
        broker.log_tail(30)
    );
    rtmp.wait_for_publish_done(Some(STREAM), Duration::from_secs(10))
        .expect("publish ends");
    let status = obs.plugin_status();
    let text = status["lastAlert"]["text"].as_str().unwrap_or_default();
    for part in [
        "Streaming was stopped",
        "token_revoked",
        "your token has been revoked",
        "ask your platform for a new token",
    ] {
        assert!(text.contains(part), "{part:?} not in the alert: {status}");
    }
    let window = common::wait_until(Duration::from_secs(10), || {
        window_names(obs.display())
            .contains("Properties for 'RTC Go-Live'")
            .then_some(())
    });
    assert!(
        window.is_some(),
        "the plugin's window opened with the reason"
    );
    assert!(obs
        .log_text()
        .contains("platform: the broker refused the heartbeat, stopping"));
    // The broker refuses the revoked token's stop too: the lease ends the forward.
    common::wait_until(Duration::from_secs(3 * LEASE_SECONDS), || {
        sim.zego().cdn_rules(STREAM).is_empty().then_some(())
    })
    .unwrap_or_else(|| panic!("the lease ends the forward:\n{}", broker.log_tail(30)));
    assert_no_secret_in_obs(&obs, &minted.token);
    assert_eq!(obs.quit().code(), Some(0));
}

#[test]
fn goes_live_on_aliyun_and_quitting_obs_stops_the_session() {
    let (rtmp, sim, broker) = rig();
    let token = broker.token("bob", &TokenPin::aliyun(ROOM));
    let mut obs = launch(settings(&broker, &token));

    obs.start_stream().expect("go-live through the broker");
    let stream = format!("{ARTC_APP}.{}.{}", ROOM.channel_id, ROOM.user_id);
    let publish = rtmp
        .wait_for_publish(Some(&stream), Duration::from_secs(20))
        .expect("nginx accepts the publish with the vendor's auth_key");
    assert!(publish.fields.contains_key("auth_key"), "{publish:?}");
    let created: Vec<_> = sim
        .aliyun()
        .requests()
        .into_iter()
        .filter(|r| r.action == "CreateRoomRealTimeStreamAddress")
        .collect();
    assert_eq!(created.len(), 1, "one address, by the broker");
    assert_eq!(created[0].params["ChannelId"], ROOM.channel_id);
    assert_eq!(created[0].params["UserId"], ROOM.user_id);
    assert_eq!(obs.last_go_live()["ok"], true);

    let obs_major = obs
        .request("GetVersion", |c| async move { c.general().version().await })
        .expect("GetVersion")
        .obs_studio_version
        .major;
    // Quitting while live: the stop goes out before OBS unloads the plugin.
    let status = obs.quit();
    // OBS 30.2.3 (Debian trixie) itself sometimes dies of a corrupted heap in its own shutdown
    // (free() under obs_output_release, realloc() under config_save) when it quits while
    // streaming, also with no plugin loaded at all; every other version must exit cleanly.
    let obs_crashed = obs_major == 30 && status.signal() == Some(libc::SIGSEGV);
    if !obs_crashed {
        assert_eq!(status.code(), Some(0), "{status}");
    }
    // When that crash comes before the output stops, nothing of the plugin runs any more: the
    // broker's lease ends the session instead (tests/e2e_platform's heartbeat test and
    // crates/broker/tests cover that path).
    assert!(
        obs_crashed || broker.output().contains("stop sub=bob"),
        "quitting OBS stops the session:\n{}",
        broker.log_tail(30)
    );
    assert_no_secret_in_obs(&obs, &token);
}

#[test]
fn bad_tokens_are_refused_with_a_clear_message_and_no_vendor_call() {
    let (rtmp, sim, broker) = rig();
    let minted = broker.mint("carol", &TokenPin::zego(STREAM), None);
    let revoked = broker.mint("carol", &TokenPin::zego(STREAM), None);
    broker.revoke(&revoked.jti);
    let cases = [
        (
            "tampered",
            tampered(&minted.token),
            "token_invalid",
            "copy the token again",
        ),
        (
            "expired",
            resigned(&minted.token, |c| c["exp"] = json!(unix_now() - 3600)),
            "token_expired",
            "ask your platform for a new token",
        ),
        (
            "wrong audience",
            resigned(&minted.token, |c| c["aud"] = json!("another-platform")),
            "token_audience",
            "same platform",
        ),
        (
            "revoked",
            revoked.token.clone(),
            "token_revoked",
            "ask your platform for a new token",
        ),
    ];
    let mut obs = launch(settings(&broker, &cases[0].1));
    for (what, token, code, action) in &cases {
        obs.set_stream_service(PLATFORM_SERVICE, &settings(&broker, token))
            .expect("SetStreamServiceSettings");
        let text = refusal_text(&obs);
        println!("{what}: {text}");
        assert!(text.contains(code), "{what}: {text}");
        assert!(text.contains(action), "{what}: {text}");
        let go_live = obs.last_go_live();
        assert_eq!(go_live["ok"], false, "{what}: {go_live}");
        assert_eq!(vendor_calls(&sim), 0, "{what}: no vendor call");

        // Test connection over obs-websocket shows the same refusal.
        let tested = obs.vendor_request("TestConnection", Value::Null);
        assert_eq!(tested["ok"], false, "{what}: {tested}");
        assert!(
            tested["error"].as_str().unwrap_or_default().contains(code),
            "{what}: {tested}"
        );
        assert_eq!(vendor_calls(&sim), 0, "{what}: no vendor call");
    }
    assert!(
        rtmp.wait_for_publish(None, Duration::from_secs(1))
            .is_none(),
        "nothing published"
    );
    for (_, token, _, _) in &cases {
        assert_no_secret_in_obs(&obs, token);
    }
    assert_eq!(obs.quit().code(), Some(0));
}

#[test]
fn test_connection_over_websocket_resolves_ahead_without_a_session() {
    let (rtmp, sim, broker) = rig();
    let token = broker.token("dave", &TokenPin::zego_with_cdn(STREAM, &[CDN_URL]));
    let mut obs = launch(settings(&broker, &token));
    obs.wait_for_log(
        "obs-websocket vendor obs-rtc-golive registered",
        Duration::from_secs(10),
    )
    .expect("post-load registration");

    let ok = obs.vendor_request("TestConnection", Value::Null);
    println!("TestConnection: {ok}");
    assert_eq!(ok["ok"], true, "{ok}");
    assert_eq!(ok["serviceType"], PLATFORM_SERVICE);
    assert_eq!(ok["node"], format!("127.0.0.1:{}", rtmp.port()));
    assert!(ok["latencyMs"].as_u64().is_some(), "{ok}");
    assert!(
        !ok["requestId"].as_str().unwrap_or_default().is_empty(),
        "{ok}"
    );
    // A dry run: no session, so no CDN forward.
    assert!(sim.zego().cdn_rules(STREAM).is_empty());
    assert!(
        broker.metrics().contains("rtc_golive_sessions 0"),
        "{}",
        broker.metrics()
    );

    let status = obs.vendor_request("GetStatus", Value::Null);
    assert_eq!(status["activeServiceType"], PLATFORM_SERVICE, "{status}");
    assert_eq!(status["activeServiceIsOurs"], true, "{status}");

    let mut bad = settings(&broker, &token);
    bad["platform_url"] = json!("http://platform.example.com");
    let refused = obs.vendor_request(
        "TestConnection",
        json!({"serviceType": PLATFORM_SERVICE, "settings": bad}),
    );
    assert_eq!(refused["ok"], false, "{refused}");
    assert_eq!(refused["field"], "platform_url", "{refused}");
    assert_no_secret_in_obs(&obs, &token);
    assert_eq!(obs.quit().code(), Some(0));
}

#[test]
fn chinese_ui_gets_a_chinese_refusal() {
    let (_rtmp, sim, broker) = rig();
    let minted = broker.mint("erin", &TokenPin::zego(STREAM), None);
    let expired = resigned(&minted.token, |c| c["exp"] = json!(unix_now() - 3600));
    let mut obs = Obs::launch(
        ObsOptions::new(PLATFORM_SERVICE, settings(&broker, &expired))
            .with_plugin()
            .with_ui_language("zh-CN"),
    );
    let text = refusal_text(&obs);
    println!("zh-CN: {text}");
    assert!(text.contains("令牌已过期"), "{text}");
    assert!(text.contains("申请新的令牌"), "{text}");
    assert_eq!(vendor_calls(&sim), 0);
    assert_eq!(obs.quit().code(), Some(0));
}

#[test]
fn warm_go_live_uses_the_ingest_resolved_ahead() {
    let (rtmp, _sim, broker) = rig();
    let token = broker.token("frank", &TokenPin::zego(STREAM));
    let mut s = settings(&broker, &token);
    s["prefetch"] = json!(true);
    let mut obs = launch(s);
    obs.wait_for_log("resolved ahead: node", Duration::from_secs(20))
        .expect("resolves ahead through the broker");
    assert!(
        broker.output().contains("ahead=true"),
        "{}",
        broker.log_tail(20)
    );
    assert!(
        broker.metrics().contains("rtc_golive_sessions 0"),
        "resolving ahead opens no session"
    );

    obs.start_stream().expect("warm go-live");
    rtmp.wait_for_publish(Some(STREAM), Duration::from_secs(20))
        .expect("publish");
    assert!(obs.log_text().contains("using the node resolved ahead"));
    // The start still opens its session.
    assert!(
        broker.output().contains("ahead=false"),
        "{}",
        broker.log_tail(20)
    );
    obs.stop_stream().expect("stop");
    common::wait_until(Duration::from_secs(5), || {
        broker.output().contains("stop sub=frank").then_some(())
    })
    .unwrap_or_else(|| panic!("the stop reaches the broker:\n{}", broker.log_tail(20)));
    assert_no_secret_in_obs(&obs, &token);
    assert_eq!(obs.quit().code(), Some(0));
}

#[test]
fn a_reconnect_moves_to_the_next_node_then_asks_the_broker_for_fresh_ones() {
    let mut first = RtmpServer::start();
    let mut second = RtmpServer::start();
    let third = RtmpServer::start();
    let sim = sim()
        .zego(vec![first.rtmp_url(), second.rtmp_url()])
        .start();
    let broker = Broker::start(BrokerOptions::new().zego(&sim.base_url()));
    let token = broker.token("gina", &TokenPin::zego(STREAM));
    // OBS reconnecting after one second instead of its default wait.
    let mut obs = Obs::launch(
        ObsOptions::new(PLATFORM_SERVICE, settings(&broker, &token))
            .with_plugin()
            .with_profile_ini("Output", "Reconnect", "true")
            .with_profile_ini("Output", "RetryDelay", "1")
            .with_profile_ini("Output", "MaxRetries", "20"),
    );

    obs.start_stream().expect("go-live");
    first
        .wait_for_publish(Some(STREAM), Duration::from_secs(20))
        .expect("publish on the first node");

    // The first node dies: the next node of the answer, without asking the broker.
    first.kill();
    second
        .wait_for_publish(Some(STREAM), Duration::from_secs(15))
        .expect("the stream continues on the second node");
    assert!(!broker.output().contains("fresh=true"));

    // Every node of the answer failed: a fresh resolution for the same session.
    sim.zego().set_nodes(vec![third.rtmp_url()]);
    second.kill();
    third
        .wait_for_publish(Some(STREAM), Duration::from_secs(20))
        .expect("the stream continues on the node of the fresh answer");
    let output = broker.output();
    assert!(
        output.contains("ahead=true fresh=true"),
        "{}",
        broker.log_tail(20)
    );
    assert_eq!(
        output.matches("ahead=false").count(),
        1,
        "one session for the whole stream:\n{}",
        broker.log_tail(20)
    );
    assert!(obs.stream_active());
    obs.stop_stream().expect("stop");
    common::wait_until(Duration::from_secs(5), || {
        broker.output().contains("stop sub=gina").then_some(())
    })
    .unwrap_or_else(|| panic!("the stop reaches the broker:\n{}", broker.log_tail(20)));
    assert_eq!(obs.quit().code(), Some(0));
}

/// Presses `keys` in OBS's X display.
fn key(display: &str, keys: &str) {
    xdotool(display, &["key", "--delay", "60", keys]).expect("xdotool key");
    std::thread::sleep(Duration::from_millis(150));
}

/// The first visible window whose name matches `pattern`, waiting up to 10 s.
fn find_window(display: &str, pattern: &str) -> Option<String> {
    common::wait_until(Duration::from_secs(10), || {
        xdotool(display, &["search", "--onlyvisible", "--name", pattern])
            .ok()
            .and_then(|out| out.lines().next().map(str::to_owned))
    })
}

#[test]
fn the_settings_window_offers_the_platform_and_tests_its_connection() {
    let (rtmp, _sim, broker) = rig();
    let token = broker.token("hana", &TokenPin::zego(STREAM));
    let mut obs = launch(settings(&broker, &token));
    obs.wait_for_log(
        "obs-websocket vendor obs-rtc-golive registered",
        Duration::from_secs(10),
    )
    .expect("post-load registration");
    let display = obs.display().to_owned();

    // Tools -> RTC Go-Live... (the last item of the Tools menu), seeded from the profile's
    // platform service: its provider is chosen and its URL and token are filled in.
    let main = find_window(&display, "^OBS ").expect("OBS's main window");
    let window = (0..3)
        .find_map(|_| {
            xdotool(&display, &["windowfocus", "--sync", &main]).ok()?;
            std::thread::sleep(Duration::from_millis(300));
            key(&display, "alt+t");
            std::thread::sleep(Duration::from_millis(400));
            key(&display, "Up");
            key(&display, "Return");
            let found = find_window(&display, "RTC Go-Live");
            if found.is_none() {
                key(&display, "Escape");
            }
            found
        })
        .unwrap_or_else(|| panic!("the window did not open:\n{}", window_names(&display)));
    let _ = xdotool(&display, &["windowsize", "--sync", &window, "800", "720"]);
    xdotool(&display, &["windowfocus", "--sync", &window]).expect("focus the window");
    std::thread::sleep(Duration::from_millis(700));

    // Its own Test connection button: a resolve ahead through the broker.
    key(&display, "alt+t");
    let line = obs
        .wait_for_log(
            "test connection: provider=platform",
            Duration::from_secs(15),
        )
        .expect("the window's Test connection runs for the platform");
    assert!(line.contains("ok=true"), "{line}");
    assert!(
        line.contains(&format!("node=127.0.0.1:{}", rtmp.port())),
        "{line}"
    );
    std::thread::sleep(Duration::from_millis(1500));
    let shot = common::util::artifacts_dir(&common::util::current_test_name())
        .join("settings-platform.png");
    let status = std::process::Command::new("import")
        .args(["-window", &window, shot.to_str().expect("UTF-8 path")])
        .env("DISPLAY", &display)
        .status()
        .expect("cannot run import (Debian package `imagemagick`)");
    assert!(status.success(), "import failed");
    println!("screenshot: {}", shot.display());
    assert!(
        broker.metrics().contains("rtc_golive_sessions 0"),
        "a test opens no session"
    );
    key(&display, "Escape");
    std::thread::sleep(Duration::from_millis(500));
    assert_no_secret_in_obs(&obs, &token);
    assert_eq!(obs.quit().code(), Some(0));
}
