//! The `zego_rtmp_pull` source in a real OBS: ffmpeg publishes colour bars with a tone to
//! nginx-rtmp, the source (added over obs-websocket) pull-dispatches on the simulator and plays
//! the node; its picture (GetSourceScreenshot) and sound (InputVolumeMeters) are checked, and
//! after the node dies and the stream is republished elsewhere, it comes back on its own. In
//! platform mode the real broker makes the pull dispatch for the streamer's token.

// The test harness (rtc-golive-test-support) is Unix only.
#![cfg(unix)]

use rtc_golive_test_support as common;

use common::fixtures::{SettingsBuilder, ZEGO_SERVER_SECRET, ZEGO_SERVICE};
use common::pull::{
    add_pull_source, loudest_level, remove_input, screenshot, screenshot_png, set_item_enabled,
    shows_smpte_bars, wait_for_picture, Picture, Publisher, PullRig, PATTERN_HEIGHT, PATTERN_WIDTH,
};
use common::{Broker, BrokerOptions, Obs, ObsOptions, TokenPin};
use rtc_golive_simulator::RecordedRequest;
use serde_json::json;
use std::path::Path;
use std::process::ExitStatus;
use std::time::{Duration, Instant};

const STREAM: &str = "guest_e2e-stream";
const SOURCE: &str = "Guest";
/// How far a colour bar may drift through H.264 and OBS's colour conversions.
const TOLERANCE: u8 = 40;
/// A picture no brighter than this is "nothing" (black, or transparent read as black).
const BLACK: u8 = 16;

/// OBS with the plugin's ZEGOCLOUD service on the simulator, whose credentials the source uses.
fn launch(rig: &PullRig) -> Obs {
    let service = SettingsBuilder::zego(&rig.sim.base_url(), "host_stream")
        .cold()
        .build();
    Obs::launch(ObsOptions::new(ZEGO_SERVICE, service).with_plugin())
}

fn bars(picture: &Picture) -> bool {
    shows_smpte_bars(picture, TOLERANCE)
}

fn nothing(picture: &Picture) -> bool {
    picture.max_level() <= BLACK
}

#[test]
fn plays_a_published_stream_and_comes_back_after_its_node_dies() {
    let mut rig = PullRig::start();
    let publisher = Publisher::start(&rig.first, STREAM);
    let mut obs = launch(&rig);

    let added = Instant::now();
    add_pull_source(&obs, SOURCE, &json!({ "stream_id": STREAM })).expect("CreateInput");
    let (picture, took) = wait_for_picture(&obs, SOURCE, Duration::from_secs(30), bars)
        .unwrap_or_else(|| {
            panic!(
                "the colour bars never showed; last picture max level {:?}; log:\n{}",
                screenshot(&obs, SOURCE, 320, 180).map(|p| p.max_level()),
                obs.log_text()
            )
        });
    println!("pull: CreateInput -> colour bars in {took:?}");
    assert!(picture.max_level() > BLACK);
    let first_frame = obs
        .wait_for_log("pull 'Guest': first frame", Duration::from_secs(5))
        .expect("the plugin logs the first frame");
    println!(
        "{first_frame} (total since CreateInput {:?})",
        added.elapsed()
    );

    // The dispatch was a signed pull for the source's stream, with the service's AppID.
    let pulls: Vec<_> = rig
        .sim
        .zego()
        .requests()
        .into_iter()
        .filter(|r| r.action == "RTMPDispatchV2" && r.params["Type"] == "pull")
        .collect();
    assert!(!pulls.is_empty(), "no pull dispatch");
    assert_eq!(pulls[0].params["StreamId"], STREAM);
    assert_eq!(pulls[0].code, 0);

    // The tone moves the source's own meter.
    let level = loudest_level(&obs, SOURCE, Duration::from_secs(3));
    assert!(level > 0.02, "the volume meter stayed at {level}");
    println!("pull: loudest meter level {level:.3}");

    if std::env::var_os("RTC_GOLIVE_UPDATE_DOCS").is_some() {
        let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots");
        std::fs::create_dir_all(&docs).expect("docs/screenshots");
        let png = screenshot_png(&obs, SOURCE, PATTERN_WIDTH, PATTERN_HEIGHT).expect("screenshot");
        std::fs::write(docs.join("pull-source-guest.png"), png).expect("write the screenshot");
    }

    // Hidden from the program, the source is inactive and shows nothing; shown again, it
    // dispatches again and plays.
    let dispatches = || {
        rig.sim
            .zego()
            .requests()
            .iter()
            .filter(|r| r.params.get("Type").is_some_and(|t| t == "pull"))
            .count()
    };
    let before = dispatches();
    set_item_enabled(&obs, SOURCE, false).expect("hide the source");
    wait_for_picture(&obs, SOURCE, Duration::from_secs(10), nothing)
        .expect("an inactive source shows nothing");
    set_item_enabled(&obs, SOURCE, true).expect("show the source");
    wait_for_picture(&obs, SOURCE, Duration::from_secs(30), bars)
        .expect("the source plays again once active");
    assert!(dispatches() > before, "reactivation dispatched again");

    // The node dies with the publisher on it: nothing is shown rather than a frozen frame...
    rig.first.kill();
    drop(publisher);
    let died = Instant::now();
    wait_for_picture(&obs, SOURCE, Duration::from_secs(20), nothing)
        .expect("the picture went away when the node died");
    println!("pull: node died -> nothing shown in {:?}", died.elapsed());

    // ...and once the stream is published on another node, it comes back without user action.
    let _publisher = Publisher::start(&rig.second, STREAM);
    let republished = Instant::now();
    let (_, back) = wait_for_picture(&obs, SOURCE, Duration::from_secs(40), bars)
        .unwrap_or_else(|| panic!("the picture never came back; log:\n{}", obs.log_text()));
    println!(
        "pull: republished -> colour bars in {back:?} ({:?} since the node died)",
        died.elapsed()
    );
    assert!(republished.elapsed() >= back);
    // The status follows the first frame, which the picture may show a moment before.
    obs.wait_for_log(
        &format!("from 127.0.0.1:{}", rig.second.port()),
        Duration::from_secs(5),
    )
    .expect("the log names the new node");
    let log = obs.log_text();
    assert!(
        !log.contains(ZEGO_SERVER_SECRET),
        "the ServerSecret reached the log"
    );
    for request in rig.sim.zego().requests() {
        assert!(
            !log.contains(&request.params["Signature"]),
            "a signature reached the log"
        );
    }
    // Removed while it plays (its player goes with it), then the quit.
    assert_eq!(quit_with_an_empty_mixer(&mut obs, SOURCE).code(), Some(0));
}

