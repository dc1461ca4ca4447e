//! Token lifetimes: a token living longer than `token` would mint (366 days) is refused
//! whoever signed it, and a revocation is kept in Redis until the revoked token's `exp`
//! (the `revoke` command with `--token` or `--jti --exp`, and the admin API with `exp`).

// The test harness (rtc-golive-test-support) is Unix only.
#![cfg(unix)]

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rtc_golive_broker::token::{Claims, ZegoPin};
use rtc_golive_test_support::broker::{BROKER_ADMIN_KEY, BROKER_AUDIENCE, BROKER_HS256_KEY};
use rtc_golive_test_support::fixtures::sim;
use rtc_golive_test_support::{Broker, BrokerOptions, RedisServer, TokenPin};
use serde_json::json;
use std::time::{SystemTime, UNIX_EPOCH};

const DAY: u64 = 24 * 60 * 60;

fn options() -> BrokerOptions {
    BrokerOptions::new().binary(env!("CARGO_BIN_EXE_rtc-golive-broker"))
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A token for `mallory-main` signed with the harness's key, issued at `iat`, expiring at `exp`.
fn token(iat: u64, exp: u64) -> String {
    let claims = Claims {
        sub: "mallory".into(),
        aud: BROKER_AUDIENCE.into(),
        exp,
        iat,
        jti: format!("jti-{iat}-{exp}"),
        zego: Some(ZegoPin {
            stream_id: "mallory-main".into(),
            cdn_urls: vec![],
            play: vec![],
            cdn_required: false,
        }),
        aliyun: None,
    };
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(BROKER_HS256_KEY.as_bytes()),
    )
    .unwrap()
}

#[test]
fn a_token_living_longer_than_366_days_is_refused() {
    let sim = sim()
        .zego(vec!["rtmp://127.0.0.1:1935/live".into()])
        .start();
    let broker = Broker::start(options().zego(&sim.base_url()));
    let t = now();
    let longest = token(t - 10, t - 10 + 366 * DAY);
    let reply = broker.golive(Some(&longest), &json!({"ahead": true}));
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    sim.zego().clear_requests();
    for (what, refused) in [
        ("367 days", token(t - 10, t - 10 + 367 * DAY)),
        ("366 days and a second", token(t - 10, t - 9 + 366 * DAY)),
        ("issued an hour ahead", token(t + 3600, t + 7200)),
    ] {
        let reply = broker.golive(Some(&refused), &json!({"ahead": true}));
        assert_eq!(
            (reply.status, reply.code()),
            (401, "token_invalid"),
            "{what}: {:?}",
            reply.body
        );
    }
    assert!(sim.zego().requests().is_empty());
    assert!(
        broker.output().contains("more than 366"),
        "{}",
        broker.output()
    );
}

/// The seconds Redis keeps `jti`'s revocation.
fn revocation_ttl(redis: &RedisServer, jti: &str) -> i64 {
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_connection().unwrap();
    redis::cmd("TTL")
        .arg(rtc_golive_broker::revocation::revoked_key(jti))
        .query(&mut conn)
        .unwrap()
}

#[test]
fn a_revocation_is_kept_until_the_token_expires() {
    let redis = RedisServer::start();
    let sim = sim()
        .zego(vec!["rtmp://127.0.0.1:1935/live".into()])
        .start();
    let broker = Broker::start(options().zego(&sim.base_url()).redis(&redis.url()));
    let args = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    // Slack: the leeway (60 s), a minute, and this test's own seconds.
    let close_to = |ttl: i64, seconds: u64| {
        let seconds = i64::try_from(seconds).unwrap();
        (seconds + 100..=seconds + 125).contains(&ttl)
    };

    // `--token`: its jti and exp are read from it.
    let minted = broker.mint("alice", &TokenPin::zego("alice-main"), Some("2h"));
    let (ok, _, stderr) = broker.cli("revoke", &args(&["--token", &minted.token]));
    assert!(ok, "{stderr}");
    let ttl = revocation_ttl(&redis, &minted.jti);
    assert!(close_to(ttl, 2 * 3600), "{ttl}");
    let refused = broker.golive(Some(&minted.token), &json!({"ahead": true}));
    assert_eq!(refused.code(), "token_revoked");

    // `--jti --exp`, with the exp `token` printed (Unix seconds or RFC 3339).
    let minted = broker.mint("bob", &TokenPin::zego("bob-main"), Some("300d"));
    let exp = now() + 300 * DAY;
    let (ok, _, stderr) = broker.cli(
        "revoke",
        &args(&["--jti", &minted.jti, "--exp", &exp.to_string()]),
    );
    assert!(ok, "{stderr}");
    let ttl = revocation_ttl(&redis, &minted.jti);
    assert!(close_to(ttl, 300 * DAY), "{ttl}");
    let rfc3339 = humantime::format_rfc3339_seconds(
        UNIX_EPOCH + std::time::Duration::from_secs(now() + 3 * DAY),
    )
    .to_string();
    let (ok, _, stderr) = broker.cli("revoke", &args(&["--jti", "by-date", "--exp", &rfc3339]));
    assert!(ok, "{stderr}");
    assert!(close_to(revocation_ttl(&redis, "by-date"), 3 * DAY));

    // Without exp, as long as any token accepted now may live (366 days and a day).
    let (ok, _, stderr) = broker.cli("revoke", &args(&["--jti", "no-exp"]));
    assert!(ok, "{stderr}");
    let ttl = revocation_ttl(&redis, "no-exp");
    assert!(
        (367 * DAY as i64 - 5..=367 * DAY as i64).contains(&ttl),
        "{ttl}"
    );

    // The admin API takes the exp too.
    let reply = broker.post(
        "/v1/admin/revoke",
        Some(BROKER_ADMIN_KEY),
        &json!({"jti": "admin-revoked", "exp": now() + 600}),
    );
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert!(close_to(revocation_ttl(&redis, "admin-revoked"), 600));

    // A token the keys do not accept is not revoked; an expired one needs no revocation.
    let (ok, _, stderr) = broker.cli("revoke", &args(&["--token", "not.a.token"]));
    assert!(!ok && stderr.contains("nothing to revoke"), "{stderr}");
    let expired = token(now() - 7200, now() - 3600);
    let (ok, _, stderr) = broker.cli("revoke", &args(&["--token", &expired]));
    assert!(ok && stderr.contains("expired already"), "{stderr}");
    let (ok, _, stderr) = broker.cli("revoke", &args(&["--jti", "x", "--exp", "soon"]));
    assert!(!ok && stderr.contains("RFC 3339"), "{stderr}");
}

