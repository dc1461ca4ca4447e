//! The benchmark behind `build-scripts/bench.sh` (issue "Performance: go-live with no waiting").
//!
//! A real, headless OBS Studio goes live again and again on nginx-rtmp and the bundled API
//! simulator. Measured in one run:
//!
//! - the time from the obs-websocket `StartStream` request to nginx-rtmp's `on_publish` callback,
//!   for OBS's own Custom service (the floor: no plugin, no API call) and for the plugin's
//!   services cold, warm and with a reused Alibaba address, at 0 ms and 300 ms of simulated API
//!   latency, with the simulator requests that arrived meanwhile;
//! - the time OBS's UI thread spends inside the plugin's `initialize` (its own log line), and,
//!   seen from outside, whether OBS's main thread is caught inside `obs_output_start` while a
//!   Start Streaming waits for the vendor (`eu-stack` samples during extra go-lives, at 0, 300
//!   and 3000 ms of API latency);
//! - the plugin's load time (its own log line and OBS's module-load profiler);
//! - OBS's resident memory with and without the plugin installed;
//! - the size of the plugin's release `.so`.
//!
//! Progress goes to stderr, the markdown report to stdout. The targets are never asserted: the
//! report marks each PASS or MISS.

use rtc_golive_test_support as common;

use common::fixtures::{sim, AliyunRoom, SettingsBuilder, ALIYUN_SERVICE, ZEGO_SERVICE};
use common::report::{mb, ms, ms2, verdict, Stats};
use common::ui_thread::{MainThreadSampler, Sample as StackSample};
use common::{wait_until, EventKind, Obs, ObsOptions, PublishEvent, RtmpServer};
use rtc_golive_simulator::Simulator;
use serde_json::{json, Value};
use std::fmt::Write as _;
use std::fs;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const ZEGO_STREAM: &str = "bench-zego";
const ALIYUN_APP: &str = "bench-app";
const ALIYUN_CHANNEL: &str = "bench-room";
const FLOOR_STREAM: &str = "bench-floor";

/// Measured go-lives per scenario.
const RUNS: usize = 12;
/// Go-lives each fresh OBS makes before the measured ones (first encoder start, first
/// connections; the reused-address scenario creates its address here).
const WARM_UPS: usize = 1;
/// The simulated API latencies every plugin scenario runs with.
const API_LATENCIES: [Duration; 3] = [
    Duration::ZERO,
    Duration::from_millis(300),
    Duration::from_millis(3000),
];
/// Go-lives per plugin scenario made after the measured ones with OBS's main thread sampled by
/// `eu-stack` (which stops the thread briefly for each sample, so they are not timed).
const SAMPLED_RUNS: usize = 4;
/// The libobs function Start Streaming runs on OBS's UI thread (it calls `initialize`).
const OUTPUT_START: &str = "obs_output_start";
/// OBS launches per installation variant for load time and memory.
const FOOTPRINT_LAUNCHES: usize = 3;
/// Upper bound for any one wait (a publish, the output going active, a log line).
const TIMEOUT: Duration = Duration::from_secs(20);
/// Pause before each go-live (after the previous one has ended and the next one's settings are
/// in place), so Start Streaming finds OBS idle.
const IDLE: Duration = Duration::from_millis(500);
/// How long OBS idles after launching before its memory is read.
const MEMORY_SETTLE: Duration = Duration::from_secs(3);
/// Memory samples per launch; their median counts.
const MEMORY_SAMPLES: usize = 5;
/// Time between two memory samples.
const MEMORY_SAMPLE_GAP: Duration = Duration::from_millis(200);

/// Target: a warm go-live takes at most this many times the floor.
const WARM_RATIO_TARGET: f64 = 1.05;
/// Target: a cold go-live takes at most the floor plus the API latency plus this.
const COLD_MARGIN_TARGET: Duration = Duration::from_millis(20);
/// Target: a warm Start Streaming blocks OBS's UI thread inside the plugin at most this long.
const WARM_UI_THREAD_TARGET: Duration = Duration::from_millis(10);
/// Target: no Start Streaming (warm or cold) keeps OBS's main thread inside `obs_output_start`
/// this long, as sampled from outside.
const OUTPUT_START_TARGET: Duration = Duration::from_millis(10);
/// Target: the plugin loads in at most this long.
const LOAD_TARGET: Duration = Duration::from_millis(5);
/// Target: OBS's resident memory grows by at most this much with the plugin (10 MB).
const MEMORY_TARGET_BYTES: u64 = 10_000_000;

/// What the plugin logs once per Start Streaming, with the microseconds spent.
const INITIALIZE_LINE: &str = "initialize: ";
/// What the plugin logs when a plan resolved ahead is ready.
const RESOLVED_AHEAD_LINE: &str = "resolved ahead: node";
/// What the plugin logs when Start Streaming takes the plan resolved ahead.
const TOOK_RESOLVED_AHEAD_LINE: &str = "using the node resolved ahead";