#[test]
fn an_unpublished_stream_shows_nothing_and_says_why() {
    let rig = PullRig::start();
    let mut obs = launch(&rig);

    add_pull_source(&obs, "Nobody", &json!({ "stream_id": "nobody_publishes" }))
        .expect("CreateInput");
    let line = obs
        .wait_for_log(
            "pull 'Nobody': Stream nobody_publishes is not being published",
            Duration::from_secs(20),
        )
        .unwrap_or_else(|| panic!("no reason in the log:\n{}", obs.log_text()));
    assert!(line.contains("code 1003"), "{line}");
    println!("{line}");
    let picture = screenshot(&obs, "Nobody", 320, 180).expect("GetSourceScreenshot");
    assert!(nothing(&picture), "max level {}", picture.max_level());

    // It keeps checking, spaced out: a second refusal comes, but not a storm.
    let refusals = || {
        rig.sim
            .zego()
            .requests()
            .iter()
            .filter(|r| r.params.get("Type").is_some_and(|t| t == "pull") && r.code == 1003)
            .count()
    };
    assert!(
        common::wait_until(Duration::from_secs(15), || (refusals() >= 2).then_some(())).is_some()
    );
    std::thread::sleep(Duration::from_secs(3));
    assert!(refusals() < 8, "{} dispatches in about 18 s", refusals());
    assert!(!obs.log_text().contains(ZEGO_SERVER_SECRET));
    assert_eq!(quit_with_an_empty_mixer(&mut obs, "Nobody").code(), Some(0));
}

