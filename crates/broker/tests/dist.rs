//! What the Debian package ships besides the binary: the example config is one the broker
//! takes (once its placeholders are filled), and the systemd unit confines the broker.

use rtc_golive_broker::config::BrokerConfig;
use std::path::Path;

const EXAMPLE: &str = include_str!("../dist/broker.toml");
const UNIT: &str = include_str!("../dist/rtc-golive-broker.service");

#[test]
fn the_example_config_is_valid_once_filled_in() {
    let filled = EXAMPLE
        .replace(
            r#"hs256_key_file = "/etc/rtc-golive/hs256.key""#,
            r#"hs256_key = "an-example-key-of-more-than-32-bytes-0123""#,
        )
        .replace(
            r#"server_secret = "…""#,
            r#"server_secret = "0123456789abcdef0123456789abcdef""#,
        );
    let config = BrokerConfig::parse(&filled, Path::new("/etc/rtc-golive"))
        .unwrap_or_else(|e| panic!("the example config: {e}"));
    assert_eq!(config.listen.port(), 8443);
    assert!(config.admin_listen.is_some_and(|a| a.ip().is_loopback()));
    assert!(config.tls.is_some() && config.zego.is_some());
    assert_eq!(
        config.http,
        rtc_golive_broker::connections::HttpSettings::default()
    );
}

#[test]
fn the_unit_runs_the_broker_confined() {
    for directive in [
        "User=rtc-golive",
        "ExecStart=/usr/bin/rtc-golive-broker serve --config /etc/rtc-golive/broker.toml",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "LimitNOFILE=",
        "ProtectSystem=strict",
        "NoNewPrivileges=true",
        "PrivateTmp=true",
        "StateDirectory=rtc-golive-broker",
        "CapabilityBoundingSet=\n",
    ] {
        assert!(UNIT.contains(directive), "the unit lacks {directive:?}");
    }
}