/// The simulator's ZEGOCLOUD account, with `redis` when given.
fn options_with(
    sim: &rtc_golive_simulator::Simulator,
    redis: Option<&RedisServer>,
) -> BrokerOptions {
    let options = options().zego(&sim.base_url());
    match redis {
        Some(redis) => options.redis(&redis.url()),
        None => options,
    }
}

/// `revoke --sub` refuses every token the streamer had (a lost device, a banned account),
/// across a restart, through the admin API without Redis and through Redis with it; tokens
/// minted afterwards, and other streamers', still pass.
#[test]
fn revoking_a_streamer_refuses_every_token_they_had() {
    let redis = RedisServer::start();
    let sim = sim()
        .zego(vec!["rtmp://127.0.0.1:1935/live".into()])
        .start();
    for shared in [false, true] {
        let mut broker = Broker::start(options_with(&sim, shared.then_some(&redis)));
        let sub = format!("banned-{shared}");
        let tokens: Vec<String> = (0..2)
            .map(|i| broker.token(&sub, &TokenPin::zego(&format!("{sub}-{i}"))))
            .collect();
        let other = broker.token(&format!("fine-{shared}"), &TokenPin::zego("fine"));
        let ahead = json!({"ahead": true});
        for token in tokens.iter().chain([&other]) {
            assert_eq!(broker.golive(Some(token), &ahead).status, 200);
        }

        let (ok, _, stderr) = broker.cli("revoke", &["--sub".to_owned(), sub.clone()]);
        assert!(ok, "{stderr}");
        assert!(
            stderr.contains(&format!("revoked every token of sub={sub}")),
            "{stderr}"
        );
        broker.restart();
        for token in &tokens {
            let refused = broker.golive(Some(token), &ahead);
            assert_eq!((refused.status, refused.code()), (401, "token_revoked"));
        }
        assert_eq!(broker.golive(Some(&other), &ahead).status, 200);
        // A token minted from the next second on is accepted.
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let fresh = broker.token(&sub, &TokenPin::zego(&format!("{sub}-0")));
        assert_eq!(broker.golive(Some(&fresh), &ahead).status, 200);
    }
}

/// `token list` shows the unexpired tokens `token` minted, with whether they are revoked, from
/// the state file without Redis and from Redis with it.
#[test]
fn token_list_shows_what_was_minted_and_revoked() {
    let redis = RedisServer::start();
    let sim = sim()
        .zego(vec!["rtmp://127.0.0.1:1935/live".into()])
        .start();
    for shared in [false, true] {
        let broker = Broker::start(options_with(&sim, shared.then_some(&redis)));
        let alice = format!("alice-{shared}");
        let kept = broker.mint(&alice, &TokenPin::zego("alice-main"), None);
        let revoked = broker.mint(&alice, &TokenPin::zego("alice-side"), Some("2h"));
        let _bob = broker.mint(&format!("bob-{shared}"), &TokenPin::zego("bob-main"), None);
        broker.revoke(&revoked.jti);

        let (ok, all, stderr) = broker.cli("token list", &[]);
        assert!(ok, "{stderr}");
        assert_eq!(all.lines().count(), 3, "{all}");
        let (ok, mine, stderr) = broker.cli("token list", &["--sub".to_owned(), alice.clone()]);
        assert!(ok, "{stderr}");
        let lines: Vec<&str> = mine.lines().collect();
        assert_eq!(lines.len(), 2, "{mine}");
        let line_of = |jti: &str| *lines.iter().find(|l| l.starts_with(jti)).expect(jti);
        assert!(line_of(&kept.jti).ends_with("valid"), "{mine}");
        assert!(line_of(&kept.jti).contains("zego:alice-main"), "{mine}");
        assert!(line_of(&revoked.jti).ends_with("REVOKED"), "{mine}");
        assert!(
            !mine.contains(&kept.token),
            "a token itself is never listed"
        );
    }
}