fn main() {
    // The harness names its artifacts after the running thread.
    let bench = thread::Builder::new()
        .name("bench".into())
        .spawn(run)
        .expect("cannot start the benchmark thread");
    match bench.join() {
        Ok(report) => print!("{report}"),
        Err(_) => {
            eprintln!(
                "the benchmark failed; OBS and nginx logs are in target/e2e-artifacts/bench*/"
            );
            std::process::exit(1);
        }
    }
}

/// Runs every measurement and returns the markdown report.
fn run() -> String {
    let started = Instant::now();
    let lab = Lab::start();
    let mut floor = Streamer::launch(&lab, Scenario::Floor, Scenario::Floor.slug());
    let mut rows = Vec::new();
    for scenario in [
        Scenario::ZegoCold,
        Scenario::ZegoWarm,
        Scenario::AliyunCold,
        Scenario::AliyunReused,
    ] {
        for latency in API_LATENCIES {
            rows.push(measure(&lab, &mut floor, scenario, latency));
        }
    }
    floor.quit();
    // OBS without the plugin cannot be launched where the package installed it system-wide.
    let footprint = common::system_plugin()
        .is_none()
        .then(|| Footprint::measure(&lab));
    report(&rows, footprint.as_ref(), started.elapsed())
}

/// nginx-rtmp and the API simulator, shared by every OBS of the run.
struct Lab {
    rtmp: RtmpServer,
    sim: Simulator,
}

impl Lab {
    /// Starts nginx-rtmp wired to the simulator (an Alibaba publish is accepted only with an
    /// auth_key the simulator issued; see [`common::fixtures::SimBuilder::start_with_ingest`]).
    fn start() -> Lab {
        eprintln!("==> starting nginx-rtmp and the API simulator");
        let (rtmp, sim) = sim().start_with_ingest();
        Lab { rtmp, sim }
    }

    /// Delays every answer of both simulated APIs by `latency`.
    fn set_api_latency(&self, latency: Duration) {
        self.sim.zego().set_latency(latency);
        self.sim.aliyun().set_latency(latency);
    }

    /// When each API request the simulator received arrived, both vendors together.
    fn api_request_times(&self) -> Vec<SystemTime> {
        let zego = self.sim.zego().requests().into_iter().map(|r| r.at);
        let aliyun = self.sim.aliyun().requests().into_iter().map(|r| r.at);
        zego.chain(aliyun).collect()
    }

    /// How many `kind` callbacks nginx made for stream `name` so far.
    fn event_count(&self, kind: EventKind, name: &str) -> usize {
        self.rtmp
            .events()
            .iter()
            .filter(|e| e.kind == kind && e.name == name)
            .count()
    }

    /// The `kind` callback number `index` (from 0) for stream `name`, waiting for it.
    fn nth_event(&self, kind: EventKind, name: &str, index: usize) -> Option<PublishEvent> {
        wait_until(TIMEOUT, || {
            self.rtmp
                .events()
                .into_iter()
                .filter(|e| e.kind == kind && e.name == name)
                .nth(index)
        })
    }
}

/// One way of going live.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scenario {
    /// OBS's own Custom service without the plugin: no API call, the floor.
    Floor,
    /// ZEGOCLOUD with `prefetch` off: Start Streaming dispatches.
    ZegoCold,
    /// ZEGOCLOUD with `prefetch` on, started once the node is resolved ahead.
    ZegoWarm,
    /// Alibaba with `prefetch` off and a new user id each time, so an address must be created.
    AliyunCold,
    /// Alibaba with `prefetch` off and the same settings: the cached address is reused.
    AliyunReused,
}

