//! How fast the `zego_rtmp_pull` source shows a room's stream, next to OBS's own Media Source
//! given the same URL by hand, and how fast it comes back after its node dies.
//!
//! ```sh
//! cargo build --lib && cargo run -p rtc-golive-test-support --example pull_timing [runs]
//! ```
//!
//! In a real OBS 29.0.2 on Xvfb, with ffmpeg publishing colour bars and a tone to nginx-rtmp:
//! - activation to first frame: `CreateInput` (the source lands in the program scene, so it is
//!   active at once) until GetSourceScreenshot shows the colour bars, for each source type
//!   (alternating, each run a fresh input); the plugin's own log line ("first frame N ms after
//!   activation") is reported too, as it has no screenshot polling in it;
//! - recovery: the node is killed with the publisher on it and the stream is published on a
//!   fresh node at once; time from the kill until the bars are back (after the picture went
//!   away: the bars do not move, so a frozen frame would look the same).
//!
//! Prints the figures and writes `docs/benchmarks-pull.md`.

use rtc_golive_test_support as common;

use common::fixtures::{SettingsBuilder, ZEGO_SERVICE};
use common::pull::{
    add_input, add_pull_source, play_url, remove_input, shows_smpte_bars, wait_for_picture,
    Publisher, PullRig,
};
use common::report::{ms, Stats};
use common::{Obs, ObsOptions};
use serde_json::json;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

const STREAM: &str = "timing_stream";
const TIMEOUT: Duration = Duration::from_secs(40);

fn bars(picture: &common::pull::Picture) -> bool {
    shows_smpte_bars(picture, 40)
}

/// Adds an input, waits for the bars, removes it: the time to the bars.
fn time_to_bars(obs: &Obs, name: &str, add: impl FnOnce(&Obs, &str)) -> Duration {
    let started = Instant::now();
    add(obs, name);
    wait_for_picture(obs, name, TIMEOUT, bars)
        .unwrap_or_else(|| panic!("{name} never showed the colour bars"));
    let took = started.elapsed();
    remove_input(obs, name).expect("RemoveInput");
    took
}

/// The plugin's "first frame N ms after activation, M ms after the node was handed to the
/// player" for source `name`: both times.
fn logged_first_frame(obs: &Obs, name: &str) -> Option<(Duration, Duration)> {
    let line = obs.wait_for_log(
        &format!("pull '{name}': first frame"),
        Duration::from_secs(5),
    )?;
    let rest = line.split("first frame ").nth(1)?;
    let millis = |text: &str| {
        text.split(' ')
            .next()?
            .parse()
            .ok()
            .map(Duration::from_millis)
    };
    Some((millis(rest)?, millis(rest.split(", ").nth(1)?)?))
}

fn main() {
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(7);
    let mut rig = PullRig::start();
    let mut node_publisher = Some(Publisher::start(&rig.first, STREAM));
    let service = SettingsBuilder::zego(&rig.sim.base_url(), "host_stream")
        .cold()
        .build();
    let mut obs = Obs::launch(ObsOptions::new(ZEGO_SERVICE, service).with_plugin());
    let url = play_url(&rig.first, STREAM);

    // One of each first, unmeasured: the first decoder OBS opens pays for loading it.
    time_to_bars(&obs, "warm-up pull", |obs, name| {
        add_pull_source(obs, name, &json!({ "stream_id": STREAM })).expect("CreateInput");
    });
    time_to_bars(&obs, "warm-up media", |obs, name| {
        add_input(obs, name, "ffmpeg_source", &media_settings(&url)).expect("CreateInput");
    });

    let (mut pull, mut logged, mut before_play, mut media) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for run in 0..runs {
        let name = format!("pull {run}");
        pull.push(time_to_bars(&obs, &name, |obs, name| {
            add_pull_source(obs, name, &json!({ "stream_id": STREAM })).expect("CreateInput");
        }));
        if let Some((activation, handed)) = logged_first_frame(&obs, &name) {
            logged.push(activation);
            before_play.push(activation.saturating_sub(handed));
        }
        media.push(time_to_bars(&obs, &format!("media {run}"), |obs, name| {
            add_input(obs, name, "ffmpeg_source", &media_settings(&url)).expect("CreateInput");
        }));
        println!(
            "run {run}: pull {} ms, media source {} ms",
            ms(pull[run]),
            ms(media[run])
        );
    }

    // Recovery: the source stays; its node dies and the stream moves to a fresh node.
    add_pull_source(&obs, "recovering", &json!({ "stream_id": STREAM })).expect("CreateInput");
    wait_for_picture(&obs, "recovering", TIMEOUT, bars).expect("the source plays");
    let mut recovery = Vec::new();
    for run in 0..runs {
        let next = rig.start_node();
        rig.first.kill();
        node_publisher.take();
        let died = Instant::now();
        node_publisher = Some(Publisher::start(&next, STREAM));
        // The bars do not move: the last frame of the dead node must be gone first, or it
        // would pass for the new node's.
        wait_for_picture(&obs, "recovering", TIMEOUT, |p| p.max_level() <= 16)
            .unwrap_or_else(|| panic!("the dead node's picture stayed in run {run}"));
        wait_for_picture(&obs, "recovering", TIMEOUT, bars)
            .unwrap_or_else(|| panic!("no recovery in run {run}; log:\n{}", obs.log_text()));
        recovery.push(died.elapsed());
        println!("recovery {run}: {} ms", ms(recovery[run]));
        // The stream's node from now on; the dead one is dropped.
        drop(std::mem::replace(&mut rig.first, next));
    }
    assert_eq!(obs.quit().code(), Some(0));

    let report = report(runs, &pull, &logged, &before_play, &media, &recovery);
    print!("{report}");
    let path = common::workspace_dir().join("docs/benchmarks-pull.md");
    std::fs::write(&path, report).expect("write docs/benchmarks-pull.md");
    println!("written to {}", path.display());
}

