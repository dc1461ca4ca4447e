//! Connection hygiene with the real binary, under systemd's default descriptor limit
//! (`prlimit --nofile=1024:4096`): 1,100 connections that sent half a request header do not
//! lock out a real `/healthz` and a real `/v1/golive`; they are closed after the header-read
//! timeout; the log says the connection cap was reached. And under a limit too small for the
//! cap, accept failing for lack of descriptors is logged (rate-limited) and survived.

// The test harness (rtc-golive-test-support) is Unix only.
#![cfg(unix)]

use rtc_golive_test_support::broker::BROKER_BIN_ENV;
use rtc_golive_test_support::fixtures::sim;
use rtc_golive_test_support::{Broker, BrokerOptions, TestCa, TokenPin};
use serde_json::json;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const IDLE_CONNECTIONS: usize = 1100;
const HEADER_READ_TIMEOUT_SECONDS: u64 = 6;

/// Raises this process's own soft limit so that it can hold the 1,100 connections.
fn raise_own_fd_limit(to: u64) {
    let (soft, hard) = rlimit::getrlimit(rlimit::Resource::NOFILE).unwrap();
    if soft < to {
        rlimit::setrlimit(rlimit::Resource::NOFILE, to.min(hard), hard).unwrap();
    }
}

/// Whether the broker has closed `stream` (EOF or reset), without waiting.
fn closed(mut stream: &TcpStream) -> bool {
    stream.set_nonblocking(true).unwrap();
    let mut byte = [0u8; 64];
    let closed = match stream.read(&mut byte) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) if e.kind() == ErrorKind::WouldBlock => false,
        Err(_) => true,
    };
    stream.set_nonblocking(false).unwrap();
    closed
}

#[test]
fn half_sent_connections_do_not_lock_out_real_requests() {
    half_sent(
        None,
        b"POST /v1/golive HTTP/1.1\r\nHost: broker\r\nContent-Ty",
    );
}

