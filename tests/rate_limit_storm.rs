//! The top-of-the-hour storm: 500 OBS instances of one platform resolve at the same moment
//! against ZEGOCLOUD's RTMPDispatchV2 limit of 40 requests/s per AppId, each retrying with
//! `RetryPolicy::BACKGROUND` (resolving ahead). Every one must get a node, the whole crowd must
//! stay under two requests per client on average, and the simulator must never have admitted
//! more than 40 in any one-second window.
//!
//! All clients share one [`Shared`]: the retry policy keeps no state between calls (each call
//! draws its own jittered waits), so sharing the HTTP client only shares connections, and 500
//! separate clients would mostly measure 500 HTTP runtimes competing for two cores.

// The test harness (rtc-golive-test-support) is Unix only.
#![cfg(unix)]

use rtc_golive_core::config::zego::ZegoConfig;
use rtc_golive_core::resolve::resolve_zego;
use rtc_golive_core::retry::RetryPolicy;
use rtc_golive_core::shared::Shared;
use rtc_golive_simulator::HandshakeNode;
use rtc_golive_test_support::fixtures::{sim, SettingsBuilder};
use rtc_golive_test_support::report::busiest_second;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

const CLIENTS: usize = 500;
/// ZEGOCLOUD's documented RTMPDispatchV2 limit per AppId.
const LIMIT_PER_SECOND: usize = 40;
/// Fewer than two requests per client on average.
const MAX_REQUESTS: usize = 2 * CLIENTS;

#[test]
fn busiest_second_counts_a_sliding_window() {
    let t0 = SystemTime::UNIX_EPOCH;
    let at = |ms: u64| t0 + Duration::from_millis(ms);
    // Two late in one second and two early in the next: 4 in [900, 1900).
    assert_eq!(
        busiest_second(&[at(0), at(900), at(950), at(1100), at(1200)]),
        4
    );
    assert_eq!(busiest_second(&[at(0), at(1000), at(2000)]), 1);
    assert_eq!(busiest_second(&[]), 0);
}

#[test]
fn five_hundred_clients_share_forty_dispatches_per_second() {
    // The RTMP node: every client probes it (RTMP handshake) once it has a dispatch.
    let node = HandshakeNode::start("127.0.0.1:0").unwrap();
    let node_port = node.port();
    let sim = sim()
        .zego(vec![format!("rtmp://127.0.0.1:{node_port}/live")])
        .zego_dispatch_qps(LIMIT_PER_SECOND as u32)
        .start();
    let shared = Shared::new(None).unwrap();
    let start = Arc::new(Barrier::new(CLIENTS));
    let started = Instant::now();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let settings = SettingsBuilder::zego(&sim.base_url(), &format!("streamer-{i}"));
            let config = ZegoConfig::from_settings(&settings.build()).unwrap();
            let (shared, start) = (shared.clone(), start.clone());
            thread::Builder::new()
                .stack_size(256 * 1024)
                .spawn(move || {
                    start.wait();
                    let result = resolve_zego(&shared, &config, RetryPolicy::BACKGROUND);
                    (i, result, started.elapsed())
                })
                .unwrap()
        })
        .collect();
    let mut slowest = Duration::ZERO;
    let mut failures = Vec::new();
    for client in clients {
        let (i, result, took) = client.join().unwrap();
        match result {
            Ok(plan) => {
                assert_eq!(plan.primary.authority(), format!("127.0.0.1:{node_port}"));
                assert_eq!(plan.primary.key, format!("streamer-{i}"));
            }
            Err(e) => {
                let seen: Vec<(i64, SystemTime)> = sim
                    .zego()
                    .requests()
                    .iter()
                    .filter(|r| r.params.get("StreamId") == Some(&format!("streamer-{i}")))
                    .map(|r| (r.code, r.at))
                    .collect();
                failures.push(format!(
                    "client {i} after {took:.1?}: {e:?}; the simulator answered {seen:?}"
                ))
            }
        }
        slowest = slowest.max(took);
    }
    assert!(
        failures.is_empty(),
        "{} clients got no node: {failures:#?}",
        failures.len()
    );

    let requests = sim.zego().requests();
    assert!(requests.iter().all(|r| r.action == "RTMPDispatchV2"));
    let mut accepted: Vec<SystemTime> = requests
        .iter()
        .filter(|r| r.code == 0)
        .map(|r| r.at)
        .collect();
    accepted.sort();
    let refused = requests.iter().filter(|r| r.code == 1010).count();
    let first_second = busiest_second(&accepted[..LIMIT_PER_SECOND.min(accepted.len())]);
    let busiest = busiest_second(&accepted);
    println!(
        "storm: {CLIENTS} clients done in {:.1} s (slowest client {:.1} s): {} dispatch requests \
         ({} accepted, {refused} refused with 1010), at most {busiest} accepted in one second",
        started.elapsed().as_secs_f64(),
        slowest.as_secs_f64(),
        requests.len(),
        accepted.len(),
    );
    assert_eq!(accepted.len(), CLIENTS, "one accepted dispatch per client");
    assert_eq!(refused + accepted.len(), requests.len(), "only 0 and 1010");
    assert!(
        requests.len() < MAX_REQUESTS,
        "{} requests for {CLIENTS} clients",
        requests.len()
    );
    assert!(
        busiest <= LIMIT_PER_SECOND,
        "{busiest} accepted in one second"
    );
    // The storm did hit the limit: the first second was full.
    assert_eq!(first_second, LIMIT_PER_SECOND);
    assert!(refused > 0);
}
