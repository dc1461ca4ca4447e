//! Quits OBS with an audio source in its mixer, several OBS at once as the test binaries run
//! them, and counts the quits that did not exit 0:
//!
//! ```sh
//! cargo build --lib && cargo run -p rtc-golive-test-support --example mixer_quit [ROUNDS [PARALLEL [MATCH]]]
//! ```
//!
//! (default 20 rounds of 4 OBS at once; MATCH keeps only the scenarios whose label contains it).
//! Each OBS gets one source in its program scene, waits 3.5 s (the mixer strip's meter
//! repainting all the while) and is quit with SIGINT, as the end-to-end tests quit it.
//!
//! Scenarios: OBS's own Media Source with no plugin loaded (the control: nothing of the
//! plugin's in the process), the plugin's `zego_rtmp_pull` source on a stream nobody
//! publishes, the same source removed before the quit, and no audio source at all. On OBS
//! 29.0.2 a quit with a source in the mixer now and then crashes in Qt's painting of a widget
//! that `OBSBasic::ClearSceneData` freed, plugin or not; docs/quit-loop.md has the figures.
//! Prints a markdown table.

use rtc_golive_test_support as common;

use common::fixtures::{SettingsBuilder, ZEGO_SERVICE};
use common::pull::{add_input, remove_input, PullRig, PULL_SOURCE};
use common::{Obs, ObsOptions};
use serde_json::{json, Value};
use std::fmt::Write as _;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::thread;
use std::time::Duration;

/// How long the source is in the mixer before the quit.
const IN_MIXER: Duration = Duration::from_millis(3500);
/// The source's name.
const SOURCE: &str = "Audio";

/// What is in the scene at the quit.
#[derive(Clone, Copy)]
enum Scenario {
    /// OBS's Media Source on a URL that refuses (no plugin loaded).
    MediaSourceWithoutPlugin,
    /// The plugin's source on a stream nobody publishes.
    PullSource,
    /// The plugin's source, removed (and the UI settled) before the quit.
    PullSourceRemoved,
    /// No audio source (no plugin loaded).
    NothingWithoutPlugin,
}

impl Scenario {
    const ALL: [Scenario; 4] = [
        Scenario::MediaSourceWithoutPlugin,
        Scenario::PullSource,
        Scenario::PullSourceRemoved,
        Scenario::NothingWithoutPlugin,
    ];

    fn label(self) -> &'static str {
        match self {
            Scenario::MediaSourceWithoutPlugin => {
                "control: OBS's Media Source in the mixer, no plugin loaded"
            }
            Scenario::PullSource => "ZEGOCLOUD room stream (unpublished) in the mixer",
            Scenario::PullSourceRemoved => {
                "ZEGOCLOUD room stream, removed before the quit (the e2e tests)"
            }
            Scenario::NothingWithoutPlugin => "control: no audio source, no plugin loaded",
        }
    }

    /// The source to add: its kind and settings.
    fn source(self) -> Option<(&'static str, Value)> {
        match self {
            Scenario::MediaSourceWithoutPlugin => Some((
                "ffmpeg_source",
                json!({
                    "is_local_file": false,
                    "input": "rtmp://127.0.0.1:9/live/nobody",
                    "reconnect_delay_sec": 1,
                }),
            )),
            Scenario::PullSource | Scenario::PullSourceRemoved => {
                Some((PULL_SOURCE, json!({ "stream_id": "nobody_publishes" })))
            }
            Scenario::NothingWithoutPlugin => None,
        }
    }

    fn options(self, rig: &PullRig) -> ObsOptions {
        match self {
            Scenario::PullSource | Scenario::PullSourceRemoved => {
                let service = SettingsBuilder::zego(&rig.sim.base_url(), "host_stream")
                    .cold()
                    .build();
                ObsOptions::new(ZEGO_SERVICE, service).with_plugin()
            }
            _ => ObsOptions::new(
                "rtmp_custom",
                json!({ "server": "rtmp://127.0.0.1/live", "key": "mixer-quit" }),
            ),
        }
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let rounds: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(20);
    let parallel: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(4);
    let only = args.next().unwrap_or_default();
    let rig = PullRig::start();
    let mut table = String::from("| in the scene at the quit | quits | not exit 0 | how |\n");
    table.push_str("| --- | --: | --: | --- |\n");
    for scenario in Scenario::ALL {
        if !scenario.label().contains(&only) {
            continue;
        }
        let mut failures = Vec::new();
        for round in 0..rounds {
            thread::scope(|scope| {
                let quits: Vec<_> = (0..parallel)
                    .map(|i| {
                        thread::Builder::new()
                            // The harness names its artifacts after the running thread.
                            .name(format!("mixer-quit-{round}-{i}"))
                            .spawn_scoped(scope, || quit_once(&rig, scenario))
                            .expect("cannot start a quit thread")
                    })
                    .collect();
                for quit in quits {
                    match quit.join() {
                        Ok(Ok(())) => {}
                        Ok(Err(how)) => failures.push(how),
                        Err(_) => failures.push("the round panicked".into()),
                    }
                }
            });
        }
        let failed = failures.len();
        eprintln!("{}: {failed} of {}", scenario.label(), rounds * parallel);
        failures.sort();
        failures.dedup();
        let _ = writeln!(
            table,
            "| {} | {} | {failed} | {} |",
            scenario.label(),
            rounds * parallel,
            failures.join("; ")
        );
    }
    print!("{table}");
}

/// One OBS: the scenario's source for [`IN_MIXER`], then SIGINT. `Err` says how it ended when
/// not with 0.
fn quit_once(rig: &PullRig, scenario: Scenario) -> Result<(), String> {
    let mut obs = Obs::launch(scenario.options(rig));
    if let Some((kind, settings)) = scenario.source() {
        add_input(&obs, SOURCE, kind, &settings).map_err(|e| format!("CreateInput: {e}"))?;
        obs.ui_changed();
    }
    thread::sleep(IN_MIXER);
    if matches!(scenario, Scenario::PullSourceRemoved) {
        remove_input(&obs, SOURCE).map_err(|e| format!("RemoveInput: {e}"))?;
        obs.ui_changed();
    }
    match catch_unwind(AssertUnwindSafe(|| obs.quit())) {
        Ok(status) if status.code() == Some(0) => Ok(()),
        Ok(status) => Err(status.to_string()),
        Err(_) => Err("no exit within the harness's bound".into()),
    }
}