#[test]
fn the_source_follows_the_streaming_service_as_the_streamer_sets_it_up() {
    let rig = PullRig::start();
    let _publisher = Publisher::start(&rig.first, STREAM);
    let custom = json!({"server": "rtmp://127.0.0.1/live", "key": "k"});
    let mut obs = Obs::launch(ObsOptions::new("rtmp_custom", custom).with_plugin());
    let source_log = |needle: &str| {
        let line = |l: &&str| l.contains(&format!("pull '{SOURCE}': ")) && l.contains(needle);
        obs.log_text().lines().find(line).map(str::to_owned)
    };

    // OBS streams to a custom server: the source has no credentials to use, and says so.
    add_pull_source(&obs, SOURCE, &json!({ "stream_id": STREAM })).expect("CreateInput");
    common::wait_until(Duration::from_secs(20), || {
        source_log("is neither ZEGOCLOUD (RTMP dispatch) nor RTC room")
    })
    .unwrap_or_else(|| panic!("no reason in the log:\n{}", obs.log_text()));
    assert!(pull_dispatches(&rig, STREAM).is_empty());

    // The streamer sets up the ZEGOCLOUD service, with a typo in the secret: the source
    // dispatches at once, and ZEGOCLOUD refuses the signature.
    let wrong: String = ZEGO_SERVER_SECRET.chars().rev().collect();
    assert_ne!(wrong, ZEGO_SERVER_SECRET);
    let service = SettingsBuilder::zego(&rig.sim.base_url(), "host_stream")
        .cold()
        .with("server_secret", wrong.as_str())
        .build();
    obs.set_stream_service(ZEGO_SERVICE, &service)
        .expect("SetStreamServiceSettings");

    // A refusal asking again cannot change: the source would wait 30 to 60 s...
    let line = common::wait_until(Duration::from_secs(20), || source_log("trying again in"))
        .unwrap_or_else(|| panic!("no refusal in the log:\n{}", obs.log_text()));
    assert!(line.contains("100000005"), "{line}");
    let retry_in = refusal_wait_secs(&line);

    // ...but the streamer fixes the secret in the service (SetStreamServiceSettings with the
    // same type updates it in place): the source asks again now, with the new secret, and
    // plays.
    let fixed = Instant::now();
    obs.set_stream_service(
        ZEGO_SERVICE,
        &json!({ "server_secret": ZEGO_SERVER_SECRET }),
    )
    .expect("SetStreamServiceSettings");
    let (_, took) = wait_for_picture(&obs, SOURCE, Duration::from_secs(retry_in), bars)
        .unwrap_or_else(|| panic!("the fix never reached the source; log:\n{}", obs.log_text()));
    println!("pull: secret fixed -> colour bars in {took:?} (the refusal's wait was {retry_in} s)");
    assert!(fixed.elapsed() < Duration::from_secs(retry_in));
    let codes: Vec<i64> = pull_dispatches(&rig, STREAM)
        .iter()
        .map(|r| r.code)
        .collect();
    assert_eq!(
        codes,
        [100000005, 0],
        "one refusal, then one dispatch with the fixed secret"
    );
    assert!(
        !obs.log_text().contains(&wrong),
        "the wrong secret reached the log"
    );
    assert_eq!(quit_with_an_empty_mixer(&mut obs, SOURCE).code(), Some(0));
}

