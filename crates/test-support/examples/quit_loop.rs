//! Quits OBS at every moment of a go-live, again and again, and counts clean, prompt exits
//! (issue "Start Streaming never freezes or crashes OBS", point 5):
//! `cargo run --release -p rtc-golive-test-support --example quit_loop [ROUNDS [MATCH]]`
//! (default 20 per moment; MATCH keeps only the moments whose label contains it, e.g.
//! `control`).
//!
//! Moments: while Start Streaming waits for the vendor (API latency 2 s and 8 s), right after
//! the vendor answered (the output connecting to nginx-rtmp), while live, and right after
//! StopStream (the output stopping); the last two also with OBS's own Custom service and no
//! plugin, as the control. Each round is a fresh OBS quit with SIGINT; it counts as clean when
//! OBS exits with 0 within 3 s of the signal. Prints a markdown table.

use rtc_golive_test_support as common;

use common::fixtures::{sim, SettingsBuilder, ZEGO_SERVICE};
use common::{wait_until, Obs, ObsOptions, RtmpServer};
use rtc_golive_simulator::Simulator;
use serde_json::json;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::thread;
use std::time::{Duration, Instant};

const STREAM: &str = "quit-loop";
/// The bound a quit must meet.
const QUIT_BOUND: Duration = Duration::from_secs(3);

/// When the quit comes.
#[derive(Clone, Copy, Debug)]
enum Moment {
    /// Start Streaming waits for a vendor answering after this long.
    WaitingForVendor(Duration),
    /// The vendor answered; the output is connecting.
    Connecting,
    /// Publishing.
    Live,
    /// StopStream was just sent.
    Stopping,
    /// StartStream was just sent to OBS's Custom service, without the plugin: the output
    /// connecting.
    ConnectingWithoutPlugin,
    /// Publishing through OBS's Custom service, without the plugin.
    LiveWithoutPlugin,
    /// StopStream was just sent, OBS's Custom service, without the plugin.
    StoppingWithoutPlugin,
}

impl Moment {
    fn label(self) -> String {
        match self {
            Moment::WaitingForVendor(latency) => format!(
                "Start Streaming waiting for the vendor (API latency {} s)",
                latency.as_secs()
            ),
            Moment::Connecting => {
                "vendor answered, output connecting (quit 1.0 s after the dispatch arrived, API latency 1 s)".into()
            }
            Moment::Live => "live (publishing)".into(),
            Moment::Stopping => "stopping (right after StopStream)".into(),
            Moment::ConnectingWithoutPlugin => {
                "control: connecting (quit 100 ms after StartStream), OBS's Custom service, no plugin"
                    .into()
            }
            Moment::LiveWithoutPlugin => "control: live, OBS's Custom service, no plugin".into(),
            Moment::StoppingWithoutPlugin => {
                "control: stopping, OBS's Custom service, no plugin".into()
            }
        }
    }

    /// Its artifacts directory's name part.
    fn slug(self) -> String {
        match self {
            Moment::WaitingForVendor(latency) => format!("waiting-{}s", latency.as_secs()),
            Moment::Connecting => "connecting".into(),
            Moment::Live => "live".into(),
            Moment::Stopping => "stopping".into(),
            Moment::ConnectingWithoutPlugin => "control-connecting".into(),
            Moment::LiveWithoutPlugin => "control-live".into(),
            Moment::StoppingWithoutPlugin => "control-stopping".into(),
        }
    }

    fn with_plugin(self) -> bool {
        !matches!(
            self,
            Moment::ConnectingWithoutPlugin
                | Moment::LiveWithoutPlugin
                | Moment::StoppingWithoutPlugin
        )
    }

    fn latency(self) -> Duration {
        match self {
            Moment::WaitingForVendor(latency) => latency,
            Moment::Connecting => Duration::from_secs(1),
            _ => Duration::ZERO,
        }
    }
}

/// One quit: its exit code (None: killed or timed out) and how long it took after SIGINT.
struct Quit {
    code: Option<i32>,
    took: Duration,
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20);
    let only = std::env::args().nth(2).unwrap_or_default();
    // The harness names its artifacts after the running thread.
    let report = thread::Builder::new()
        .name("quit-loop".into())
        .spawn(move || run(rounds, &only))
        .expect("cannot start the loop thread")
        .join()
        .expect("the quit loop failed");
    print!("{report}");
}