impl Scenario {
    /// The name in the report.
    fn label(self) -> &'static str {
        match self {
            Scenario::Floor => "rtmp_custom (floor)",
            Scenario::ZegoCold => "ZEGOCLOUD cold",
            Scenario::ZegoWarm => "ZEGOCLOUD warm",
            Scenario::AliyunCold => "Alibaba cold (new address)",
            Scenario::AliyunReused => "Alibaba reused address",
        }
    }

    /// The name of its artifacts directory.
    fn slug(self) -> &'static str {
        match self {
            Scenario::Floor => "floor",
            Scenario::ZegoCold => "zego-cold",
            Scenario::ZegoWarm => "zego-warm",
            Scenario::AliyunCold => "aliyun-cold",
            Scenario::AliyunReused => "aliyun-reused",
        }
    }

    /// Whether Start Streaming should make no API call at all; such scenarios are held to the
    /// warm targets.
    fn without_api_call(self) -> bool {
        matches!(self, Scenario::ZegoWarm | Scenario::AliyunReused)
    }

    /// The OBS service type.
    fn service_type(self) -> &'static str {
        match self {
            Scenario::Floor => "rtmp_custom",
            Scenario::ZegoCold | Scenario::ZegoWarm => ZEGO_SERVICE,
            Scenario::AliyunCold | Scenario::AliyunReused => ALIYUN_SERVICE,
        }
    }

    /// The service settings OBS starts with.
    fn settings(self, lab: &Lab) -> Value {
        match self {
            Scenario::Floor => json!({"server": lab.rtmp.rtmp_url(), "key": FLOOR_STREAM}),
            Scenario::ZegoCold | Scenario::ZegoWarm => {
                zego_settings(lab, self == Scenario::ZegoWarm)
            }
            Scenario::AliyunCold | Scenario::AliyunReused => {
                let user_id = self.aliyun_user(0);
                let room = AliyunRoom {
                    app_id: ALIYUN_APP,
                    channel_id: ALIYUN_CHANNEL,
                    user_id: &user_id,
                    display_name: "OBS bench",
                };
                SettingsBuilder::aliyun(&lab.sim.base_url(), room)
                    .cold()
                    // Its polls start after the publish; off, so the request log is the go-live's.
                    .with("presence_check", false)
                    .build()
            }
        }
    }

    /// The Alibaba user id of go-live `run`: a new one for each cold go-live.
    fn aliyun_user(self, run: usize) -> String {
        match self {
            Scenario::AliyunCold => format!("obs-bench-{run}"),
            _ => "obs-bench".to_owned(),
        }
    }

    /// The stream name nginx sees in go-live `run`.
    fn stream(self, run: usize) -> String {
        match self {
            Scenario::Floor => FLOOR_STREAM.to_owned(),
            Scenario::ZegoCold | Scenario::ZegoWarm => ZEGO_STREAM.to_owned(),
            Scenario::AliyunCold | Scenario::AliyunReused => {
                format!("{ALIYUN_APP}.{ALIYUN_CHANNEL}.{}", self.aliyun_user(run))
            }
        }
    }
}

/// ZEGOCLOUD settings against the simulator.
fn zego_settings(lab: &Lab, prefetch: bool) -> Value {
    SettingsBuilder::zego(&lab.sim.base_url(), ZEGO_STREAM)
        .with("prefetch", prefetch)
        .build()
}

/// Options for a benchmark OBS: log stamps in UTC (see [`stamp_to_wall`]), artifacts in
/// `target/e2e-artifacts/bench-<name>/`.
fn obs_options(service_type: &str, settings: Value, plugin: bool, name: &str) -> ObsOptions {
    let mut options = ObsOptions::new(service_type, settings).with_env("TZ", "UTC");
    if plugin {
        options = options.with_plugin();
    }
    options.artifacts_name = format!("bench-{name}");
    options
}

/// One measured go-live.
struct Sample {
    /// From the `StartStream` request to nginx's `on_publish`.
    go_live: Duration,
    /// The plugin's `initialize` on OBS's UI thread (`None` for the floor).
    ui_thread: Option<Duration>,
    /// API requests from the `StartStream` request to the end of the plugin's `initialize`.
    calls_in_start: usize,
    /// API requests from the `StartStream` request to the publish.
    calls_until_publish: usize,
    /// OBS's main thread from `StartStream` to the publish, when sampled.
    stacks: Vec<StackSample>,
}

/// The go-lives of one scenario at one API latency, and the floor's go-lives made in turn with
/// them.
struct Row {
    scenario: Scenario,
    latency: Duration,
    samples: Vec<Sample>,
    floor: Vec<Duration>,
    /// The main thread's samples of each sampled go-live (none for the floor).
    stacks: Vec<Vec<StackSample>>,
}

impl Row {
    fn go_live(&self) -> Stats {
        Stats::of(self.samples.iter().map(|s| s.go_live))
    }

    fn floor(&self) -> Stats {
        Stats::of(self.floor.iter().copied())
    }

    fn ui_thread(&self) -> Stats {
        Stats::of(self.samples.iter().filter_map(|s| s.ui_thread))
    }

    fn calls_in_start(&self) -> usize {
        self.samples.iter().map(|s| s.calls_in_start).sum()
    }

    fn calls_until_publish(&self) -> usize {
        self.samples.iter().map(|s| s.calls_until_publish).sum()
    }

    /// Samples taken, samples inside `obs_output_start`, and the longest time the main thread
    /// was seen inside one call of it (from the first to the last of consecutive samples
    /// inside; one sample inside alone counts as 0), over every sampled go-live.
    fn output_start(&self) -> (usize, usize, Duration) {
        let (mut taken, mut inside, mut longest) = (0, 0, Duration::ZERO);
        for stacks in &self.stacks {
            taken += stacks.len();
            let mut run_started: Option<Instant> = None;
            for sample in stacks {
                if sample.inside(OUTPUT_START) {
                    inside += 1;
                    let first = *run_started.get_or_insert(sample.at);
                    longest = longest.max(sample.at - first);
                } else {
                    run_started = None;
                }
            }
        }
        (taken, inside, longest)
    }

    /// The median time between two samples of the main thread.
    fn sample_interval(&self) -> Option<Duration> {
        let gaps: Vec<Duration> = self
            .stacks
            .iter()
            .flat_map(|stacks| stacks.windows(2).map(|w| w[1].at - w[0].at))
            .collect();
        (!gaps.is_empty()).then(|| Stats::of(gaps).median)
    }
}

