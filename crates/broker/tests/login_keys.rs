//! A platform's login service mints its own tokens with EdDSA or ES256, and the broker checks
//! them with the public keys of a JWKS file: no shared secret. A token whose `alg` is not its
//! key's (HS256 "signed" with the public key) is refused without a vendor call, and the
//! broker's own HS256 tokens still pass beside them.

// The test harness (rtc-golive-test-support) is Unix only.
#![cfg(unix)]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rtc_golive_broker::token::{Claims, ZegoPin};
use rtc_golive_test_support::broker::BROKER_AUDIENCE;
use rtc_golive_test_support::fixtures::sim;
use rtc_golive_test_support::{Broker, BrokerOptions, TokenPin};
use serde_json::json;
use std::time::{SystemTime, UNIX_EPOCH};

fn claims(sub: &str) -> Claims {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    Claims {
        sub: sub.into(),
        aud: BROKER_AUDIENCE.into(),
        exp: now + 3600,
        iat: now,
        jti: format!("{sub}-login-jti"),
        zego: Some(ZegoPin {
            stream_id: format!("{sub}-main"),
            cdn_urls: vec![],
            play: vec![],
            cdn_required: false,
        }),
        aliyun: None,
    }
}

fn sign(alg: Algorithm, kid: &str, key: &EncodingKey, claims: &Claims) -> String {
    let mut header = Header::new(alg);
    header.kid = Some(kid.into());
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

#[test]
fn a_login_service_s_tokens_pass_with_its_public_keys_only() {
    let dir = std::env::temp_dir().join(format!("broker-login-keys-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ed = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
    let ec = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let b64 = |b: &[u8]| URL_SAFE_NO_PAD.encode(b);
    let ec_raw = ec.public_key_raw();
    let jwks = json!({"keys": [
        {"kty": "OKP", "crv": "Ed25519", "x": b64(ed.public_key_raw()), "kid": "login-ed",
         "alg": "EdDSA", "use": "sig"},
        {"kty": "EC", "crv": "P-256", "x": b64(&ec_raw[1..33]), "y": b64(&ec_raw[33..]),
         "kid": "login-ec"},
    ]});
    let jwks_path = dir.join("login.jwks");
    std::fs::write(&jwks_path, jwks.to_string()).unwrap();

    let sim = sim()
        .zego(vec!["rtmp://127.0.0.1:1935/live".into()])
        .start();
    let broker = Broker::start(
        BrokerOptions::new()
            .binary(env!("CARGO_BIN_EXE_rtc-golive-broker"))
            .zego(&sim.base_url())
            .set(
                "tokens",
                "jwks_file",
                &serde_json::to_string(&jwks_path.to_string_lossy()).unwrap(),
            ),
    );
    let ed_key = EncodingKey::from_ed_pem(ed.serialize_pem().as_bytes()).unwrap();
    let ec_key = EncodingKey::from_ec_pem(ec.serialize_pem().as_bytes()).unwrap();

    let carol = sign(Algorithm::EdDSA, "login-ed", &ed_key, &claims("carol"));
    let reply = broker.golive(Some(&carol), &json!({}));
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.body["key"], "carol-main");
    let dave = sign(Algorithm::ES256, "login-ec", &ec_key, &claims("dave"));
    let reply = broker.golive(Some(&dave), &json!({"ahead": true}));
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let own = broker.token("erin", &TokenPin::zego("erin-main"));
    assert_eq!(
        broker.golive(Some(&own), &json!({"ahead": true})).status,
        200
    );

    sim.zego().clear_requests();
    let mallory = claims("mallory");
    let confused = [
        // HS256 with the public key as the secret, in each form it is published.
        sign(
            Algorithm::HS256,
            "login-ed",
            &EncodingKey::from_secret(ed.public_key_raw()),
            &mallory,
        ),
        sign(
            Algorithm::HS256,
            "login-ed",
            &EncodingKey::from_secret(ed.public_key_pem().as_bytes()),
            &mallory,
        ),
        sign(
            Algorithm::HS256,
            "login-ec",
            &EncodingKey::from_secret(ec.public_key_pem().as_bytes()),
            &mallory,
        ),
        sign(
            Algorithm::HS256,
            "login-ec",
            &EncodingKey::from_secret(jwks.to_string().as_bytes()),
            &mallory,
        ),
        // The right algorithm with the other key's kid.
        sign(Algorithm::EdDSA, "login-ec", &ed_key, &mallory),
        // Unsigned.
        format!(
            "{}.{}.",
            b64(br#"{"alg":"none","kid":"login-ed"}"#),
            b64(&serde_json::to_vec(&mallory).unwrap())
        ),
    ];
    for token in &confused {
        let reply = broker.golive(Some(token), &json!({}));
        assert_eq!((reply.status, reply.code()), (401, "token_invalid"));
    }
    assert!(
        sim.zego().requests().is_empty(),
        "a refused token reached the vendor"
    );

    // The CLI revokes a login service's token too: its jti and exp are read from it.
    let (ok, _, stderr) = broker.cli("revoke", &["--token".to_owned(), carol.clone()]);
    assert!(ok, "{stderr}");
    assert_eq!(
        broker.golive(Some(&carol), &json!({})).code(),
        "token_revoked"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
