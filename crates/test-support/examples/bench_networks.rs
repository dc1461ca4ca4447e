//! The benchmark behind `build-scripts/bench-networks.sh` (issue "Works on streamers' real
//! networks"): what picking a node costs when the first node is silent or no RTMP server.
//!
//! Measured in one run:
//!
//! - one probe of a real nginx-rtmp node (and of its RTMPS front): TCP (+TLS) only, against the
//!   RTMP handshake up to S0+S1 that the plugin now does;
//! - the node choice alone for `[silent, good]`: the staggered race against waiting for the
//!   preferred node's probe timeout first (what the plugin did before);
//! - a real, headless OBS going live (StartStream -> nginx-rtmp's `on_publish`) with the
//!   dispatch `[good]`, `[silent, good]` and `[TCP-only, good]`, interleaved run by run.
//!
//! Progress goes to stderr, the markdown report to stdout. The target (a silent first node
//! costs at most 350 ms of go-live) is never asserted: the report marks it PASS or MISS.

use rtc_golive_test_support as common;

use common::fixtures::{sim, SettingsBuilder, ZEGO_SERVICE};
use common::report::{ms, ms2, verdict, Stats};
use common::{wait_until, EventKind, Obs, ObsOptions, RtmpServer, TestCa};
use rtc_golive_core::node_probe::{self, Depth, DEFAULT_PROBE_TIMEOUT, STAGGER};
use rtc_golive_core::rtmp_target::RtmpTarget;
use std::fmt::Write as _;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

const STREAM: &str = "bench-networks";
/// Probes per probe variant.
const PROBES: usize = 40;
/// Node choices per race variant.
const RACES: usize = 5;
/// Go-lives per node list.
const RUNS: usize = 8;
/// Upper bound for any one wait.
const TIMEOUT: Duration = Duration::from_secs(20);
/// Pause before each go-live, so Start Streaming finds OBS idle.
const IDLE: Duration = Duration::from_millis(500);
/// Target: what a silent first node adds to a go-live.
const SILENT_OVERHEAD_TARGET: Duration = Duration::from_millis(350);

fn main() {
    // The harness names its artifacts after the running thread.
    let bench = thread::Builder::new()
        .name("bench-networks".into())
        .spawn(run)
        .expect("cannot start the benchmark thread");
    match bench.join() {
        Ok(report) => print!("{report}"),
        Err(_) => {
            eprintln!("the benchmark failed; logs are in target/e2e-artifacts/bench-networks*/");
            std::process::exit(1);
        }
    }
}

fn run() -> String {
    let started = Instant::now();
    let ca = TestCa::generate();
    let rtmp = RtmpServer::start_rtmps(&ca);
    let silent = SilentNode::start();
    let mute = TcpListener::bind("127.0.0.1:0").expect("a TCP-only node");
    let mute_url = format!(
        "rtmp://127.0.0.1:{}/live",
        mute.local_addr().expect("its address").port()
    );

    let mut out = String::new();
    probe_costs(&mut out, &rtmp, &ca);
    race_costs(&mut out, &silent, &rtmp);
    go_live_costs(&mut out, &rtmp, &silent, &mute_url);
    let _ = writeln!(
        out,
        "\nThe whole run took {:.0} s.",
        started.elapsed().as_secs_f64()
    );
    out
}

/// A listener whose accept queue is full: connection attempts get no answer at all, as with
/// a node behind a firewall that drops packets.
struct SilentNode {
    _socket: socket2::Socket,
    _fillers: Vec<TcpStream>,
    url: String,
}

impl SilentNode {
    fn start() -> SilentNode {
        let socket = socket2::Socket::new(
            socket2::Domain::IPV4,
            socket2::Type::STREAM,
            Some(socket2::Protocol::TCP),
        )
        .expect("a socket");
        let any: SocketAddr = "127.0.0.1:0".parse().expect("an address");
        socket.bind(&any.into()).expect("bind");
        socket.listen(0).expect("listen");
        let addr = socket
            .local_addr()
            .ok()
            .and_then(|a| a.as_socket())
            .expect("an IP address");
        let fillers = (0..2)
            .filter_map(|_| TcpStream::connect_timeout(&addr, Duration::from_millis(200)).ok())
            .collect();
        assert!(
            TcpStream::connect_timeout(&addr, Duration::from_millis(300)).is_err(),
            "the silent node answered"
        );
        SilentNode {
            _socket: socket,
            _fillers: fillers,
            url: format!("rtmp://{addr}/live"),
        }
    }
}

fn target(prefix: &str) -> RtmpTarget {
    RtmpTarget::split(&format!("{prefix}/{STREAM}")).expect("an RTMP URL")
}

/// One probe of nginx-rtmp (and its RTMPS front, trusted through the test CA), connect only
/// against the RTMP handshake.
fn probe_costs(out: &mut String, rtmp: &RtmpServer, ca: &TestCa) {
    eprintln!("==> probe costs");
    // The plugin's TLS trust is read once per process: point it at the test CA first.
    std::env::set_var("SSL_CERT_FILE", ca.ca_file());
    let _ = writeln!(
        out,
        "## One probe of a loopback nginx-rtmp node ({PROBES} probes each)\n\n\
         | node | TCP (+TLS) only: median / p90 ms | + RTMP C0+C1 -> S0+S1: median / p90 ms | the handshake adds (median) |\n\
         | --- | --- | --- | --- |"
    );
    for (label, node) in [
        ("rtmp://", target(&rtmp.rtmp_url())),
        (
            "rtmps:// (nginx stream TLS front)",
            target(&rtmp.rtmps_url()),
        ),
    ] {
        let time = |depth| {
            Stats::of((0..PROBES).map(|_| {
                node_probe::probe(&node, depth, DEFAULT_PROBE_TIMEOUT)
                    .unwrap_or_else(|e| panic!("{label} probe failed: {e}"))
            }))
        };
        let (connect, handshake) = (time(Depth::Connect), time(Depth::Rtmp));
        let _ = writeln!(
            out,
            "| {label} | {} / {} | {} / {} | {} |",
            ms2(connect.median),
            ms2(connect.p90),
            ms2(handshake.median),
            ms2(handshake.p90),
            ms2(handshake.median.saturating_sub(connect.median)),
        );
    }
}