/// Launches an OBS for `scenario` and has it go live `WARM_UPS + RUNS` times, each time right
/// after a go-live of `floor`, so both see the same load on the machine; keeps the last `RUNS`
/// pairs.
fn measure(lab: &Lab, floor: &mut Streamer, scenario: Scenario, latency: Duration) -> Row {
    eprintln!(
        "==> {}, API latency {} ms: {WARM_UPS} + {RUNS} go-lives, each after one of the floor",
        scenario.label(),
        latency.as_millis()
    );
    lab.set_api_latency(latency);
    let mut streamer = Streamer::launch(
        lab,
        scenario,
        &format!("{}-{}ms", scenario.slug(), latency.as_millis()),
    );
    let (mut samples, mut floor_times) = (Vec::new(), Vec::new());
    for run in 0..WARM_UPS + RUNS {
        streamer.prepare();
        let floor_sample = floor.go_live(lab, false);
        let sample = streamer.go_live(lab, false);
        if run >= WARM_UPS {
            floor_times.push(floor_sample.go_live);
            samples.push(sample);
        }
    }
    let mut stacks = Vec::new();
    for _ in 0..SAMPLED_RUNS {
        streamer.prepare();
        stacks.push(streamer.go_live(lab, true).stacks);
    }
    streamer.quit();
    let row = Row {
        scenario,
        latency,
        samples,
        floor: floor_times,
        stacks,
    };
    let (taken, inside, longest) = row.output_start();
    eprintln!(
        "    main thread: {inside} of {taken} samples inside {OUTPUT_START}, longest {} ms",
        ms(longest)
    );
    let times: Vec<String> = row.samples.iter().map(|s| ms(s.go_live)).collect();
    eprintln!("    go-lives (ms): {}", times.join(" "));
    eprintln!(
        "    median {} ms, floor meanwhile {} ms",
        ms(row.go_live().median),
        ms(row.floor().median)
    );
    row
}

/// An OBS set up for one scenario, and how many go-lives it made.
struct Streamer {
    obs: Obs,
    scenario: Scenario,
    runs: usize,
}

impl Streamer {
    /// Launches OBS for `scenario` (with the plugin unless it is the floor); its artifacts go to
    /// `target/e2e-artifacts/bench-<name>/`.
    fn launch(lab: &Lab, scenario: Scenario, name: &str) -> Streamer {
        let obs = Obs::launch(obs_options(
            scenario.service_type(),
            scenario.settings(lab),
            scenario != Scenario::Floor,
            name,
        ));
        Streamer {
            obs,
            scenario,
            runs: 0,
        }
    }

    /// Gets the next go-live ready, outside the measured time: a new Alibaba user id for a cold
    /// go-live, the node resolved ahead for a warm one.
    fn prepare(&self) {
        let (obs, run) = (&self.obs, self.runs);
        if self.scenario == Scenario::AliyunCold && run > 0 {
            // Merged into the current settings: a new address identity, hence a create call.
            let user = json!({"user_id": self.scenario.aliyun_user(run)});
            obs.set_stream_service(self.scenario.service_type(), &user)
                .expect("a new user id");
        }
        if self.scenario == Scenario::ZegoWarm {
            // One plan is resolved at launch, one more after each go-live took the previous one.
            wait_until(TIMEOUT, || {
                (obs.log_text().matches(RESOLVED_AHEAD_LINE).count() > run).then_some(())
            })
            .expect("the node is resolved ahead");
        }
    }

    /// Idles, then goes live: Start Streaming, wait for the publish, stop, wait until nginx
    /// reports the publish done. With `sample`, OBS's main thread is sampled from the
    /// `StartStream` request to the publish.
    fn go_live(&mut self, lab: &Lab, sample: bool) -> Sample {
        let (obs, scenario, run) = (&self.obs, self.scenario, self.runs);
        self.runs += 1;
        thread::sleep(IDLE);
        let stream = scenario.stream(run);
        let log_mark = obs.log_text().len();
        let published = lab.event_count(EventKind::Publish, &stream);
        let ended = lab.event_count(EventKind::PublishDone, &stream);

        let sampler = sample.then(|| MainThreadSampler::start(obs.pid().expect("OBS runs")));
        let requested_at = SystemTime::now();
        let requested = Instant::now();
        obs.request(
            "StartStream",
            |c| async move { c.streaming().start().await },
        )
        .expect("OBS accepts StartStream");
        let publish = lab
            .nth_event(EventKind::Publish, &stream, published)
            .unwrap_or_else(|| {
                panic!(
                    "no publish of {stream} within {TIMEOUT:?}; OBS log since StartStream:\n{}",
                    obs.log_text().get(log_mark..).unwrap_or_default()
                )
            });
        let stacks = sampler.map(MainThreadSampler::finish).unwrap_or_default();
        let go_live = publish.time - requested;
        assert!(publish.accepted, "nginx refused the publish of {stream}");
        wait_until(TIMEOUT, || obs.stream_active().then_some(())).expect("the output goes active");

        let log = obs.log_text();
        let lines = log.get(log_mark..).unwrap_or_default();
        let initialize = lines.lines().find(|l| l.contains(INITIALIZE_LINE));
        assert_eq!(
            initialize.is_some(),
            scenario != Scenario::Floor,
            "one plugin initialize per go-live of the plugin's services:\n{lines}"
        );
        if scenario == Scenario::ZegoWarm {
            assert!(
                lines.contains(TOOK_RESOLVED_AHEAD_LINE),
                "warm go-live {run} did not use the node resolved ahead:\n{lines}"
            );
        }
        let published_at = requested_at + go_live;
        // The stamp has whole milliseconds: the line was written within the millisecond after.
        let start_done_at = initialize
            .and_then(log_stamp_ms)
            .map(|stamp| stamp_to_wall(stamp, requested_at) + Duration::from_millis(1))
            .map_or(published_at, |at| at.min(published_at));
        let requests = lab.api_request_times();
        let arrived = |until: SystemTime| {
            requests
                .iter()
                .filter(|&&at| (requested_at..=until).contains(&at))
                .count()
        };
        let sample = Sample {
            go_live,
            ui_thread: initialize.and_then(initialize_time),
            calls_in_start: arrived(start_done_at),
            calls_until_publish: arrived(published_at),
            stacks,
        };

        obs.stop_stream().expect("the stream stops");
        lab.nth_event(EventKind::PublishDone, &stream, ended)
            .expect("the publish ends");
        sample
    }

