//! No session lost and no CDN forward left at the vendor, whatever happens to the broker, to
//! Redis or to the client: kill -9 and SIGTERM with live sessions (state file and Redis), Redis
//! killed and restarted, a client that gives up mid-start, the same stream started on two
//! instances at once, and the truth about stops. The simulator's own rules are the judge of
//! what the vendor holds.

// The test harness (rtc-golive-test-support) is Unix only.
#![cfg(unix)]

use rtc_golive_simulator::Simulator;
use rtc_golive_test_support::fixtures::sim;
use rtc_golive_test_support::{wait_until, Broker, BrokerOptions, RedisServer, TokenPin};
use serde_json::json;
use std::io::Write;
use std::net::TcpStream;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

const NODES: [&str; 1] = ["rtmp://127.0.0.1:1935/live"];
/// The lease in these tests: short, so that lapses come within the test.
const LEASE_SECONDS: u64 = 3;

fn simulator() -> Simulator {
    sim().zego(NODES.map(str::to_owned).to_vec()).start()
}

fn options(sim: &Simulator) -> BrokerOptions {
    BrokerOptions::new()
        .binary(env!("CARGO_BIN_EXE_rtc-golive-broker"))
        .zego(&sim.base_url())
        .set("sessions", "lease_seconds", &LEASE_SECONDS.to_string())
        .set("sessions", "sweep_seconds", "1")
}

fn cdn_url(stream: &str) -> String {
    format!("rtmp://cdn.example.com/live/{stream}?secret=cdn-key")
}

/// A streamer going live with one CDN forward: (token, session).
fn go_live(broker: &Broker, sim: &Simulator, stream: &str) -> (String, String) {
    let token = broker.token(
        &format!("sub-{stream}"),
        &TokenPin::zego_with_cdn(stream, &[&cdn_url(stream)]),
    );
    let start = broker.golive(Some(&token), &json!({}));
    assert_eq!(start.status, 200, "{:?}", start.body);
    let session = start.body["session"]
        .as_str()
        .expect("a session")
        .to_owned();
    // The forward is created after the answer; the heartbeat says when.
    let created = wait_until(Duration::from_secs(10), || {
        let beat = broker.live(&token, &session);
        (beat.body["forwards"][0]["state"] == "created").then_some(())
    });
    assert!(created.is_some(), "{}", broker.log_tail(20));
    assert_eq!(
        sim.zego().cdn_rules(stream).len(),
        1,
        "the forward of {stream}"
    );
    (token, session)
}

fn rules(sim: &Simulator, streams: &[&str]) -> usize {
    streams.iter().map(|s| sim.zego().cdn_rules(s).len()).sum()
}

fn creates(sim: &Simulator) -> usize {
    sim.zego()
        .requests()
        .iter()
        .filter(|r| r.action == "CreatCDNTransferRule")
        .count()
}

/// Waits until the vendor holds no rule of `streams` (the sweep after the lease).
fn wait_for_no_rules(sim: &Simulator, streams: &[&str], broker: &Broker) {
    let gone = wait_until(Duration::from_secs(LEASE_SECONDS * 4 + 5), || {
        (rules(sim, streams) == 0).then_some(())
    });
    assert!(
        gone.is_some(),
        "{} forward(s) still at the vendor:\n{}",
        rules(sim, streams),
        broker.log_tail(30)
    );
}

/// Every session survives the end of the process (`end`: kill -9 or SIGTERM): heartbeats go
/// on, a stop deletes its forward, and the sessions nobody heartbeats lapse and lose theirs.
fn sessions_survive(end: fn(&mut Broker), tag: &str) {
    let sim = simulator();
    let mut broker = Broker::start(options(&sim));
    let streams: Vec<String> = (0..3).map(|i| format!("{tag}-{i}")).collect();
    let streams: Vec<&str> = streams.iter().map(String::as_str).collect();
    let live: Vec<(String, String)> = streams.iter().map(|s| go_live(&broker, &sim, s)).collect();

    end(&mut broker);
    broker.restart();

    for (token, session) in &live {
        let beat = broker.live(token, session);
        assert_eq!(
            beat.status, 200,
            "a heartbeat after the restart: {:?}",
            beat.body
        );
    }
    let (token, session) = &live[0];
    let stop = broker.stop(token, session);
    assert_eq!(stop.status, 200, "{:?}", stop.body);
    assert_eq!(
        rules(&sim, &streams[..1]),
        0,
        "the stop deleted its forward"
    );
    assert_eq!(rules(&sim, &streams[1..]), 2, "the others are still live");
    // The other two streamers are gone: their leases lapse and the sweep deletes the forwards.
    wait_for_no_rules(&sim, &streams, &broker);
}