/// The wait a refusal's status line announces ("trying again in N s"), checked to lie in the
/// 30 to 60 s a refusal waits.
fn refusal_wait_secs(line: &str) -> u64 {
    let secs: u64 = line
        .split("trying again in ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|secs| secs.parse().ok())
        .unwrap_or_else(|| panic!("no retry time in: {line}"));
    assert!((30..=60).contains(&secs), "{line}");
    secs
}

/// Removes `source`, lets the UI settle and quits OBS. OBS 29.0.2 itself now and then crashes
/// at exit while any audio source is in its mixer: Qt paints a widget that
/// `OBSBasic::ClearSceneData` freed (SIGSEGV or SIGBUS, no plugin frame on any thread), with
/// OBS's own Media Source and no plugin loaded as with this source, and never with no audio
/// source (`examples/mixer_quit.rs`, figures in docs/quit-loop.md).
fn quit_with_an_empty_mixer(obs: &mut Obs, source: &str) -> ExitStatus {
    remove_input(obs, source).expect("RemoveInput");
    obs.ui_changed();
    obs.quit()
}

/// The platform service's type id.
const PLATFORM_SERVICE: &str = "rtc_platform_golive";
/// A stream the platform token may not play.
const OTHER: &str = "not_for_this_token";
/// A stream the platform token may play that nobody publishes.
const UNPUBLISHED: &str = "allowed_but_unpublished";

/// OBS streaming through the platform: its service holds only the broker's URL and `token`.
fn launch_on_platform(broker: &Broker, token: &str) -> Obs {
    let service = json!({"platform_url": broker.url(), "platform_token": token, "prefetch": false});
    Obs::launch(ObsOptions::new(PLATFORM_SERVICE, service).with_plugin())
}

/// The pull dispatches the simulator received for `stream`.
fn pull_dispatches(rig: &PullRig, stream: &str) -> Vec<RecordedRequest> {
    rig.sim
        .zego()
        .requests()
        .into_iter()
        .filter(|r| {
            r.action == "RTMPDispatchV2"
                && r.params.get("Type").is_some_and(|t| t == "pull")
                && r.params.get("StreamId").is_some_and(|s| s == stream)
        })
        .collect()
}

#[test]
fn plays_through_the_platform_with_the_service_s_token() {
    let rig = PullRig::start();
    let _publisher = Publisher::start(&rig.first, STREAM);
    let broker = Broker::start(BrokerOptions::new().zego(&rig.sim.base_url()));
    let token = broker.token(
        "host",
        &TokenPin::zego_playing("host_stream", &[STREAM, UNPUBLISHED]),
    );
    let mut obs = launch_on_platform(&broker, &token);

    // A stream the token may play: the broker dispatches, the source shows the picture.
    add_pull_source(&obs, SOURCE, &json!({ "stream_id": STREAM })).expect("CreateInput");
    wait_for_picture(&obs, SOURCE, Duration::from_secs(30), bars).unwrap_or_else(|| {
        panic!(
            "the colour bars never showed; OBS log:\n{}\nbroker log:\n{}",
            obs.log_text(),
            broker.log_tail(40)
        )
    });
    let pulls = pull_dispatches(&rig, STREAM);
    assert!(!pulls.is_empty(), "no pull dispatch reached the vendor");
    assert_eq!(pulls[0].code, 0);
    let broker_log = broker.output();
    assert!(
        broker_log
            .lines()
            .any(|l| l.contains("play sub=host") && l.contains(&format!("stream={STREAM} ok"))),
        "the broker did not serve the /v1/play:\n{broker_log}"
    );

    // Removed while it plays: its player goes with it (one source at a time from here on, as
    // OBS 29.0 may crash at exit repainting a crowded mixer).
    remove_input(&obs, SOURCE).expect("RemoveInput");

    // A stream it may not play: nothing is shown, the log says why, and the vendor is not asked.
    add_pull_source(&obs, "Other", &json!({ "stream_id": OTHER })).expect("CreateInput");
    let line = obs
        .wait_for_log(
            &format!("pull 'Other': Your platform refused to play stream {OTHER} (forbidden)"),
            Duration::from_secs(20),
        )
        .unwrap_or_else(|| panic!("no refusal in the log:\n{}", obs.log_text()));
    assert!(line.contains("does not allow playing"), "{line}");
    let picture = screenshot(&obs, "Other", 320, 180).expect("GetSourceScreenshot");
    assert!(nothing(&picture), "max level {}", picture.max_level());
    // A refusal asking again cannot change is not asked again for 30 s: one request in the
    // 3 s after it (the normal backoff would have made two or three).
    std::thread::sleep(Duration::from_secs(3));
    let forbidden = format!("stream={OTHER} refused: forbidden");
    let asked = broker
        .output()
        .lines()
        .filter(|l| l.contains(&forbidden))
        .count();
    assert_eq!(asked, 1, "{}", broker.log_tail(20));
    refusal_wait_secs(&line);
    assert!(
        pull_dispatches(&rig, OTHER).is_empty(),
        "a vendor call for a refused stream"
    );

    remove_input(&obs, "Other").expect("RemoveInput");

    // A stream it may play that nobody publishes: the broker's "not published" (the vendor's
    // 1003) is said as such.
    add_pull_source(&obs, "Nobody", &json!({ "stream_id": UNPUBLISHED })).expect("CreateInput");
    let line = obs
        .wait_for_log(
            &format!("pull 'Nobody': Stream {UNPUBLISHED} is not being published"),
            Duration::from_secs(20),
        )
        .unwrap_or_else(|| panic!("no reason in the log:\n{}", obs.log_text()));
    assert!(line.contains("nobody publishes it now"), "{line}");
    let refused = pull_dispatches(&rig, UNPUBLISHED);
    assert!(
        !refused.is_empty() && refused.iter().all(|r| r.code == 1003),
        "{refused:?}"
    );

    // OBS never held a vendor secret, and the token stayed out of its log.
    let log = obs.log_text();
    for secret in BrokerOptions::secrets() {
        assert!(!log.contains(secret), "a broker secret reached OBS's log");
    }
    assert!(!log.contains(&token), "the token reached OBS's log");
    assert_eq!(quit_with_an_empty_mixer(&mut obs, "Nobody").code(), Some(0));
}

/// The pull source registers `obs_source_info` and forwards audio with `obs-sys`'s bindings
/// (generated from an older libobs, whose structs are a prefix of the newer ones): every field
/// it sets, and the audio structs it reads and fills, must sit where the installed headers put
/// them, on every OBS version the tests run on. A C probe prints the headers' offsets.
#[test]
fn source_structs_match_the_installed_headers() {
    use obs_wrapper::obs_sys::{audio_data, obs_source_audio, obs_source_info};
    use std::mem::{offset_of, size_of};

    let fields: &[(&str, &str, usize)] = &[
        ("obs_source_info", "id", offset_of!(obs_source_info, id)),
        (
            "obs_source_info",
            "type",
            offset_of!(obs_source_info, type_),
        ),
        (
            "obs_source_info",
            "output_flags",
            offset_of!(obs_source_info, output_flags),
        ),
        (
            "obs_source_info",
            "get_name",
            offset_of!(obs_source_info, get_name),
        ),
        (
            "obs_source_info",
            "create",
            offset_of!(obs_source_info, create),
        ),
        (
            "obs_source_info",
            "destroy",
            offset_of!(obs_source_info, destroy),
        ),
        (
            "obs_source_info",
            "get_width",
            offset_of!(obs_source_info, get_width),
        ),
        (
            "obs_source_info",
            "get_height",
            offset_of!(obs_source_info, get_height),
        ),
        (
            "obs_source_info",
            "get_defaults",
            offset_of!(obs_source_info, get_defaults),
        ),
        (
            "obs_source_info",
            "get_properties",
            offset_of!(obs_source_info, get_properties),
        ),
        (
            "obs_source_info",
            "update",
            offset_of!(obs_source_info, update),
        ),
        (
            "obs_source_info",
            "activate",
            offset_of!(obs_source_info, activate),
        ),
        (
            "obs_source_info",
            "deactivate",
            offset_of!(obs_source_info, deactivate),
        ),
        (
            "obs_source_info",
            "video_tick",
            offset_of!(obs_source_info, video_tick),
        ),
        (
            "obs_source_info",
            "video_render",
            offset_of!(obs_source_info, video_render),
        ),
        (
            "obs_source_info",
            "enum_active_sources",
            offset_of!(obs_source_info, enum_active_sources),
        ),
        (
            "obs_source_info",
            "enum_all_sources",
            offset_of!(obs_source_info, enum_all_sources),
        ),
        (
            "obs_source_info",
            "icon_type",
            offset_of!(obs_source_info, icon_type),
        ),
        ("audio_data", "data", offset_of!(audio_data, data)),
        ("audio_data", "frames", offset_of!(audio_data, frames)),
        ("audio_data", "timestamp", offset_of!(audio_data, timestamp)),
        (
            "obs_source_audio",
            "data",
            offset_of!(obs_source_audio, data),
        ),
        (
            "obs_source_audio",
            "frames",
            offset_of!(obs_source_audio, frames),
        ),
        (
            "obs_source_audio",
            "speakers",
            offset_of!(obs_source_audio, speakers),
        ),
        (
            "obs_source_audio",
            "format",
            offset_of!(obs_source_audio, format),
        ),
        (
            "obs_source_audio",
            "samples_per_sec",
            offset_of!(obs_source_audio, samples_per_sec),
        ),
        (
            "obs_source_audio",
            "timestamp",
            offset_of!(obs_source_audio, timestamp),
        ),
    ];
    let mut program = String::from(
        "#include <stdio.h>\n#include <stddef.h>\n#include <obs/obs-module.h>\nint main(void) {\n",
    );
    for (name, field, _) in fields {
        program.push_str(&format!(
            "printf(\"{name}.{field} %zu\\n\", offsetof(struct {name}, {field}));\n"
        ));
    }
    for name in ["obs_source_info", "audio_data", "obs_source_audio"] {
        program.push_str(&format!(
            "printf(\"{name} %zu\\n\", sizeof(struct {name}));\n"
        ));
    }
    program.push_str("return 0;\n}\n");
    let dir = std::env::temp_dir().join(format!("obs-source-layout-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let (source, binary) = (dir.join("layout.c"), dir.join("layout"));
    std::fs::write(&source, program).expect("write the probe");
    let cc = std::process::Command::new("cc")
        .arg(&source)
        .arg("-o")
        .arg(&binary)
        .output()
        .expect("run cc (install gcc and libobs-dev)");
    assert!(
        cc.status.success(),
        "{}",
        String::from_utf8_lossy(&cc.stderr)
    );
    let out = std::process::Command::new(&binary)
        .output()
        .expect("run the probe");
    let c: std::collections::BTreeMap<String, usize> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(k, v)| (k.to_string(), v.parse().expect("a number")))
        .collect();
    for (name, field, rust) in fields {
        assert_eq!(
            c[&format!("{name}.{field}")],
            *rust,
            "offset of {name}.{field}"
        );
    }
    // Ours is registered with its own size: libobs takes it as an older plugin's prefix.
    assert!(size_of::<obs_source_info>() <= c["obs_source_info"]);
    assert_eq!(size_of::<audio_data>(), c["audio_data"]);
    assert_eq!(size_of::<obs_source_audio>(), c["obs_source_audio"]);
}