    /// Quits OBS (its logs go to the artifacts).
    fn quit(mut self) {
        let status = self.obs.quit();
        if !status.success() {
            eprintln!("    warning: OBS exited with {status}");
        }
    }
}

/// The UI-thread time of a `... initialize: N us on the UI thread` line.
fn initialize_time(line: &str) -> Option<Duration> {
    let (_, rest) = line.split_once(INITIALIZE_LINE)?;
    let (micros, _) = rest.split_once(" us")?;
    micros.parse().ok().map(Duration::from_micros)
}

/// Milliseconds after midnight of an OBS log line's `HH:MM:SS.mmm: ` stamp.
fn log_stamp_ms(line: &str) -> Option<u64> {
    let (stamp, _) = line.split_once(": ")?;
    let (clock, millis) = stamp.split_once('.')?;
    let mut fields = clock.split(':').map(str::parse::<u64>);
    let (Some(Ok(h)), Some(Ok(m)), Some(Ok(s)), None) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return None;
    };
    Some(((h * 60 + m) * 60 + s) * 1000 + millis.parse::<u64>().ok()?)
}

/// The wall-clock time of a log stamp (milliseconds after midnight UTC: OBS runs with `TZ=UTC`),
/// on the day that puts it closest to `near`.
fn stamp_to_wall(stamp_ms: u64, near: SystemTime) -> SystemTime {
    const DAY_MS: u64 = 24 * 60 * 60 * 1000;
    let near_ms = near
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    let midnight = near_ms - near_ms % DAY_MS;
    let closest = [midnight.saturating_sub(DAY_MS), midnight, midnight + DAY_MS]
        .map(|day| day + stamp_ms)
        .into_iter()
        .min_by_key(|at| at.abs_diff(near_ms))
        .unwrap_or(midnight + stamp_ms);
    UNIX_EPOCH + Duration::from_millis(closest)
}

/// How the plugin is installed for a footprint launch.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Install {
    /// Not installed; OBS's Custom service.
    Without,
    /// Installed, OBS's Custom service selected: the plugin is loaded and idle.
    Idle,
    /// Installed, its ZEGOCLOUD service selected with `prefetch` on (the default): its HTTP
    /// client and background task exist and a node is resolved ahead.
    Active,
}

impl Install {
    const ALL: [Install; 3] = [Install::Without, Install::Idle, Install::Active];

    /// The name of its artifacts directory.
    fn slug(self) -> &'static str {
        match self {
            Install::Without => "without-plugin",
            Install::Idle => "plugin-idle",
            Install::Active => "plugin-active",
        }
    }
}

/// Load time, memory and size of the plugin.
struct Footprint {
    /// Median VmRSS of OBS, bytes, per [`Install::ALL`] entry.
    resident: [u64; 3],
    /// The plugin's `loaded in N us`, one per launch with the plugin.
    load: Vec<Duration>,
    /// OBS's profiler `obs_init_module(obs-rtc-golive.so)`, one per launch that logged it.
    init_module: Vec<Duration>,
    /// Size of the plugin `.so` installed.
    so_bytes: u64,
}

