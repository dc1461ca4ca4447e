//! `rtc-golive-sim`: serves the vendor API simulator over HTTP for the demo script.
//!
//! Runs until the process is killed (SIGINT/SIGTERM): there is no state worth saving.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use rtc_golive_simulator::{AliyunKey, SimConfig, Simulator, ZegoApp};

const USAGE: &str = "\
usage: rtc-golive-sim [--listen ADDR] [--zego-app APPID:SECRET[:test]]... \
[--zego-node RTMP_URL_PREFIX]... [--aliyun-key ID:SECRET]... [--aliyun-rtmp RTMP_URL_PREFIX] \
[--latency-ms N]

  --listen ADDR        address to serve on (default 127.0.0.1:8950)
  --zego-app ...       a ZEGOCLOUD app allowed to call; `:test` makes it a test-environment app
  --zego-node URL      an RTMPDispatchV2 node, e.g. rtmp://127.0.0.1:1935/live
  --aliyun-key ...     an Alibaba Cloud AccessKey (AccessKey ID and secret) allowed to call
  --aliyun-rtmp URL    where CreateRoomRealTimeStreamAddress addresses point
                       (default rtmp://127.0.0.1:1935/live)
  --latency-ms N       delay every API answer by N milliseconds";

fn main() -> ExitCode {
    let config = match parse_args(std::env::args().skip(1)) {
        Ok(Some(config)) => config,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("rtc-golive-sim: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if config.zego_nodes.is_empty() {
        eprintln!("rtc-golive-sim: no --zego-node: RTMPDispatchV2 will answer 1002 (no node)");
    }
    let simulator = match Simulator::start(config) {
        Ok(simulator) => simulator,
        Err(err) => {
            eprintln!("rtc-golive-sim: cannot start: {err}");
            return ExitCode::FAILURE;
        }
    };
    println!("listening on {}", simulator.base_url());
    // The demo script waits for this line, which a pipe would otherwise hold in the buffer.
    if std::io::stdout().flush().is_err() {
        return ExitCode::FAILURE;
    }
    loop {
        std::thread::park();
    }
}

/// The configuration the arguments ask for, or `None` for `--help`.
fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Option<SimConfig>, String> {
    let mut config = SimConfig {
        listen: "127.0.0.1:8950".to_owned(),
        ..SimConfig::default()
    };
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "--listen" => config.listen = value()?,
            "--zego-app" => config.zego_apps.push(parse_zego_app(&value()?)?),
            "--zego-node" => config.zego_nodes.push(value()?),
            "--aliyun-key" => config.aliyun_keys.push(parse_aliyun_key(&value()?)?),
            "--aliyun-rtmp" => config.aliyun_rtmp_base = parse_rtmp_base(&value()?)?,
            "--latency-ms" => {
                let text = value()?;
                let ms = text.parse().map_err(|_| {
                    format!("--latency-ms: {text:?} is not a number of milliseconds")
                })?;
                config.latency = Duration::from_millis(ms);
            }
            _ => return Err(format!("unknown argument {flag:?}")),
        }
    }
    Ok(Some(config))
}

/// `APPID:SECRET` or `APPID:SECRET:test`. Error messages never repeat the secret.
fn parse_zego_app(value: &str) -> Result<ZegoApp, String> {
    let mut parts = value.split(':');
    let (Some(app_id), Some(secret)) = (parts.next(), parts.next()) else {
        return Err("--zego-app wants APPID:SECRET[:test]".to_owned());
    };
    let app_id = app_id
        .parse()
        .map_err(|_| format!("--zego-app: AppId {app_id:?} is not a uint32"))?;
    if secret.is_empty() {
        return Err("--zego-app: the ServerSecret is empty".to_owned());
    }
    let test_env = match (parts.next(), parts.next()) {
        (None, _) => false,
        (Some("test"), None) => true,
        _ => return Err("--zego-app wants APPID:SECRET[:test]".to_owned()),
    };
    Ok(ZegoApp {
        app_id,
        server_secret: secret.to_owned(),
        test_env,
    })
}

/// `ID:SECRET`, split at the first `:`. Error messages never repeat the secret.
fn parse_aliyun_key(value: &str) -> Result<AliyunKey, String> {
    match value.split_once(':') {
        Some((id, secret)) if !id.is_empty() && !secret.is_empty() => Ok(AliyunKey {
            access_key_id: id.to_owned(),
            access_key_secret: secret.to_owned(),
        }),
        _ => Err("--aliyun-key wants ACCESS_KEY_ID:ACCESS_KEY_SECRET".to_owned()),
    }
}

