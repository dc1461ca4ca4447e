//! HTTPS with `tls_cert` / `tls_key`: the API answers over TLS with the configured certificate
//! (checked against its CA, not accepted blindly), plain HTTP gets no answer there, and the
//! `revoke` command reaches the admin API over HTTPS with the system's trust; SIGHUP reloads
//! the certificate and key from their files.

// The test harness (rtc-golive-test-support) is Unix only.
#![cfg(unix)]

use rtc_golive_test_support::fixtures::sim;
use rtc_golive_test_support::{Broker, BrokerOptions, TestCa, TokenPin};
use serde_json::json;
use std::time::Duration;

#[test]
fn the_api_is_served_over_https() {
    let ca = TestCa::generate();
    let sim = sim()
        .zego(vec!["rtmp://127.0.0.1:1935/live".into()])
        .start();
    let broker = Broker::start(
        BrokerOptions::new()
            .binary(env!("CARGO_BIN_EXE_rtc-golive-broker"))
            .zego(&sim.base_url())
            .tls(&ca.server_chain_file(), &ca.server_key_file()),
    );
    assert!(broker.url().starts_with("https://127.0.0.1:"));

    let pem = std::fs::read(ca.ca_file()).unwrap();
    let trusting = reqwest::blocking::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let health = trusting
        .get(format!("https://localhost:{}/healthz", broker.port()))
        .send()
        .unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&health.text().unwrap()).unwrap()["limiter"],
        "local"
    );

    let minted = broker.mint("alice", &TokenPin::zego("alice-main"), None);
    let golive = trusting
        .post(format!("https://localhost:{}/v1/golive", broker.port()))
        .bearer_auth(&minted.token)
        .body("{}")
        .send()
        .unwrap();
    assert_eq!(golive.status(), 200);

    let untrusting = reqwest::blocking::Client::builder()
        .tls_built_in_root_certs(true)
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    assert!(untrusting
        .get(format!("https://localhost:{}/healthz", broker.port()))
        .send()
        .is_err());
    let plain = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
        .get(format!("http://127.0.0.1:{}/healthz", broker.port()))
        .send();
    assert!(plain.map_or(true, |r| r.status() != 200));

    let ca_file = ca.ca_file();
    let (ok, _, stderr) = broker.cli_with_env(
        "revoke",
        &["--jti".to_owned(), minted.jti.clone()],
        &[("SSL_CERT_FILE", ca_file.to_str().unwrap())],
    );
    assert!(ok, "{stderr}");
    let refused = broker.golive(Some(&minted.token), &json!({}));
    assert_eq!(refused.code(), "token_revoked");
}

fn trusting(ca: &TestCa) -> reqwest::blocking::Client {
    let pem = std::fs::read(ca.ca_file()).unwrap();
    reqwest::blocking::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

#[test]
fn sighup_reloads_the_certificate() {
    let (old, new) = (TestCa::generate(), TestCa::generate());
    let dir = std::env::temp_dir().join(format!("broker-reload-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::copy(old.server_chain_file(), &cert).unwrap();
    std::fs::copy(old.server_key_file(), &key).unwrap();
    let sim = sim()
        .zego(vec!["rtmp://127.0.0.1:1935/live".into()])
        .start();
    let broker = Broker::start(
        BrokerOptions::new()
            .binary(env!("CARGO_BIN_EXE_rtc-golive-broker"))
            .zego(&sim.base_url())
            .tls(&cert, &key),
    );
    let health = format!("https://localhost:{}/healthz", broker.port());
    assert_eq!(trusting(&old).get(&health).send().unwrap().status(), 200);

    std::fs::copy(new.server_chain_file(), &cert).unwrap();
    std::fs::copy(new.server_key_file(), &key).unwrap();
    let hup = std::process::Command::new("kill")
        .args(["-HUP", &broker.pid().unwrap().to_string()])
        .status()
        .unwrap();
    assert!(hup.success());
    let reloaded = rtc_golive_test_support::wait_until(Duration::from_secs(10), || {
        trusting(&new)
            .get(&health)
            .send()
            .ok()
            .filter(|r| r.status() == 200)
    });
    assert!(reloaded.is_some(), "{}", broker.log_tail(20));
    assert!(trusting(&old).get(&health).send().is_err());
    assert!(broker.output().contains("reloaded tls_cert"));
    let _ = std::fs::remove_dir_all(&dir);
}