impl Footprint {
    /// Launches OBS `FOOTPRINT_LAUNCHES` times per [`Install`] variant, in turns, reads its
    /// resident memory once it has settled, quits it and reads the load times from its log.
    fn measure(lab: &Lab) -> Footprint {
        eprintln!(
            "==> load time and memory: {FOOTPRINT_LAUNCHES} launches each without the plugin, \
             with it idle, with its service active"
        );
        lab.set_api_latency(Duration::ZERO);
        let mut resident: [Vec<u64>; 3] = Default::default();
        let (mut load, mut init_module) = (Vec::new(), Vec::new());
        for _ in 0..FOOTPRINT_LAUNCHES {
            for (install, samples) in Install::ALL.into_iter().zip(&mut resident) {
                let (service_type, settings) = match install {
                    Install::Without | Install::Idle => {
                        ("rtmp_custom", Scenario::Floor.settings(lab))
                    }
                    Install::Active => (ZEGO_SERVICE, zego_settings(lab, true)),
                };
                let plugin = install != Install::Without;
                let mut obs = Obs::launch(obs_options(
                    service_type,
                    settings,
                    plugin,
                    &format!("footprint-{}", install.slug()),
                ));
                if install == Install::Active {
                    obs.wait_for_log(RESOLVED_AHEAD_LINE, TIMEOUT)
                        .expect("the node is resolved ahead");
                }
                thread::sleep(MEMORY_SETTLE);
                let pid = obs.pid().expect("OBS runs");
                let mut rss: Vec<u64> = (0..MEMORY_SAMPLES)
                    .map(|i| {
                        if i > 0 {
                            thread::sleep(MEMORY_SAMPLE_GAP);
                        }
                        resident_bytes(pid)
                    })
                    .collect();
                rss.sort_unstable();
                samples.push(rss[rss.len() / 2]);
                obs.quit();
                if plugin {
                    // OBS prints its profiler, with the module-load times, when it quits.
                    let log = obs.log_text();
                    load.push(plugin_load_time(&log).expect("the plugin logs its load time"));
                    init_module.extend(profiled_init_module(&log));
                }
            }
        }
        let resident = resident.map(|mut samples| {
            samples.sort_unstable();
            samples[samples.len() / 2]
        });
        let so_bytes = fs::metadata(common::plugin_so())
            .expect("the plugin .so")
            .len();
        Footprint {
            resident,
            load,
            init_module,
            so_bytes,
        }
    }
}

/// VmRSS of process `pid`, in bytes.
fn resident_bytes(pid: u32) -> u64 {
    let status = fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|e| panic!("cannot read /proc/{pid}/status: {e}"));
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().strip_suffix(" kB"))
        .and_then(|kib| kib.trim().parse::<u64>().ok())
        .map(|kib| kib * 1024)
        .unwrap_or_else(|| panic!("no VmRSS in /proc/{pid}/status"))
}

/// The plugin's own `obs-rtc-golive <version> loaded in N us`.
fn plugin_load_time(log: &str) -> Option<Duration> {
    let line = log.lines().find(|l| l.contains(" loaded in "))?;
    let (_, rest) = line.split_once(" loaded in ")?;
    let (micros, _) = rest.split_once(" us")?;
    micros.parse().ok().map(Duration::from_micros)
}

/// OBS's profiler line `obs_init_module(obs-rtc-golive.so): X ms`, if OBS printed it.
fn profiled_init_module(log: &str) -> Option<Duration> {
    let line = log
        .lines()
        .find(|l| l.contains("obs_init_module(obs-rtc-golive.so)"))?;
    let (_, rest) = line.split_once("): ")?;
    // OBS separates the number and `ms` with a no-break space.
    let millis: f64 = rest.split(char::is_whitespace).next()?.parse().ok()?;
    Some(Duration::from_secs_f64(millis / 1000.0))
}

/// The markdown report.
fn report(rows: &[Row], footprint: Option<&Footprint>, took: Duration) -> String {
    let mut out = String::new();
    go_live_section(&mut out, rows);
    ui_thread_section(&mut out, rows);
    main_thread_section(&mut out, rows);
    match footprint {
        Some(footprint) => footprint_section(&mut out, footprint),
        None => out.push_str(
            "\n## Plugin footprint\n\nNot measured in this run: the plugin is installed \
             system-wide (the project's package in this OBS's root filesystem), so OBS cannot \
             be launched without it. `build-scripts/bench.sh` with the host's OBS measures it.\n",
        ),
    }
    method_section(&mut out, footprint.is_some(), took);
    out
}

/// The report's section on go-live times, one row per scenario and latency after the floor's.
fn go_live_section(out: &mut String, rows: &[Row]) {
    let _ = writeln!(
        out,
        "## Go-live: `StartStream` request to publish at the RTMP server\n\n\
         {RUNS} measured go-lives per scenario in a freshly launched OBS, after {WARM_UPS} \
         warm-up. Each one follows a go-live of a second OBS on the floor, so both see the same \
         load on the machine; \"Floor\" is the median of those paired floor go-lives, and the \
         ratio and the cold bound are taken against it. Times in ms.\n"
    );
    out.push_str(
        "| Scenario | API latency | Median | Min | p90 | Max | Floor | Ratio to floor | \
         API calls in Start Streaming | API calls until publish | Target | Result |\n\
         |---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|---|\n",
    );
    let all_floor = Stats::of(rows.iter().flat_map(|r| r.floor.iter().copied()));
    let _ = writeln!(
        out,
        "| rtmp_custom (floor), all {} paired go-lives | — | {} | {} | {} | {} | {} | 1.000 | 0 | 0 \
         | (floor) | — |",
        rows.iter().map(|r| r.floor.len()).sum::<usize>(),
        ms(all_floor.median),
        ms(all_floor.min),
        ms(all_floor.p90),
        ms(all_floor.max),
        ms(all_floor.median),
    );
    for row in rows {
        let (stats, floor) = (row.go_live(), row.floor().median);
        let ratio = stats.median.as_secs_f64() / floor.as_secs_f64();
        let (target, result) = go_live_target(row, ratio);
        let _ = writeln!(
            out,
            "| {} | {} ms | {} | {} | {} | {} | {} | {ratio:.3} | {} | {} | {target} | {result} |",
            row.scenario.label(),
            row.latency.as_millis(),
            ms(stats.median),
            ms(stats.min),
            ms(stats.p90),
            ms(stats.max),
            ms(floor),
            row.calls_in_start(),
            row.calls_until_publish(),
        );
    }
}