/// `rtmp[s]://host[:port]/app[/...]`: the addresses append `/<stream name>?auth_key=...`, and
/// OBS needs an app between the host and the stream name.
fn parse_rtmp_base(value: &str) -> Result<String, String> {
    let rest = value
        .strip_prefix("rtmp://")
        .or_else(|| value.strip_prefix("rtmps://"));
    let has_host_and_app = rest
        .and_then(|rest| rest.split_once('/'))
        .is_some_and(|(host, app)| !host.is_empty() && !app.trim_matches('/').is_empty());
    if has_host_and_app && !value.contains(['?', ' ']) {
        Ok(value.to_owned())
    } else {
        Err(format!(
            "--aliyun-rtmp: {value:?} is not rtmp://host[:port]/app (e.g. rtmp://127.0.0.1:1935/live)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Option<SimConfig>, String> {
        parse_args(args.iter().map(|arg| arg.to_string()))
    }

    #[test]
    fn parses_every_flag() {
        let config = parse(&[
            "--listen",
            "127.0.0.1:0",
            "--zego-app",
            "1540531164:abc",
            "--zego-app",
            "123456789:def:test",
            "--zego-node",
            "rtmp://127.0.0.1:1935/live",
            "--zego-node",
            "rtmp://127.0.0.2:1935/live",
            "--aliyun-key",
            "LTAI5tExample:sec:ret",
            "--aliyun-key",
            "LTAI5tOther:other",
            "--aliyun-rtmp",
            "rtmp://127.0.0.2:1935/artc",
            "--latency-ms",
            "250",
        ])
        .unwrap()
        .unwrap();
        assert_eq!(config.listen, "127.0.0.1:0");
        let apps: Vec<_> = config
            .zego_apps
            .iter()
            .map(|app| (app.app_id, app.server_secret.as_str(), app.test_env))
            .collect();
        assert_eq!(apps, [(1540531164, "abc", false), (123456789, "def", true)]);
        assert_eq!(config.zego_nodes.len(), 2);
        let keys: Vec<_> = config
            .aliyun_keys
            .iter()
            .map(|key| (key.access_key_id.as_str(), key.access_key_secret.as_str()))
            .collect();
        assert_eq!(
            keys,
            [("LTAI5tExample", "sec:ret"), ("LTAI5tOther", "other")]
        );
        assert_eq!(config.aliyun_rtmp_base, "rtmp://127.0.0.2:1935/artc");
        assert_eq!(config.latency, Duration::from_millis(250));
    }

    #[test]
    fn defaults_to_port_8950() {
        let config = parse(&[]).unwrap().unwrap();
        assert_eq!(config.listen, "127.0.0.1:8950");
        assert_eq!(config.aliyun_rtmp_base, "rtmp://127.0.0.1:1935/live");
        assert!(config.aliyun_keys.is_empty());
    }

    #[test]
    fn help_and_errors() {
        assert!(parse(&["--help"]).unwrap().is_none());
        for bad in [
            &["--listen"][..],
            &["--latency-ms", "soon"],
            &["--zego-app", "12:"],
            &["--zego-app", "x:secret"],
            &["--zego-app", "12"],
            &["--zego-app", "12:secret:prod"],
            &["--verbose", "1"],
            &["--aliyun-key", "LTAI5tExample"],
            &["--aliyun-key", ":secret"],
            &["--aliyun-key", "LTAI5tExample:"],
            &["--aliyun-rtmp", "http://127.0.0.1/live"],
            &["--aliyun-rtmp", "rtmp://127.0.0.1:1935"],
            &["--aliyun-rtmp", "rtmp://127.0.0.1:1935/"],
            &["--aliyun-rtmp", "rtmp:///live"],
            &["--aliyun-rtmp", "rtmp://h/live?x=1"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            parse(&["--bogus"]).unwrap_err(),
            "unknown argument \"--bogus\""
        );
        assert_eq!(
            parse(&["--zego-node"]).unwrap_err(),
            "--zego-node needs a value"
        );
        let err = parse(&["--zego-app", "12:topsecret:prod"]).unwrap_err();
        assert!(!err.contains("topsecret"), "{err}");
        let err = parse(&["--aliyun-key", "topsecret"]).unwrap_err();
        assert!(!err.contains("topsecret"), "{err}");
        assert!(parse(&["--aliyun-rtmp", "rtmps://live.example.com/app/sub"]).is_ok());
    }
}
