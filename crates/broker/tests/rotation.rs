//! Rotating the HS256 key as README's recipe says: a broker given a new key with `sign = true`
//! beside the old one signs with the new key (its `kid` in the header) and still accepts the
//! tokens signed before; an instance not yet given the new key refuses the new tokens, which
//! is why every instance gets the key before any new token is handed out.

// The test harness (rtc-golive-test-support) is Unix only.
#![cfg(unix)]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rtc_golive_test_support::fixtures::sim;
use rtc_golive_test_support::{Broker, BrokerOptions, TokenPin};
use serde_json::{json, Value};

const NEW_KEY: &str = "rotated-hs256-key-0123456789abcdef-0123";

fn header(token: &str) -> Value {
    let part = token.split('.').next().unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

#[test]
fn a_new_signing_key_keeps_the_old_tokens_valid() {
    let sim = sim()
        .zego(vec!["rtmp://127.0.0.1:1935/live".into()])
        .start();
    let options = BrokerOptions::new()
        .binary(env!("CARGO_BIN_EXE_rtc-golive-broker"))
        .zego(&sim.base_url());
    let before = Broker::start(options.clone());
    let rotated = Broker::start(options.set(
        "tokens",
        "keys",
        &format!(r#"[{{kid = "2026-12", sign = true, hs256_key = "{NEW_KEY}"}}]"#),
    ));

    let old = before.token("alice", &TokenPin::zego("alice-main"));
    assert_eq!(header(&old).get("kid"), None);
    let new = rotated.token("bob", &TokenPin::zego("bob-main"));
    assert_eq!(header(&new)["kid"], "2026-12");

    for (broker, token, status) in [
        (&rotated, &old, 200),
        (&rotated, &new, 200),
        (&before, &old, 200),
        (&before, &new, 401),
    ] {
        let reply = broker.golive(Some(token), &json!({"ahead": true}));
        assert_eq!(reply.status, status, "{:?}", reply.body);
    }
    assert!(!rotated.output().contains(NEW_KEY));
}
