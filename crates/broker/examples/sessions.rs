//! What live sessions cost one broker (a benchmark, not a test): sessions are opened through
//! `/v1/golive` up to each checkpoint (default 1,000, 5,000, 10,000 and 20,000), and at each
//! one every session heartbeats once, at the plugin's rate (the lease / 3: all of them within
//! one interval); then a sample of them stops. Prints, per checkpoint, the broker's resident
//! memory, its CPU time during the heartbeat round, the state file's size, and the p50 / p99 of
//! start, heartbeat and stop as the clients saw them.
//!
//! ```text
//! cargo build --release -p rtc-golive-broker
//! cargo run --release -p rtc-golive-broker --example sessions [-- --sessions 20000 --clients 32]
//! ```
//!
//! One broker without Redis (its state file holds the sessions). The vendor is the simulator
//! with its dispatch limit raised (and the broker's with it): what is measured is the broker's
//! own cost per session, not ZEGOCLOUD's 40 dispatches a second.

use rtc_golive_broker::config::TokenSettings;
use rtc_golive_broker::token::{mint, ZegoPin};
use rtc_golive_test_support::broker::{BROKER_AUDIENCE, BROKER_HS256_KEY};
use rtc_golive_test_support::fixtures::sim;
use rtc_golive_test_support::{Broker, BrokerOptions};
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

fn arg(name: &str) -> Option<u64> {
    let args: Vec<String> = std::env::args().collect();
    let at = args.iter().position(|a| a == name)?;
    Some(
        args.get(at + 1)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{name} takes a number")),
    )
}

/// `(utime + stime)` of `pid` in clock ticks, and its resident set in KiB.
fn usage(pid: u32) -> (u64, u64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = fields
        .get(11)
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0)
        + fields
            .get(12)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let rss = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0);
    (ticks, rss)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[at].as_secs_f64() * 1000.0
}

/// Runs `job(i)` for every `i` in `range` on `clients` threads, `per_second` at most; returns
/// each call's time.
fn run(
    range: std::ops::Range<usize>,
    clients: usize,
    per_second: Option<f64>,
    job: impl Fn(usize) -> bool + Sync,
) -> (Vec<Duration>, usize) {
    let next = AtomicUsize::new(range.start);
    let times = Mutex::new(Vec::with_capacity(range.len()));
    let failed = AtomicUsize::new(0);
    let began = Instant::now();
    thread::scope(|scope| {
        for _ in 0..clients {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= range.end {
                    return;
                }
                if let Some(rate) = per_second {
                    let due = began + Duration::from_secs_f64((i - range.start) as f64 / rate);
                    thread::sleep(due.saturating_duration_since(Instant::now()));
                }
                let start = Instant::now();
                if !job(i) {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
                times.lock().unwrap().push(start.elapsed());
            });
        }
    });
    let mut times = times.into_inner().unwrap();
    times.sort();
    (times, failed.into_inner())
}

fn main() {
    let total = arg("--sessions").unwrap_or(20_000) as usize;
    let clients = arg("--clients").unwrap_or(32) as usize;
    let checkpoints: Vec<usize> = [1_000, 5_000, 10_000, 20_000]
        .into_iter()
        .filter(|c| *c < total)
        .chain([total])
        .collect();
    let sim = sim()
        .zego(vec!["rtmp://127.0.0.1:1935/live".to_owned()])
        .zego_dispatch_qps(100_000)
        .start();
    let broker = Broker::start(
        BrokerOptions::new()
            .zego(&sim.base_url())
            .set("limits", "zego_dispatch_per_second", "5000")
            .set("limits", "queue_limit", "500"),
    );
    let pid = broker.pid().expect("the broker runs");
    let state = broker
        .config_path()
        .parent()
        .expect("the config's folder")
        .join("rtc-golive-broker.db");
    let settings = TokenSettings::hs256(BROKER_HS256_KEY.as_bytes(), BROKER_AUDIENCE, 60);
    let tokens: Vec<String> = (0..total)
        .map(|i| {
            let pin = ZegoPin {
                stream_id: format!("s-{i}"),
                cdn_urls: Vec::new(),
                play: Vec::new(),
                cdn_required: false,
            };
            mint(
                &settings,
                &format!("u-{i}"),
                (Some(pin), None),
                Duration::from_secs(7200),
            )
            .expect("a token")
            .0
        })
        .collect();
    let sessions: Vec<Mutex<String>> = (0..total).map(|_| Mutex::new(String::new())).collect();
    let (_, idle_rss) = usage(pid);
    println!("broker idle: {idle_rss} KiB resident");
    println!(
        "| sessions | RSS (MiB) | RSS per 1,000 (MiB) | state file (MiB) | CPU in one heartbeat round (s; % of one core over the 20 s interval) | start p50 / p99 (ms) | heartbeat p50 / p99 (ms) |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    let mut opened = 0;
    let mut all_starts = Vec::new();
    for checkpoint in checkpoints {
        let (starts, failed) = run(opened..checkpoint, clients, None, |i| {
            let reply = broker.golive(Some(&tokens[i]), &json!({}));
            match reply.body["session"].as_str() {
                Some(id) if reply.status == 200 => {
                    *sessions[i].lock().unwrap() = id.to_owned();
                    true
                }
                _ => false,
            }
        });
        assert_eq!(failed, 0, "go-lives refused");
        all_starts.extend(starts.iter().copied());
        opened = checkpoint;
        // One heartbeat per session, spread over the plugin's interval (lease 60 s / 3).
        let interval = 20.0;
        let (ticks_before, _) = usage(pid);
        let (beats, failed) = run(0..opened, clients, Some(opened as f64 / interval), |i| {
            let id = sessions[i].lock().unwrap().clone();
            broker.live(&tokens[i], &id).status == 200
        });
        let (ticks_after, rss) = usage(pid);
        assert_eq!(failed, 0, "heartbeats refused");
        let cpu = (ticks_after - ticks_before) as f64 / 100.0;
        let db: u64 = ["", "-wal"]
            .iter()
            .filter_map(|suffix| {
                std::fs::metadata(format!("{}{suffix}", state.display()))
                    .ok()
                    .map(|m| m.len())
            })
            .sum();
        let mib = |kib: u64| kib as f64 / 1024.0;
        println!(
            "| {opened} | {:.1} | {:.2} | {:.1} | {cpu:.2} ({:.1} %) | {:.2} / {:.2} | {:.2} / {:.2} |",
            mib(rss),
            mib(rss.saturating_sub(idle_rss)) / (opened as f64 / 1000.0),
            db as f64 / 1_048_576.0,
            cpu / interval * 100.0,
            percentile(&starts, 0.5),
            percentile(&starts, 0.99),
            percentile(&beats, 0.5),
            percentile(&beats, 0.99),
        );
    }
    let sample = opened.min(2_000);
    let (stops, failed) = run(0..sample, clients, None, |i| {
        let id = sessions[i].lock().unwrap().clone();
        broker.stop(&tokens[i], &id).status == 200
    });
    assert_eq!(failed, 0, "stops refused");
    all_starts.sort();
    println!(
        "all {opened} starts: p50 {:.2} ms, p99 {:.2} ms; {sample} stops: p50 {:.2} ms, p99 {:.2} ms ({clients} clients)",
        percentile(&all_starts, 0.5),
        percentile(&all_starts, 0.99),
        percentile(&stops, 0.5),
        percentile(&stops, 0.99),
    );
}