/// Over HTTPS, the connections send half a ClientHello: a TLS handshake record header that
/// announces 512 bytes, and 6 of them.
#[test]
fn half_sent_tls_handshakes_do_not_lock_out_real_requests() {
    let ca = TestCa::generate();
    half_sent(Some(&ca), b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03");
}

fn half_sent(tls: Option<&TestCa>, half: &[u8]) {
    raise_own_fd_limit(4096);
    let sim = sim()
        .zego(vec!["rtmp://127.0.0.1:1935/live".into()])
        .start();
    let mut options = BrokerOptions::new();
    if let Some(ca) = tls {
        options = options.tls(&ca.server_chain_file(), &ca.server_key_file());
    }
    let broker = Broker::start(
        options
            // RTC_GOLIVE_BROKER_BIN measures another build (e.g. target/release's).
            .binary(std::env::var_os(BROKER_BIN_ENV).map_or_else(
                || PathBuf::from(env!("CARGO_BIN_EXE_rtc-golive-broker")),
                PathBuf::from,
            ))
            .zego(&sim.base_url())
            .nofile(1024, 4096)
            .set(
                "http",
                "header_read_timeout_seconds",
                &HEADER_READ_TIMEOUT_SECONDS.to_string(),
            ),
    );
    let token = broker.token("alice", &TokenPin::zego("alice-main"));
    // Warm the vendor path (the client's connection pool, the first dispatch).
    assert_eq!(
        broker.golive(Some(&token), &json!({"ahead": true})).status,
        200
    );

    let opened = Instant::now();
    let idle: Vec<TcpStream> = (0..IDLE_CONNECTIONS)
        .map(|i| {
            let mut stream = TcpStream::connect(("127.0.0.1", broker.port()))
                .unwrap_or_else(|e| panic!("connection {i}: {e}"));
            stream.write_all(half).unwrap();
            stream
        })
        .collect();
    eprintln!(
        "{IDLE_CONNECTIONS} half-sent connections opened in {:?}",
        opened.elapsed()
    );
    std::thread::sleep(Duration::from_millis(300));

    // Each measured request on a connection of its own (no pool): it has to be admitted
    // under the cap, as a streamer's first request is.
    let fresh = || {
        reqwest::blocking::Client::builder()
            .danger_accept_invalid_certs(true)
            .pool_max_idle_per_host(0)
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap()
    };
    let started = Instant::now();
    let health = fresh()
        .get(format!("{}/healthz", broker.url()))
        .send()
        .expect("/healthz is answered");
    let health_latency = started.elapsed();
    assert_eq!(health.status(), 200);
    let started = Instant::now();
    let golive = fresh()
        .post(format!("{}/v1/golive", broker.url()))
        .bearer_auth(&token)
        .body(r#"{"fresh":true}"#)
        .send()
        .expect("/v1/golive is answered");
    let golive_latency = started.elapsed();
    assert_eq!(golive.status(), 200, "{:?}", golive.text());
    eprintln!(
        "under {IDLE_CONNECTIONS} half-sent connections ({}): /healthz answered in {health_latency:?}, \
         /v1/golive in {golive_latency:?} (target: 100 ms)",
        if tls.is_some() { "HTTPS, each with a new TLS handshake" } else { "HTTP" }
    );
    assert!(
        health_latency < Duration::from_secs(5) && golive_latency < Duration::from_secs(5),
        "/healthz {health_latency:?}, /v1/golive {golive_latency:?}"
    );
    let open_now = idle.iter().filter(|s| !closed(s)).count();
    eprintln!(
        "{open_now} of {IDLE_CONNECTIONS} half-sent connections still open {:?} after they were opened",
        opened.elapsed()
    );
    assert!(
        opened.elapsed() > Duration::from_secs(HEADER_READ_TIMEOUT_SECONDS)
            || open_now > IDLE_CONNECTIONS / 2,
        "most half-sent connections stay open until the header-read timeout"
    );

    // After the header-read timeout (and a margin for the backlog), every one is closed.
    let deadline = opened + Duration::from_secs(HEADER_READ_TIMEOUT_SECONDS * 2 + 5);
    loop {
        let open = idle.iter().filter(|s| !closed(s)).count();
        if open == 0 {
            eprintln!(
                "every half-sent connection closed {:?} after they were opened",
                opened.elapsed()
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{open} half-sent connections still open {:?} after they were opened",
            opened.elapsed()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    drop(idle);
    assert_eq!(broker.get("/healthz").unwrap().status, 200);
    let log = broker.output();
    assert!(
        log.contains("connection cap reached: 896 connections open"),
        "{}",
        broker.log_tail(30)
    );
}

#[test]
fn running_out_of_descriptors_is_logged_and_survived() {
    let sim = sim()
        .zego(vec!["rtmp://127.0.0.1:1935/live".into()])
        .start();
    // 24 descriptors: the broker's own take about 16, so accept fails long before the cap
    // (16 connections, the least it allows).
    let broker = Broker::start(
        BrokerOptions::new()
            .binary(env!("CARGO_BIN_EXE_rtc-golive-broker"))
            .zego(&sim.base_url())
            .nofile(24, 24),
    );
    let held: Vec<TcpStream> = (0..30)
        .filter_map(|_| {
            let mut stream = TcpStream::connect(("127.0.0.1", broker.port())).ok()?;
            stream.write_all(b"GET /heal").ok()?;
            Some(stream)
        })
        .collect();
    let logged = rtc_golive_test_support::wait_until(Duration::from_secs(5), || {
        broker
            .output()
            .contains("cannot accept a connection: out of file descriptors")
            .then_some(())
    });
    assert!(logged.is_some(), "{}", broker.log_tail(20));
    drop(held);
    let served = rtc_golive_test_support::wait_until(Duration::from_secs(15), || {
        broker.get("/healthz").ok().filter(|r| r.status == 200)
    });
    assert!(served.is_some(), "{}", broker.log_tail(20));
    let lines = broker.output().matches("out of file descriptors").count();
    assert!(lines <= 2, "rate-limited: {lines} lines");
}