/// A go-live row's target and result: the warm ratio with no API call, or the cold bound.
fn go_live_target(row: &Row, ratio: f64) -> (String, &'static str) {
    if row.scenario.without_api_call() {
        (
            format!("≤ {WARM_RATIO_TARGET:.2} × floor, no API call"),
            verdict(ratio <= WARM_RATIO_TARGET && row.calls_in_start() == 0),
        )
    } else {
        let bound = row.floor().median + row.latency + COLD_MARGIN_TARGET;
        (
            format!(
                "≤ floor + {} + {} = {} ms",
                row.latency.as_millis(),
                COLD_MARGIN_TARGET.as_millis(),
                ms(bound)
            ),
            verdict(row.go_live().median <= bound),
        )
    }
}

/// The report's section on the plugin's own `initialize` time on OBS's UI thread.
fn ui_thread_section(out: &mut String, rows: &[Row]) {
    let _ = writeln!(
        out,
        "\n## OBS's UI thread inside the plugin during Start Streaming\n\n\
         The plugin's `initialize: N us on the UI thread`, once per go-live above; ms.\n"
    );
    out.push_str(
        "| Scenario | API latency | Median | p90 | Max | Target | Result |\n\
         |---|--:|--:|--:|--:|---|---|\n",
    );
    for row in rows {
        let stats = row.ui_thread();
        let (target, result) = if row.scenario.without_api_call() {
            (
                format!("≤ {} ms", WARM_UI_THREAD_TARGET.as_millis()),
                verdict(stats.median <= WARM_UI_THREAD_TARGET),
            )
        } else {
            ("—".to_owned(), "—")
        };
        let _ = writeln!(
            out,
            "| {} | {} ms | {} | {} | {} | {target} | {result} |",
            row.scenario.label(),
            row.latency.as_millis(),
            ms2(stats.median),
            ms2(stats.p90),
            ms2(stats.max),
        );
    }
}

/// The report's section on OBS's main thread as `eu-stack` sampled it.
fn main_thread_section(out: &mut String, rows: &[Row]) {
    let _ = writeln!(
        out,
        "\n## OBS's main (UI) thread seen from outside during Start Streaming\n\n\
         {SAMPLED_RUNS} more go-lives per row, each with OBS's main thread sampled back to back \
         by `eu-stack -1 -p PID` from the `StartStream` request to the publish (not timed: each \
         sample stops the thread briefly). \"Inside\" counts samples whose backtrace holds \
         `{OUTPUT_START}` (where Start Streaming calls the plugin's `initialize`); the longest \
         time inside is from the first to the last of consecutive samples inside one call (a \
         single sample inside counts as 0). Beside it, the plugin's own `initialize: N us` \
         median from the timed go-lives. Times in ms.\n"
    );
    out.push_str(
        "| Scenario | API latency | Samples | Sample interval | Inside `obs_output_start` | \
         Longest inside | `initialize` (plugin's log) | Target | Result |\n\
         |---|--:|--:|--:|--:|--:|--:|---|---|\n",
    );
    for row in rows {
        let (taken, inside, longest) = row.output_start();
        let _ = writeln!(
            out,
            "| {} | {} ms | {taken} | {} | {inside} | {} | {} | no stretch ≥ {} ms inside | {} |",
            row.scenario.label(),
            row.latency.as_millis(),
            row.sample_interval().map_or_else(|| "—".to_owned(), ms),
            ms(longest),
            ms2(row.ui_thread().median),
            OUTPUT_START_TARGET.as_millis(),
            verdict(taken > 0 && longest < OUTPUT_START_TARGET),
        );
    }
}