fn run(rounds: usize, only: &str) -> String {
    let rtmp = RtmpServer::start();
    let sim = sim().zego(vec![rtmp.rtmp_url()]).start();
    let settings = SettingsBuilder::zego(&sim.base_url(), STREAM)
        .cold()
        .build();
    let custom = json!({"server": rtmp.rtmp_url(), "key": STREAM});
    let mut out = String::from(
        "| Moment of the quit | Rounds | Exit 0 within 3 s | Exit 0, slower | Other exit | Median | Max |\n\
         |---|--:|--:|--:|--:|--:|--:|\n",
    );
    for moment in [
        Moment::WaitingForVendor(Duration::from_secs(2)),
        Moment::WaitingForVendor(Duration::from_secs(8)),
        Moment::Connecting,
        Moment::Live,
        Moment::Stopping,
        Moment::ConnectingWithoutPlugin,
        Moment::LiveWithoutPlugin,
        Moment::StoppingWithoutPlugin,
    ]
    .into_iter()
    .filter(|m| m.label().contains(only))
    {
        let settings = if moment.with_plugin() {
            &settings
        } else {
            &custom
        };
        sim.zego().set_latency(moment.latency());
        let quits: Vec<Quit> = (0..rounds)
            .map(|round| {
                let quit = one_round(&sim, settings, moment, round);
                eprintln!(
                    "{} #{round}: exit {:?} after {:?}",
                    moment.label(),
                    quit.code,
                    quit.took
                );
                quit
            })
            .collect();
        let clean = quits
            .iter()
            .filter(|q| q.code == Some(0) && q.took < QUIT_BOUND)
            .count();
        let slow = quits
            .iter()
            .filter(|q| q.code == Some(0) && q.took >= QUIT_BOUND)
            .count();
        let mut times: Vec<Duration> = quits.iter().map(|q| q.took).collect();
        times.sort_unstable();
        out.push_str(&format!(
            "| {} | {rounds} | {clean} | {slow} | {} | {:.0} ms | {:.0} ms |\n",
            moment.label(),
            rounds - clean - slow,
            times[times.len() / 2].as_secs_f64() * 1000.0,
            times[times.len() - 1].as_secs_f64() * 1000.0,
        ));
    }
    out
}

/// A fresh OBS, brought to `moment`, then quit.
fn one_round(sim: &Simulator, settings: &serde_json::Value, moment: Moment, round: usize) -> Quit {
    let mut options = if moment.with_plugin() {
        ObsOptions::new(ZEGO_SERVICE, settings.clone()).with_plugin()
    } else {
        ObsOptions::new("rtmp_custom", settings.clone())
    };
    options.artifacts_name = format!("quit-loop-{}-{round}", moment.slug());
    let mut obs = Obs::launch(options);
    // Past the harness's settle pause after launch, so the quit is measured alone.
    thread::sleep(Duration::from_millis(1600));
    let dispatches = sim.zego().requests().len();
    match moment {
        Moment::WaitingForVendor(_) | Moment::Connecting => {
            obs.request(
                "StartStream",
                |c| async move { c.streaming().start().await },
            )
            .expect("StartStream");
            let arrived = wait_until(Duration::from_secs(10), || {
                (sim.zego().requests().len() > dispatches).then(Instant::now)
            })
            .expect("the dispatch arrives");
            let wait = match moment {
                Moment::Connecting => moment.latency(),
                _ => Duration::from_millis(300),
            };
            thread::sleep(wait.saturating_sub(arrived.elapsed()));
        }
        Moment::ConnectingWithoutPlugin => {
            obs.request(
                "StartStream",
                |c| async move { c.streaming().start().await },
            )
            .expect("StartStream");
            thread::sleep(Duration::from_millis(100));
        }
        Moment::Live | Moment::LiveWithoutPlugin => {
            obs.start_stream().expect("go-live");
            thread::sleep(Duration::from_millis(1000));
        }
        Moment::Stopping | Moment::StoppingWithoutPlugin => {
            obs.start_stream().expect("go-live");
            thread::sleep(Duration::from_millis(1000));
            obs.request("StopStream", |c| async move { c.streaming().stop().await })
                .expect("StopStream");
        }
    }
    let quitting = Instant::now();
    let code = catch_unwind(AssertUnwindSafe(|| obs.quit()))
        .ok()
        .and_then(|status| status.code());
    Quit {
        code,
        took: quitting.elapsed(),
    }
}