/// A Media Source as a user would set it up by hand for the same stream.
fn media_settings(url: &str) -> serde_json::Value {
    json!({ "is_local_file": false, "input": url, "hw_decode": true,
            "restart_on_activate": true, "close_when_inactive": true, "clear_on_media_end": true })
}

fn report(
    runs: usize,
    pull: &[Duration],
    logged: &[Duration],
    before_play: &[Duration],
    media: &[Duration],
    recovery: &[Duration],
) -> String {
    let mut out = String::new();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let _ = writeln!(out, "# Pull source timing\n");
    let _ = writeln!(
        out,
        "`cargo run -p rtc-golive-test-support --example pull_timing {runs}` on OBS 29.0.2 \
         (the host's, per-user plugin, debug build) under Xvfb; nginx-rtmp and the simulator \
         on loopback; ffmpeg publishing 640x360 SMPTE bars at 30 fps (a key frame every 0.5 s) \
         with a 440 Hz tone. Load average when it ended: {}. Times in ms, {runs} runs each.\n",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    let _ = writeln!(
        out,
        "| What | Median | Min | p90 | Max |\n|---|--:|--:|--:|--:|"
    );
    let mut row = |what: &str, values: &[Duration]| {
        if values.is_empty() {
            return;
        }
        let s = Stats::of(values.iter().copied());
        let _ = writeln!(
            out,
            "| {what} | {} | {} | {} | {} |",
            ms(s.median),
            ms(s.min),
            ms(s.p90),
            ms(s.max)
        );
    };
    row(
        "`zego_rtmp_pull`: CreateInput to colour bars in GetSourceScreenshot",
        pull,
    );
    row(
        "`zego_rtmp_pull`: activation to first frame, the plugin's log line",
        logged,
    );
    row(
        "`zego_rtmp_pull`: activation to the node handed to the player (dispatch and probe), \
         the plugin's log line",
        before_play,
    );
    row(
        "Media Source (`ffmpeg_source`) given the URL by hand: CreateInput to colour bars",
        media,
    );
    row(
        "`zego_rtmp_pull`: node killed to colour bars from the new node",
        recovery,
    );
    let _ = writeln!(
        out,
        "\nOn top of what the Media Source does, the pull source makes a signed pull dispatch \
         and an RTMP handshake probe of the node, on its own thread (the row \"activation to \
         the node handed to the player\"); then a child Media Source is created for the node and \
         opens the stream like the hand-made one. The rest of the difference between the two is \
         ffmpeg opening the stream and waiting for a key frame, which varies from run to run. \
         Recovery includes the end of playback being noticed, a backoff wait drawn from \
         [0, 1 s), the dispatch, the probe, a new child Media Source and the new node's first \
         key frame."
    );
    out
}
