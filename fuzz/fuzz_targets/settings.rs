//! `ZegoConfig::from_settings` and `AliyunConfig::from_settings` on any JSON OBS could hand
//! over (profiles' `service.json`, obs-websocket scripts).

#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use rtc_golive_core::config::{aliyun::AliyunConfig, zego::ZegoConfig};
use serde_json::Value;
use std::net::IpAddr;
use url::{Host, Url};

/// Signed requests never go out in clear text except to this computer.
fn assert_safe_endpoint(root: &Url) {
    let loopback = match root.host() {
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    };
    assert!(
        root.scheme() == "https" || (root.scheme() == "http" && loopback),
        "{root}"
    );
    assert_eq!(root.path(), "/");
    assert_eq!(root.query(), None);
}

fuzz_target!(|data: &[u8]| {
    let Ok(settings) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    match ZegoConfig::from_settings(&settings) {
        Ok(config) => {
            assert_ne!(config.app_id, 0);
            assert!(!config.stream_id.is_empty());
            assert!(!config.server_secret.expose().is_empty());
            assert_safe_endpoint(&config.endpoint.root());
        }
        Err(e) => {
            common::render(&e.message);
        }
    }
    match AliyunConfig::from_settings(&settings) {
        Ok(config) => {
            assert!(!config.access_key_id.is_empty());
            assert!(config.expire_time > 0);
            assert!(config.display_name.chars().count() <= 40);
            assert_safe_endpoint(&config.endpoint.root());
        }
        Err(e) => {
            common::render(&e.message);
        }
    }
});