#[test]
fn kill_9_loses_no_session_and_leaves_no_forward() {
    sessions_survive(Broker::kill, "killed");
}

#[test]
fn sigterm_loses_no_session_and_leaves_no_forward() {
    sessions_survive(
        |broker| {
            let status = broker.stop_process().expect("it exits on SIGTERM");
            assert!(status.success(), "{status}");
        },
        "term",
    );
}

#[test]
fn a_lapse_across_a_restart_still_deletes_the_forwards() {
    let sim = simulator();
    let mut broker = Broker::start(options(&sim));
    go_live(&broker, &sim, "lapse-0");
    broker.kill();
    // Down for longer than the lease: the restarted broker sweeps what lapsed meanwhile.
    thread::sleep(Duration::from_secs(LEASE_SECONDS + 1));
    broker.restart();
    wait_for_no_rules(&sim, &["lapse-0"], &broker);
}

#[test]
fn a_client_that_gives_up_mid_start_leaves_nothing_behind() {
    let sim = simulator();
    let broker = Broker::start(options(&sim));
    let stream = "gone-0";
    let token = broker.token(
        "sub-gone",
        &TokenPin::zego_with_cdn(stream, &[&cdn_url(stream)]),
    );
    // The vendor answers slowly; the client hangs up after sending its request.
    sim.zego().set_latency(Duration::from_secs(2));
    {
        let mut raw = TcpStream::connect(("127.0.0.1", broker.port())).expect("connect");
        let body = "{}";
        write!(
            raw,
            "POST /v1/golive HTTP/1.1\r\nHost: broker\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .expect("send");
        thread::sleep(Duration::from_millis(500));
    }
    // The start ran to its end anyway: the forward exists and is on record.
    let created = wait_until(Duration::from_secs(10), || {
        (sim.zego().cdn_rules(stream).len() == 1).then_some(())
    });
    assert!(created.is_some(), "{}", broker.log_tail(20));
    sim.zego().set_latency(Duration::ZERO);
    // The client's next try joins what the first one opened: no second forward call.
    let retry = broker.golive(Some(&token), &json!({}));
    assert_eq!(retry.status, 200, "{:?}", retry.body);
    assert_eq!(creates(&sim), 1, "the retry created nothing");
    let session = retry.body["session"]
        .as_str()
        .expect("a session")
        .to_owned();
    assert_eq!(broker.stop(&token, &session).status, 200);
    assert_eq!(rules(&sim, &[stream]), 0);

    // And a start nobody comes back for is undone when its lease lapses.
    sim.zego().set_latency(Duration::from_secs(2));
    let other = "gone-1";
    let token = broker.token(
        "sub-gone-1",
        &TokenPin::zego_with_cdn(other, &[&cdn_url(other)]),
    );
    {
        let mut raw = TcpStream::connect(("127.0.0.1", broker.port())).expect("connect");
        write!(
            raw,
            "POST /v1/golive HTTP/1.1\r\nHost: broker\r\nAuthorization: Bearer {token}\r\n\
             Content-Length: 2\r\n\r\n{{}}"
        )
        .expect("send");
        // Hung up while the vendor holds the forward's creation.
        let asked = wait_until(Duration::from_secs(10), || {
            (creates(&sim) == 2).then_some(())
        });
        assert!(asked.is_some(), "{}", broker.log_tail(20));
    }
    let created = wait_until(Duration::from_secs(10), || {
        (sim.zego().cdn_rules(other).len() == 1).then_some(())
    });
    assert!(created.is_some(), "the vendor created the forward");
    sim.zego().set_latency(Duration::ZERO);
    wait_for_no_rules(&sim, &[other], &broker);
}

#[test]
fn stops_tell_the_truth() {
    let sim = simulator();
    let broker = Broker::start(options(&sim));
    let (token, session) = go_live(&broker, &sim, "truth-0");
    let stranger = broker.token("someone-else", &TokenPin::zego("truth-1"));

    let foreign = broker.stop(&stranger, &session);
    assert_eq!((foreign.status, foreign.code()), (403, "forbidden"));
    assert_eq!(
        rules(&sim, &["truth-0"]),
        1,
        "a foreign stop deletes nothing"
    );

    assert_eq!(broker.health()["state_file"], "ok");
    let metrics = broker.metrics();
    assert!(metrics.contains("\nrtc_golive_sessions 1\n"), "{metrics}");
    assert!(
        metrics.contains("\nrtc_golive_platform_sessions 1\n"),
        "{metrics}"
    );

    let unknown = broker.stop(&token, "no-such-session");
    assert_eq!((unknown.status, unknown.code()), (404, "session_unknown"));

    assert_eq!(broker.stop(&token, &session).body, json!({}));
    assert_eq!(rules(&sim, &["truth-0"]), 0);
    let again = broker.stop(&token, &session);
    assert_eq!(
        (again.status, &again.body),
        (200, &json!({"already_stopped": true}))
    );
    let foreign_again = broker.stop(&stranger, &session);
    assert_eq!(foreign_again.status, 403, "{:?}", foreign_again.body);
    let metrics = broker.metrics();
    assert!(metrics.contains("\nrtc_golive_sessions 0\n"), "{metrics}");
    assert!(
        metrics.contains("\nrtc_golive_platform_sessions 0\n"),
        "{metrics}"
    );
}

#[test]
fn one_stream_started_on_two_instances_at_once_is_one_session() {
    let redis = RedisServer::start();
    let sim = simulator();
    let brokers: Vec<Arc<Broker>> = (0..2)
        .map(|_| Arc::new(Broker::start(options(&sim).redis(&redis.url()))))
        .collect();
    let stream = "twice-0";
    let token = brokers[0].token(
        "sub-twice",
        &TokenPin::zego_with_cdn(stream, &[&cdn_url(stream)]),
    );
    let starts: Vec<_> = brokers
        .iter()
        .map(|broker| {
            let (broker, token) = (broker.clone(), token.clone());
            thread::spawn(move || broker.golive(Some(&token), &json!({})))
        })
        .collect();
    let answers: Vec<_> = starts.into_iter().map(|t| t.join().unwrap()).collect();
    for answer in &answers {
        assert_eq!(answer.status, 200, "{:?}", answer.body);
    }
    assert_eq!(
        answers[0].body["session"], answers[1].body["session"],
        "both starts hold the same session"
    );
    let session = answers[0].body["session"].as_str().unwrap().to_owned();
    assert_eq!(rules(&sim, &[stream]), 1);
    // Stopped through the other instance: the one forward goes.
    assert_eq!(brokers[1].stop(&token, &session).status, 200);
    assert_eq!(rules(&sim, &[stream]), 0);
    // A token of another streamer pinning the same stream cannot take it while it is live.
    let (_, session) = go_live(&brokers[0], &sim, stream);
    let intruder = brokers[1].token(
        "sub-intruder",
        &TokenPin::zego_with_cdn(stream, &[&cdn_url(stream)]),
    );
    let busy = brokers[1].golive(Some(&intruder), &json!({}));
    assert_eq!((busy.status, busy.code()), (409, "stream_busy"));
    assert_eq!(
        brokers[0]
            .stop(&token_of(&brokers[0], stream), &session)
            .status,
        200
    );
    assert_eq!(rules(&sim, &[stream]), 0);
}

/// The token [`go_live`] minted for `stream` (same claims: another jti, the same streamer).
fn token_of(broker: &Broker, stream: &str) -> String {
    broker.token(
        &format!("sub-{stream}"),
        &TokenPin::zego_with_cdn(stream, &[&cdn_url(stream)]),
    )
}

#[test]
fn a_redis_restart_loses_no_session() {
    let mut redis = RedisServer::start();
    let sim = simulator();
    let broker = Broker::start(options(&sim).redis(&redis.url()));
    let streams = ["aof-0", "aof-1"];
    let live: Vec<_> = streams.iter().map(|s| go_live(&broker, &sim, s)).collect();
    // The append-only file is fsync'd every second.
    thread::sleep(Duration::from_millis(1500));
    redis.kill();
    redis.restart();
    let back = wait_until(Duration::from_secs(10), || {
        (broker.health()["redis"] == "up").then_some(())
    });
    assert!(back.is_some(), "{}", broker.log_tail(20));
    for (token, session) in &live {
        // While the broker reconnects, a heartbeat may be told to come back shortly (503 with
        // Retry-After, as the plugin does): never that the session is gone.
        let beat = wait_until(Duration::from_secs(10), || {
            let beat = broker.live(token, session);
            assert!(
                [200, 503].contains(&beat.status),
                "{} {:?}",
                beat.status,
                beat.body
            );
            (beat.status == 200).then_some(())
        });
        assert!(beat.is_some(), "{}", broker.log_tail(20));
    }
    let (token, session) = &live[0];
    assert_eq!(broker.stop(token, session).status, 200);
    assert_eq!(rules(&sim, &streams[..1]), 0);
    wait_for_no_rules(&sim, &streams, &broker);
}

#[test]
fn a_redis_that_keeps_nothing_on_disk_is_refused_unless_allowed() {
    let redis = RedisServer::start_volatile();
    let sim = simulator();
    let Err(refused) = Broker::try_start(options(&sim).redis(&redis.url())) else {
        panic!("the broker started on a Redis that keeps nothing on disk");
    };
    assert!(
        refused.contains("keeps nothing on disk") && refused.contains("allow_volatile_redis"),
        "{refused}"
    );
    let allowed = Broker::start(options(&sim).redis(&redis.url()).set(
        "",
        "allow_volatile_redis",
        "true",
    ));
    assert!(allowed.output().contains("keeps nothing on disk"));
}

#[test]
fn a_refused_forward_is_reported_by_the_heartbeat_and_the_stream_goes_on() {
    let sim = simulator();
    let broker = Broker::start(options(&sim));
    let stream = "refused-0";
    let token = broker.token(
        "sub-refused",
        &TokenPin::zego_with_cdn(stream, &[&cdn_url(stream)]),
    );
    sim.zego().fail_next("CreatCDNTransferRule", 5002, 1);
    let start = broker.golive(Some(&token), &json!({}));
    assert_eq!(start.status, 200, "{:?}", start.body);
    let session = start.body["session"].as_str().unwrap().to_owned();
    let mut last = serde_json::Value::Null;
    let failed = wait_until(Duration::from_secs(10), || {
        last = broker.live(&token, &session).body["forwards"][0].clone();
        (last["state"] == "failed").then_some(())
    });
    assert!(failed.is_some(), "{last}");
    let warning = last["warning"].as_str().expect("a warning");
    assert!(warning.contains("5002"), "{warning}");
    assert!(
        !warning.contains("cdn-key"),
        "the CDN key reached the warning: {warning}"
    );
    assert_eq!(last["cdn"], "rtmp://cdn.example.com/…");
    assert_eq!(broker.stop(&token, &session).status, 200);
    assert_eq!(rules(&sim, &[stream]), 0);
}

#[test]
fn a_restart_finishes_the_forwards_a_crash_interrupted() {
    let sim = simulator();
    let mut broker = Broker::start(options(&sim));
    let stream = "resumed-0";
    let token = broker.token(
        "sub-resumed",
        &TokenPin::zego_with_cdn(stream, &[&cdn_url(stream)]),
    );
    // Every vendor answer takes 2 s: the forward's creation starts when the go-live is
    // answered and is still waiting for the vendor when the broker dies.
    sim.zego().set_latency(Duration::from_secs(2));
    let start = broker.golive(Some(&token), &json!({}));
    assert_eq!(start.status, 200, "{:?}", start.body);
    let session = start.body["session"].as_str().unwrap().to_owned();
    broker.kill();
    sim.zego().set_latency(Duration::ZERO);
    broker.restart();
    let created = wait_until(Duration::from_secs(10), || {
        (broker.live(&token, &session).body["forwards"][0]["state"] == "created").then_some(())
    });
    assert!(created.is_some(), "{}", broker.log_tail(20));
    assert!(
        broker
            .output()
            .contains("creating its remaining 1 CDN forward(s)"),
        "{}",
        broker.log_tail(20)
    );
    assert_eq!(rules(&sim, &[stream]), 1);
    assert_eq!(broker.stop(&token, &session).status, 200);
    assert_eq!(rules(&sim, &[stream]), 0);
}

#[test]
fn a_token_refused_while_live_still_ends_its_own_session_at_once() {
    let sim = simulator();
    let broker = Broker::start(options(&sim).set("tokens", "leeway_seconds", "0"));
    let live_with = |sub: &str, stream: &str, ttl: Option<&str>| {
        let minted = broker.mint(
            sub,
            &TokenPin::zego_with_cdn(stream, &[&cdn_url(stream)]),
            ttl,
        );
        let start = broker.golive(Some(&minted.token), &json!({}));
        assert_eq!(start.status, 200, "{:?}", start.body);
        let session = start.body["session"].as_str().unwrap().to_owned();
        let created = wait_until(Duration::from_secs(10), || {
            (sim.zego().cdn_rules(stream).len() == 1).then_some(())
        });
        assert!(created.is_some(), "{}", broker.log_tail(20));
        (minted, session)
    };

    // Revoked while live: the heartbeat is refused, the plugin stops, and its stop (with the
    // same token) deletes the forward now rather than when the lease lapses.
    let (revoked, session) = live_with("sub-revoked", "ended-0", None);
    broker.revoke(&revoked.jti);
    let beat = broker.live(&revoked.token, &session);
    assert_eq!((beat.status, beat.code()), (401, "token_revoked"));
    let stranger = broker.token("someone-else", &TokenPin::zego("ended-x"));
    assert_eq!(broker.stop(&stranger, &session).status, 403);
    assert_eq!(broker.stop(&revoked.token, &session).status, 200);
    assert_eq!(rules(&sim, &["ended-0"]), 0);
    // Going live again with it is still refused.
    let again = broker.golive(Some(&revoked.token), &json!({}));
    assert_eq!((again.status, again.code()), (401, "token_revoked"));

    // Expired while live: likewise.
    let (expired, session) = live_with("sub-expired", "ended-1", Some("3s"));
    // Heartbeats keep the lease until the token's expiry refuses them.
    let refused = wait_until(Duration::from_secs(10), || {
        let beat = broker.live(&expired.token, &session);
        thread::sleep(Duration::from_millis(500));
        (beat.status != 200).then_some(beat)
    })
    .expect("the heartbeat is refused once the token expires");
    assert_eq!((refused.status, refused.code()), (401, "token_expired"));
    assert_eq!(broker.stop(&expired.token, &session).status, 200);
    assert_eq!(rules(&sim, &["ended-1"]), 0);
}

#[test]
fn what_an_instance_keeps_while_redis_is_away_reaches_every_instance_when_it_returns() {
    let mut redis = RedisServer::start();
    let sim = simulator();
    let brokers: Vec<Broker> = (0..2)
        .map(|_| Broker::start(options(&sim).redis(&redis.url())))
        .collect();
    let (a, b) = (&brokers[0], &brokers[1]);
    let victim = a.mint("sub-outage-victim", &TokenPin::zego("outage-v"), None);
    assert_eq!(
        b.golive(Some(&victim.token), &json!({"ahead": true}))
            .status,
        200
    );

    redis.kill();
    let down = wait_until(Duration::from_secs(10), || {
        (a.health()["redis"] == "down" && b.health()["redis"] == "down").then_some(())
    });
    assert!(down.is_some(), "{}", a.log_tail(20));
    // Going live on A: the session is kept in A's state file.
    let stream = "outage-0";
    let token = a.token(
        "sub-outage",
        &TokenPin::zego_with_cdn(stream, &[&cdn_url(stream)]),
    );
    let start = a.golive(Some(&token), &json!({}));
    assert_eq!(start.status, 200, "{:?}", start.body);
    let session = start.body["session"].as_str().unwrap().to_owned();
    // B cannot check it: come back later, never "fine" and never "unknown".
    let unchecked = b.live(&token, &session);
    assert_eq!((unchecked.status, unchecked.code()), (503, "unavailable"));
    assert!(unchecked.retry_after.is_some());
    // A revocation made on A: held there at once, for the others once Redis is back.
    let revoked = a.post(
        "/v1/admin/revoke",
        Some(rtc_golive_test_support::broker::BROKER_ADMIN_KEY),
        &json!({ "jti": victim.jti }),
    );
    assert_eq!(revoked.status, 202, "{:?}", revoked.body);
    assert_eq!(
        a.golive(Some(&victim.token), &json!({"ahead": true}))
            .code(),
        "token_revoked"
    );

    redis.restart();
    let handed_over = wait_until(Duration::from_secs(15), || {
        (b.live(&token, &session).status == 200).then_some(())
    });
    assert!(handed_over.is_some(), "{}", a.log_tail(20));
    assert!(
        a.output().contains("handed over to it"),
        "{}",
        a.log_tail(20)
    );
    let refused = wait_until(Duration::from_secs(15), || {
        (b.golive(Some(&victim.token), &json!({"ahead": true}))
            .code()
            == "token_revoked")
            .then_some(())
    });
    assert!(
        refused.is_some(),
        "B learnt the revocation made during the outage"
    );
    // Stopped through B: the forward A created goes.
    let created = wait_until(Duration::from_secs(10), || {
        (sim.zego().cdn_rules(stream).len() == 1).then_some(())
    });
    assert!(created.is_some());
    assert_eq!(b.stop(&token, &session).status, 200);
    assert_eq!(rules(&sim, &[stream]), 0);
}

#[test]
fn a_required_forward_that_fails_is_reported_for_the_plugin_to_stop() {
    let sim = simulator();
    let broker = Broker::start(options(&sim));
    let stream = "required-0";
    let token = broker.token(
        "sub-required",
        &TokenPin::zego_requiring_cdn(stream, &[&cdn_url(stream)]),
    );
    sim.zego().fail_next("CreatCDNTransferRule", 5002, 1);
    let start = broker.golive(Some(&token), &json!({}));
    assert_eq!(start.status, 200, "{:?}", start.body);
    let session = start.body["session"].as_str().unwrap().to_owned();
    let mut beat = serde_json::Value::Null;
    let failed = wait_until(Duration::from_secs(10), || {
        beat = broker.live(&token, &session).body;
        (beat["forwards"][0]["state"] == "failed").then_some(())
    });
    assert!(failed.is_some(), "{beat}");
    assert_eq!(beat["cdn_required"], true, "{beat}");
    // The plugin stops; its stop ends the session.
    assert_eq!(broker.stop(&token, &session).status, 200);
    assert_eq!(rules(&sim, &[stream]), 0);
}

#[test]
fn a_vendor_that_never_answers_in_time_leaves_nothing_behind() {
    let sim = simulator();
    let broker = Broker::start(options(&sim));
    let stream = "slow-0";
    let token = broker.token(
        "sub-slow",
        &TokenPin::zego_with_cdn(stream, &[&cdn_url(stream)]),
    );
    // A 10 s vendor: the go-live fails with a clear code after the broker's call deadline, and
    // opens nothing.
    sim.zego().set_latency(Duration::from_secs(10));
    let slow = broker.golive(Some(&token), &json!({}));
    assert_eq!(
        (slow.status, slow.code()),
        (503, "unavailable"),
        "{:?}",
        slow.body
    );
    let metrics = broker.metrics();
    assert!(
        metrics.contains("\nrtc_golive_platform_sessions 0\n"),
        "{metrics}"
    );

    // A vendor that creates the forward, then answers too late: the broker records it failed,
    // but it was on record before the call, so the stop deletes it all the same.
    sim.zego().set_latency(Duration::ZERO);
    let ahead = broker.golive(Some(&token), &json!({"ahead": true}));
    assert_eq!(ahead.status, 200, "{:?}", ahead.body);
    sim.zego().set_latency(Duration::from_secs(10));
    // The dispatch resolved ahead is reused: answered at once.
    let start = broker.golive(Some(&token), &json!({}));
    assert_eq!(start.status, 200, "{:?}", start.body);
    let session = start.body["session"].as_str().unwrap().to_owned();
    let created = wait_until(Duration::from_secs(5), || {
        (sim.zego().cdn_rules(stream).len() == 1).then_some(())
    });
    assert!(created.is_some(), "the vendor created it on arrival");
    let mut last = serde_json::Value::Null;
    let timed_out = wait_until(Duration::from_secs(20), || {
        last = broker.live(&token, &session).body["forwards"][0].clone();
        (last["state"] == "failed").then_some(())
    });
    assert!(timed_out.is_some(), "{last}");
    sim.zego().set_latency(Duration::ZERO);
    assert_eq!(broker.stop(&token, &session).status, 200);
    assert_eq!(
        rules(&sim, &[stream]),
        0,
        "the timed-out creation was deleted"
    );
}