/// The report's section on how it was measured; `footprint` says whether the floor ran
/// without the plugin installed.
fn method_section(out: &mut String, footprint: bool, took: Duration) {
    let floor = if footprint {
        "without the plugin installed"
    } else {
        "with the plugin's package installed and its services unused"
    };
    let _ = writeln!(
        out,
        "\n## Method\n\n\
         - One nginx-rtmp and one API simulator for the whole run; one headless OBS on the \
           floor for the whole run and one freshly launched OBS per scenario (its own HOME, so an \
           empty address cache), both streaming x264 320x180 at 30 fps, never at the same time. \
           Before each go-live the next settings are put in place (Alibaba cold), the node \
           resolved ahead is waited for (warm), and OBS idles {} ms; after it OBS stops and nginx \
           reports the publish done.\n\
         - Go-live time: from just before the obs-websocket `StartStream` request to nginx-rtmp's \
           `on_publish` callback reaching the harness.\n\
         - Floor: OBS's own Custom service (`rtmp_custom`) {floor}.\n\
         - Cold: ZEGOCLOUD with `prefetch` false (one `RTMPDispatchV2` per Start Streaming); \
           Alibaba with `prefetch` false and a new `user_id` before each go-live, so each needs a \
           `CreateRoomRealTimeStreamAddress`. Warm: ZEGOCLOUD with `prefetch` true, each Start \
           Streaming once the plugin logged `{RESOLVED_AHEAD_LINE}` (and each one checked to have \
           logged `{TOOK_RESOLVED_AHEAD_LINE}`). Reused: Alibaba with the \
           same settings each time; the warm-up go-live created the address, the measured ones \
           reuse it from the plugin's address cache. It makes no API call, so it is held to the \
           warm target. Alibaba's `presence_check` is off (its polls start after the publish).\n\
         - API calls in Start Streaming: simulator requests (both vendors) that arrived between \
           the `StartStream` request and the plugin's `initialize` log line (OBS runs with \
           `TZ=UTC`; its log stamps have milliseconds). API calls until publish: those that \
           arrived before the publish. In warm rows the difference is the background task \
           resolving the next node after Start Streaming took the one it had ready.\n\
         - Targets (from the issue): warm go-live / floor ≤ {WARM_RATIO_TARGET:.2}; cold ≤ floor \
           + simulated API latency + {} ms; UI thread inside the plugin ≤ {} ms when warm; \
           plugin load ≤ {} ms; resident memory ≤ +{} MB. Measured, not asserted.\n\
         - The whole run (builds excluded) took {} s.",
        IDLE.as_millis(),
        COLD_MARGIN_TARGET.as_millis(),
        WARM_UI_THREAD_TARGET.as_millis(),
        LOAD_TARGET.as_millis(),
        MEMORY_TARGET_BYTES / 1_000_000,
        took.as_secs(),
    );
}

/// The report's section on load time, memory and the `.so` size.
fn footprint_section(out: &mut String, footprint: &Footprint) {
    let [without, idle, active] = footprint.resident;
    let _ = writeln!(
        out,
        "\n## Plugin footprint\n\n\
         Load times: median (min–max) over the {} launches with the plugin. Memory: VmRSS of the \
         OBS process {} s after launch (and after the first node was resolved ahead, for the \
         active service), median of {FOOTPRINT_LAUNCHES} launches per variant, compared with \
         OBS without the plugin: {} MB.\n",
        footprint.load.len(),
        MEMORY_SETTLE.as_secs(),
        mb(without),
    );
    out.push_str("| Measure | Value | Target | Result |\n|---|--:|---|---|\n");
    load_row(
        out,
        "the plugin's `loaded in N us`",
        Some(Stats::of(footprint.load.iter().copied())),
    );
    load_row(
        out,
        "OBS profiler `obs_init_module(obs-rtc-golive.so)`",
        (!footprint.init_module.is_empty())
            .then(|| Stats::of(footprint.init_module.iter().copied())),
    );
    for (label, with) in [
        ("installed, Custom service selected (idle)", idle),
        (
            "installed, its ZEGOCLOUD service selected, resolving ahead",
            active,
        ),
    ] {
        memory_row(out, label, with, without);
    }
    let _ = writeln!(
        out,
        "| Release `.so` size (`cargo build --release --lib`) | {} MB ({} bytes) | — | — |",
        mb(footprint.so_bytes),
        footprint.so_bytes,
    );
}

/// A footprint row for one load time measure, `None` when OBS did not log it.
fn load_row(out: &mut String, measure: &str, load: Option<Stats>) {
    let Some(load) = load else {
        let _ = writeln!(out, "| Load: {measure} | not logged | — | — |");
        return;
    };
    let _ = writeln!(
        out,
        "| Load: {measure} | {} ms ({}–{}) | ≤ {} ms | {} |",
        ms2(load.median),
        ms2(load.min),
        ms2(load.max),
        LOAD_TARGET.as_millis(),
        verdict(load.median <= LOAD_TARGET),
    );
}

/// A footprint row for OBS's resident memory `with` the plugin `label`, against `without` it.
fn memory_row(out: &mut String, label: &str, with: u64, without: u64) {
    let delta = i128::from(with) - i128::from(without);
    let _ = writeln!(
        out,
        "| Resident memory, plugin {label} | {:+.1} MB ({} MB) | ≤ +{} MB | {} |",
        delta as f64 / 1e6,
        mb(with),
        MEMORY_TARGET_BYTES / 1_000_000,
        verdict(delta <= i128::from(MEMORY_TARGET_BYTES)),
    );
}