/// Choosing between `[silent, good]`: the race against waiting for the preferred node first.
fn race_costs(out: &mut String, silent: &SilentNode, rtmp: &RtmpServer) {
    eprintln!("==> node choice with a silent first node");
    let nodes = [target(&silent.url), target(&rtmp.rtmp_url())];
    let time = |stagger, depth| {
        Stats::of((0..RACES).map(|_| {
            let started = Instant::now();
            let chosen = node_probe::race(&nodes, DEFAULT_PROBE_TIMEOUT, stagger, depth);
            assert_eq!(chosen, Some(1), "the good node was not chosen");
            started.elapsed()
        }))
    };
    let before = time(DEFAULT_PROBE_TIMEOUT, Depth::Connect);
    let now = time(STAGGER, Depth::Rtmp);
    let _ = writeln!(
        out,
        "\n## Choosing the node of `[silent, good]` ({RACES} choices each)\n\n\
         | probe | median ms | max ms |\n| --- | --- | --- |\n\
         | before: connect only, the preferred node's {} ms timeout first | {} | {} |\n\
         | now: RTMP handshake, next node after {} ms (RFC 8305) | {} | {} |",
        DEFAULT_PROBE_TIMEOUT.as_millis(),
        ms(before.median),
        ms(before.max),
        STAGGER.as_millis(),
        ms(now.median),
        ms(now.max),
    );
}

/// Real OBS: StartStream -> publish with a good node alone, and behind a silent or a TCP-only
/// first node.
fn go_live_costs(out: &mut String, rtmp: &RtmpServer, silent: &SilentNode, mute_url: &str) {
    eprintln!("==> go-live in OBS ({RUNS} runs per node list)");
    let sim = sim().zego(vec![rtmp.rtmp_url()]).start();
    let settings = SettingsBuilder::zego(&sim.base_url(), STREAM)
        .cold()
        .build();
    let mut options = ObsOptions::new(ZEGO_SERVICE, settings).with_plugin();
    options.artifacts_name = "bench-networks".to_owned();
    let mut obs = Obs::launch(options);
    let lists: [(&str, Vec<String>); 3] = [
        ("`[good]`", vec![rtmp.rtmp_url()]),
        (
            "`[silent, good]`",
            vec![silent.url.clone(), rtmp.rtmp_url()],
        ),
        (
            "`[TCP-only, good]`",
            vec![mute_url.to_owned(), rtmp.rtmp_url()],
        ),
    ];
    let mut samples: Vec<Vec<Duration>> = vec![Vec::new(); lists.len()];
    for run in 0..RUNS {
        for (i, (label, nodes)) in lists.iter().enumerate() {
            sim.zego().set_nodes(nodes.clone());
            let took = go_live(&obs, rtmp);
            eprintln!("    run {run} {label}: {} ms", ms(took));
            samples[i].push(took);
        }
    }
    let status = obs.quit();
    if !status.success() {
        eprintln!("    warning: OBS exited with {status}");
    }
    let stats: Vec<Stats> = samples.into_iter().map(Stats::of).collect();
    let _ = writeln!(
        out,
        "\n## Go-live in OBS: StartStream -> publish ({RUNS} runs each, interleaved)\n\n\
         | dispatched nodes | median ms | p90 ms | max ms | over `[good]` (median) |\n\
         | --- | --- | --- | --- | --- |"
    );
    for ((label, _), s) in lists.iter().zip(&stats) {
        let _ = writeln!(
            out,
            "| {label} | {} | {} | {} | {} |",
            ms(s.median),
            ms(s.p90),
            ms(s.max),
            ms(s.median.saturating_sub(stats[0].median))
        );
    }
    let overhead = stats[1].median.saturating_sub(stats[0].median);
    let _ = writeln!(
        out,
        "\nTarget: a silent first node adds at most {} ms: {} ms, {}.",
        SILENT_OVERHEAD_TARGET.as_millis(),
        ms(overhead),
        verdict(overhead <= SILENT_OVERHEAD_TARGET)
    );
}

/// Idles, goes live, waits for the publish, stops and waits for the publish to end; returns
/// StartStream -> publish.
fn go_live(obs: &Obs, rtmp: &RtmpServer) -> Duration {
    thread::sleep(IDLE);
    let count = |kind| {
        rtmp.events()
            .iter()
            .filter(|e| e.kind == kind && e.name == STREAM)
            .count()
    };
    let (published, ended) = (count(EventKind::Publish), count(EventKind::PublishDone));
    let requested = Instant::now();
    obs.request(
        "StartStream",
        |c| async move { c.streaming().start().await },
    )
    .expect("OBS accepts StartStream");
    let publish = wait_until(TIMEOUT, || {
        rtmp.events()
            .into_iter()
            .filter(|e| e.kind == EventKind::Publish && e.name == STREAM)
            .nth(published)
    })
    .expect("a publish");
    let took = publish.time - requested;
    wait_until(TIMEOUT, || obs.stream_active().then_some(())).expect("the output goes active");
    obs.stop_stream().expect("the stream stops");
    wait_until(TIMEOUT, || {
        (count(EventKind::PublishDone) > ended).then_some(())
    })
    .expect("the publish ends");
    took
}
