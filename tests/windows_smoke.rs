#![cfg(windows)]
//! The Windows smoke test: the real release plugin DLL, loaded by `host.exe` over a stub
//! libobs (`tests/windows-host/`), goes live through each of its three services against the
//! vendor simulator and the real broker, under Wine, emulating OBS 29.0.2 and 30.2.3 in English
//! and Chinese.
//!
//! Built and run inside the Windows toolchain (`build-scripts/windows.sh test` sets the paths):
//!
//! ```sh
//! build-scripts/windows.sh run tests/windows-host/build.sh target/windows/test-host
//! build-scripts/windows.sh run cargo build -Z build-std --target x86_64-pc-windows-gnu -p rtc-golive-broker
//! RTC_GOLIVE_WINDOWS_DLL=target/windows/obs-rtc-golive.dll \
//! RTC_GOLIVE_TEST_HOST=target/windows/test-host/host.exe \
//!   build-scripts/windows.sh run cargo test -Z build-std --target x86_64-pc-windows-gnu \
//!   -p obs-rtc-golive --test windows_smoke
//! ```
//!
//! `RTC_GOLIVE_WINDOWS_DLL` (the plugin) and `RTC_GOLIVE_TEST_HOST` (host.exe, with the stub
//! DLLs beside it) are required; the broker is `RTC_GOLIVE_BROKER_BIN`, else
//! `rtc-golive-broker.exe` of this test's profile directory. Anything missing fails the test.

use rtc_golive_core::messages::{LocaleFile, Translate};
use rtc_golive_simulator::{AliyunKey, HandshakeNode, SimConfig, Simulator, ZegoApp};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const DLL_ENV: &str = "RTC_GOLIVE_WINDOWS_DLL";
const HOST_ENV: &str = "RTC_GOLIVE_TEST_HOST";
const BROKER_ENV: &str = "RTC_GOLIVE_BROKER_BIN";

/// One host.exe run: every scenario, the module's load and unload. Far above what it takes
/// (seconds); a hang fails instead of stalling the test run.
const HOST_TIMEOUT: Duration = Duration::from_secs(90);
/// The broker answering `/healthz` after its start (Wine starts processes slowly).
const BROKER_START_TIMEOUT: Duration = Duration::from_secs(30);
/// One broker CLI call (`token`).
const BROKER_CLI_TIMEOUT: Duration = Duration::from_secs(30);

// The simulator's accounts (the values of crates/test-support/src/fixtures.rs, which is
// Unix-only).
const ZEGO_APP_ID: u32 = 1_234_567;
const ZEGO_SERVER_SECRET: &str = "0123456789abcdef0123456789abcdef";
const ZEGO_WRONG_SECRET: &str = "fedcba9876543210fedcba9876543210";
const ALIYUN_KEY_ID: &str = "LTAI5tE2EKEYID0001";
const ALIYUN_KEY_SECRET: &str = "e2e-access-key-secret-XYZ";
const ALIYUN_WRONG_SECRET: &str = "not-the-access-key-secret";
// The broker's keys (as crates/test-support/src/broker.rs configures it).
const BROKER_HS256_KEY: &str = "test-hs256-key-0123456789abcdef-0123456789abcdef";
const BROKER_AUDIENCE: &str = "obs-rtc-golive-test";
const BROKER_ADMIN_KEY: &str = "test-admin-key-0123456789abcdef";

const ZEGO_STREAM: &str = "win_smoke-zego";
const PLATFORM_STREAM: &str = "win_smoke-platform";
const ARTC_APP: &str = "artc-app_1";
const ARTC_CHANNEL: &str = "room-42";
const ARTC_USER: &str = "obs-host";
const ARTC_GUEST: &str = "obs-guest";
/// Where the rtmp-stream of a refused start is sent (`service::connect::REFUSED_SERVER`).
const REFUSED_SERVER: &str = "rtmp://255.255.255.255/obs-rtc-golive-start-refused";

#[test]
fn obs_29_0_2() {
    smoke("29.0.2");
}

#[test]
fn obs_30_2_3() {
    smoke("30.2.3");
}

/// An OBS older than 29.0 is refused at load, with a line in its log saying why: the module
/// registers nothing, and nothing crashes.
#[test]
fn an_obs_older_than_29_0_gets_a_reason_and_no_plugin() {
    let (dll, host) = artifacts();
    let rig = Rig::start();
    let run = rig.run_host(&dll, &host, "28.1.2", "en-US");
    assert_eq!(run.code, Some(1), "{}", run.stdout);
    assert!(
        run.stdout.contains("HOST obs_module_load failed"),
        "{}",
        run.stdout
    );
    assert!(
        run.lines("LOG ")
            .any(|l| l.contains("needs OBS 29.0 or newer, and this is OBS 28.1.2")),
        "{}",
        run.stdout
    );
    assert_eq!(run.lines("SERVICE ").count(), 0, "{}", run.stdout);
}

/// The release DLL and host.exe, with the stub DLLs beside it.
fn artifacts() -> (PathBuf, PathBuf) {
    let dll = required_file(DLL_ENV, "the release plugin DLL (build-scripts/windows.sh)");
    let host = required_file(
        HOST_ENV,
        "host.exe with the stub DLLs beside it (tests/windows-host/build.sh)",
    );
    for stub in ["obs.dll", "obs-frontend-api.dll"] {
        let path = host.with_file_name(stub);
        assert!(
            path.is_file(),
            "{} is missing: host.exe loads the plugin with the stub {stub} beside it \
             (tests/windows-host/build.sh builds both)",
            path.display()
        );
    }
    (dll, host)
}

/// Both UI languages on one emulated OBS version, against one simulator and broker.
fn smoke(version: &str) {
    let (dll, host) = artifacts();
    let rig = Rig::start();
    for locale in ["en-US", "zh-CN"] {
        let run = rig.run_host(&dll, &host, version, locale);
        run.check(&rig, version, locale);
    }
}

/// A path named by an environment variable, which must exist.
fn required_file(var: &str, what: &str) -> PathBuf {
    let value = std::env::var_os(var).unwrap_or_else(|| {
        panic!("{var} is not set: it must name {what}; build-scripts/windows.sh test sets it")
    });
    let path = windows_path(Path::new(&value));
    assert!(
        path.is_file(),
        "{var}={} does not exist: it must name {what}",
        path.display()
    );
    path
}

/// A Unix path (as the Linux side of the build names things) as Wine's Z: drive sees it; any
/// other path unchanged.
fn windows_path(path: &Path) -> PathBuf {
    let text = path.to_string_lossy();
    if text.starts_with('/') {
        PathBuf::from(format!("Z:{}", text.replace('/', "\\")))
    } else {
        path.to_path_buf()
    }
}

/// The checkout (CARGO_MANIFEST_DIR is the Linux path the crate was compiled from).
fn checkout() -> PathBuf {
    windows_path(Path::new(env!("CARGO_MANIFEST_DIR")))
}

fn locale_file(locale: &str) -> LocaleFile {
    let path = checkout()
        .join("data")
        .join("locale")
        .join(format!("{locale}.ini"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    LocaleFile::parse(&text)
}

/// The text of `key` in `locale`'s file (the keys the checks use all exist in both).
fn text(locale: &str, key: &str) -> String {
    locale_file(locale)
        .lookup(key)
        .unwrap_or_else(|| panic!("{key} is missing from {locale}.ini"))
}

/// The vendors and their ingest: the simulator (both vendors), one RTMP node answering the
/// handshake, and the broker in front of the simulator.
struct Rig {
    node: HandshakeNode,
    sim: Simulator,
    broker: Broker,
    token: String,
    /// The token with another signature: not one the platform issued.
    forged_token: String,
}

impl Rig {
    fn start() -> Rig {
        let node = HandshakeNode::start("127.0.0.1:0").expect("the RTMP node listens");
        let sim = Simulator::start(SimConfig {
            zego_apps: vec![ZegoApp {
                app_id: ZEGO_APP_ID,
                server_secret: ZEGO_SERVER_SECRET.to_owned(),
                test_env: false,
            }],
            zego_nodes: vec![node.rtmp_url()],
            aliyun_keys: vec![AliyunKey {
                access_key_id: ALIYUN_KEY_ID.to_owned(),
                access_key_secret: ALIYUN_KEY_SECRET.to_owned(),
            }],
            aliyun_rtmp_base: node.rtmp_url(),
            ..SimConfig::default()
        })
        .expect("the simulator starts");
        let broker = Broker::start(&sim.base_url());
        let token = broker.token("alice", PLATFORM_STREAM);
        let (signed, signature) = token.rsplit_once('.').expect("a JWT has three parts");
        let forged: String = signature.chars().rev().collect();
        assert_ne!(forged, signature, "the forged signature differs");
        let forged_token = format!("{signed}.{forged}");
        Rig {
            node,
            sim,
            broker,
            token,
            forged_token,
        }
    }

    /// The scenario: each service going live, then each with a wrong secret, then a
    /// configuration error, then the settings window opened.
    fn scenario(&self) -> String {
        let zego = |secret: &str| {
            json!({
                "app_id": ZEGO_APP_ID,
                "server_secret": secret,
                "stream_id": ZEGO_STREAM,
                "endpoint": self.sim.base_url(),
                "prefetch": false,
            })
        };
        // The wrong secret goes with another seat: the address the right one created for
        // ARTC_USER is cached in the config directory and reused while valid, without a call.
        let aliyun = |secret: &str, user: &str| {
            json!({
                "access_key_id": ALIYUN_KEY_ID,
                "access_key_secret": secret,
                "endpoint": self.sim.base_url(),
                "app_id": ARTC_APP,
                "channel_id": ARTC_CHANNEL,
                "user_id": user,
                "display_name": "主播 Zoë 🎥",
                "prefetch": false,
                "presence_check": false,
            })
        };
        let platform = |token: &str| json!({"platform_url": self.broker.url(), "platform_token": token, "prefetch": false});
        let mut missing_app_id = zego(ZEGO_SERVER_SECRET);
        missing_app_id["app_id"] = json!(0);
        let lines = [
            ("zego", "zego_rtmp_dispatch", zego(ZEGO_SERVER_SECRET)),
            (
                "aliyun",
                "aliyun_artc_rtmp",
                aliyun(ALIYUN_KEY_SECRET, ARTC_USER),
            ),
            ("platform", "rtc_platform_golive", platform(&self.token)),
            (
                "zego-wrong-secret",
                "zego_rtmp_dispatch",
                zego(ZEGO_WRONG_SECRET),
            ),
            (
                "aliyun-wrong-secret",
                "aliyun_artc_rtmp",
                aliyun(ALIYUN_WRONG_SECRET, ARTC_GUEST),
            ),
            (
                "platform-forged-token",
                "rtc_platform_golive",
                platform(&self.forged_token),
            ),
            ("zego-no-app-id", "zego_rtmp_dispatch", missing_app_id),
        ];
        let mut text: String = lines
            .iter()
            .map(|(label, id, settings)| format!("{label} {id} {settings}\n"))
            .collect();
        text.push_str("@tools\n");
        text
    }

    fn run_host(&self, dll: &Path, host: &Path, version: &str, locale: &str) -> HostRun {
        let dir = TempDir::new();
        // OBS's config directory, with a name Windows' ANSI code pages cannot all spell: the
        // plugin must use libobs's UTF-8 paths as UTF-8.
        let config = dir.path().join("Zoë 张三");
        std::fs::create_dir_all(&config).expect("the config directory can be made");
        let scenario = dir.path().join("scenario.txt");
        std::fs::write(&scenario, self.scenario()).expect("the scenario can be written");
        let started = Instant::now();
        let mut child = Command::new(host)
            .arg(dll)
            .arg(&scenario)
            .env("STUB_OBS_VERSION", version)
            .env("STUB_OBS_LOCALE", locale)
            .env("STUB_OBS_DATA_DIR", checkout().join("data"))
            .env("STUB_OBS_CONFIG_DIR", &config)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", host.display()));
        let stdout = drain(child.stdout.take().expect("piped stdout"));
        let stderr = drain(child.stderr.take().expect("piped stderr"));
        let status = wait_or_kill(&mut child, HOST_TIMEOUT);
        let stdout = String::from_utf8_lossy(&stdout.join().expect("stdout reader")).into_owned();
        let stderr = String::from_utf8_lossy(&stderr.join().expect("stderr reader")).into_owned();
        println!(
            "--- host.exe, OBS {version}, {locale}: {:?} in {:?}\n{stdout}--- stderr\n{stderr}",
            status,
            started.elapsed()
        );
        let code = status.unwrap_or_else(|| {
            panic!("host.exe (OBS {version}, {locale}) did not end within {HOST_TIMEOUT:?}")
        });
        let files = files_under(&config);
        HostRun {
            code,
            stdout,
            stderr,
            config,
            files,
            _dir: dir,
        }
    }
}

/// What one host.exe run printed and left behind.
struct HostRun {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    config: PathBuf,
    /// Every file under the config directory, with its content.
    files: Vec<(PathBuf, Vec<u8>)>,
    _dir: TempDir,
}

impl HostRun {
    fn lines<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.stdout
            .lines()
            .filter_map(move |l| l.strip_prefix(prefix))
    }

    fn result(&self, label: &str) -> Value {
        self.lines("RESULT ")
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|r| r["label"] == label)
            .unwrap_or_else(|| panic!("no RESULT for {label}"))
    }

    /// Every line the plugin logged or set as an output's last error.
    fn shown_lines(&self) -> Vec<&str> {
        self.stdout
            .lines()
            .filter(|l| l.starts_with("LOG ") || l.starts_with("LAST_ERROR "))
            .collect()
    }

    fn check(&self, rig: &Rig, version: &str, locale: &str) {
        let context = format!("OBS {version}, {locale}");
        assert_eq!(self.code, Some(0), "{context}: host.exe's exit code");
        assert!(
            self.stdout.lines().any(|l| l == "DONE"),
            "{context}: host.exe did not finish"
        );

        // Loaded, with what it registers.
        let loaded: Vec<&str> = self.lines("LOADED ").collect();
        assert_eq!(loaded, ["3 2"], "{context}: 3 services and 2 sources");
        let services: BTreeSet<&str> = self
            .lines("SERVICE ")
            .filter_map(|l| l.split(' ').next())
            .collect();
        assert_eq!(
            services,
            BTreeSet::from([
                "aliyun_artc_rtmp",
                "rtc_platform_golive",
                "zego_rtmp_dispatch"
            ]),
            "{context}"
        );
        let v29_1 = version != "29.0.2";
        let size = if v29_1 { 216 } else { 184 };
        for id in &services {
            let line = format!("STUB registered service {id} ({size} bytes)");
            assert!(
                self.stdout.lines().any(|l| l == line),
                "{context}: `{line}` expected"
            );
        }

        // Each service goes live on the simulator's node, with what the vendor handed out.
        let node = rig.node.rtmp_url();
        let zego = self.result("zego");
        self.assert_live(&zego, &context, v29_1);
        assert_eq!(zego["url"], node, "{context}: {zego}");
        assert_eq!(zego["key"], ZEGO_STREAM, "{context}: {zego}");

        let aliyun = self.result("aliyun");
        self.assert_live(&aliyun, &context, v29_1);
        assert_eq!(aliyun["url"], node, "{context}: {aliyun}");
        let key = aliyun["key"].as_str().unwrap_or_default();
        let (name, auth_key) = key
            .split_once("?auth_key=")
            .unwrap_or_else(|| panic!("{context}: no auth_key in the Alibaba key: {aliyun}"));
        assert_eq!(
            name,
            format!("{ARTC_APP}.{ARTC_CHANNEL}.{ARTC_USER}"),
            "{context}"
        );
        assert!(
            rig.sim.aliyun().check_publish(name, auth_key),
            "{context}: the auth_key is one the simulator issued, intact"
        );

        let platform = self.result("platform");
        self.assert_live(&platform, &context, v29_1);
        assert_eq!(platform["url"], node, "{context}: {platform}");
        assert_eq!(platform["key"], PLATFORM_STREAM, "{context}: {platform}");

        // A wrong secret: the start is refused on the connect thread (the vendor's answer
        // comes after initialize), with the vendor's reason in the UI language.
        for (label, key) in [
            ("zego-wrong-secret", "Zego.Code.SignatureError"),
            ("aliyun-wrong-secret", "Aliyun.Code.SignatureDoesNotMatch"),
            ("platform-forged-token", "Platform.Code.TokenInvalid"),
        ] {
            let result = self.result(label);
            assert_eq!(result["initialize"], true, "{context}: {result}");
            assert_eq!(result["url"], REFUSED_SERVER, "{context}: {result}");
            assert_eq!(result["connected"], false, "{context}: {result}");
            let error = result["last_error"].as_str().unwrap_or_default();
            let expected = text(locale, key);
            assert!(
                error.contains(&expected),
                "{context}: {label}'s last error should hold {key} in {locale} \
                 ({expected:?}): {result}"
            );
            if locale != "en-US" {
                let english = text("en-US", key);
                assert!(
                    !error.contains(&english),
                    "{context}: English shown: {result}"
                );
            }
        }

        // A configuration error: initialize itself refuses, with the localized message.
        let missing = self.result("zego-no-app-id");
        assert_eq!(missing["initialize"], false, "{context}: {missing}");
        let error = missing["last_error"].as_str().unwrap_or_default();
        let template = text(locale, "Error.Config.Missing");
        for piece in template.split("%1").filter(|p| !p.is_empty()) {
            assert!(
                error.contains(piece),
                "{context}: the missing AppID should be reported as {template:?}: {missing}"
            );
        }

        // The settings window opened from the Tools menu, on the plugin's private source.
        assert!(
            self.stdout.lines().any(|l| l == "TOOLS 1 clicked"),
            "{context}: one Tools menu item"
        );
        assert!(
            self.stdout
                .lines()
                .any(|l| l.starts_with("STUB frontend: properties window of ")),
            "{context}: the properties window was built"
        );

        // Nothing the stub flags: frontend calls off the UI thread, calls it does not emulate.
        for line in self.lines("STUB ") {
            assert!(
                !line.contains("off the UI thread") && !line.contains("unexpected call"),
                "{context}: {line}"
            );
        }
        // Every block libobs allocated for the plugin was freed by the end.
        let allocs: Vec<&str> = self.lines("ALLOCS ").collect();
        assert_eq!(allocs, ["0"], "{context}: blocks bmalloc'd and never freed");

        self.check_no_secret(rig, &context, &[&zego, &aliyun, &platform]);
        self.check_config_files(&context);
    }

    fn assert_live(&self, result: &Value, context: &str, v29_1: bool) {
        assert_eq!(result["create"], true, "{context}: {result}");
        assert_eq!(result["initialize"], true, "{context}: {result}");
        assert_eq!(result["connected"], true, "{context}: {result}");
        assert_eq!(result["last_error"], Value::Null, "{context}: {result}");
        assert_eq!(result["password_set"], false, "{context}: {result}");
        if v29_1 {
            assert_eq!(result["can_try_to_connect"], true, "{context}: {result}");
            assert_eq!(result["protocol"], "RTMP", "{context}: {result}");
        } else {
            // 29.0 knows neither callback: the 184 bytes registered end before them.
            assert_eq!(
                result["can_try_to_connect"],
                Value::Null,
                "{context}: {result}"
            );
            assert_eq!(result["protocol"], Value::Null, "{context}: {result}");
        }
    }

    /// No secret in any log line or last error, nor on stderr; no secret the plugin holds for
    /// signing or authenticating in its state files (ingest addresses are its cache).
    fn check_no_secret(&self, rig: &Rig, context: &str, live: &[&Value]) {
        // (value, what it is, whether the state files must not hold it either)
        let mut secrets: Vec<(String, &str, bool)> = vec![
            (ZEGO_SERVER_SECRET.into(), "the ServerSecret", true),
            (ZEGO_WRONG_SECRET.into(), "the wrong ServerSecret", true),
            (ALIYUN_KEY_SECRET.into(), "the AccessKey secret", true),
            (
                ALIYUN_WRONG_SECRET.into(),
                "the wrong AccessKey secret",
                true,
            ),
            (ALIYUN_KEY_ID.into(), "the unmasked AccessKey ID", false),
            (rig.token.clone(), "the broker token", true),
            (rig.forged_token.clone(), "the forged broker token", true),
            (BROKER_HS256_KEY.into(), "the broker's token key", true),
            (BROKER_ADMIN_KEY.into(), "the broker's admin key", true),
        ];
        for request in rig.sim.zego().requests() {
            if let Some(signature) = request.params.get("Signature") {
                secrets.push((signature.clone(), "a ZEGOCLOUD request signature", true));
            }
        }
        for result in live {
            let (url, key) = (result["url"].as_str(), result["key"].as_str());
            if let (Some(url), Some(key)) = (url, key) {
                if let Some((_, auth_key)) = key.split_once("?auth_key=") {
                    secrets.push((auth_key.to_owned(), "an auth_key", false));
                    secrets.push((format!("{url}/{key}"), "a full signed ingest URL", false));
                }
            }
        }
        let shown = self.shown_lines();
        assert!(!shown.is_empty(), "{context}: the plugin logged nothing");
        for (secret, what, in_files) in &secrets {
            assert!(!secret.is_empty());
            for line in &shown {
                assert!(
                    !line.contains(secret.as_str()),
                    "{context}: {what} reached OBS's log or an error dialog"
                );
            }
            assert!(
                !self.stderr.contains(secret.as_str()),
                "{context}: {what} reached stderr"
            );
            if !in_files {
                continue;
            }
            for (path, content) in &self.files {
                assert!(
                    !String::from_utf8_lossy(content).contains(secret.as_str()),
                    "{context}: {what} was written to {}",
                    path.display()
                );
            }
        }
    }

    /// The plugin's state files are in its config directory under the non-ASCII path.
    fn check_config_files(&self, context: &str) {
        let dir = self.config.join("plugin_config").join("obs-rtc-golive");
        assert!(
            dir.is_dir(),
            "{context}: the plugin's config directory {} was not made (files: {:?})",
            dir.display(),
            self.files.iter().map(|(p, _)| p).collect::<Vec<_>>()
        );
        // ZEGOCLOUD's request sequence and Alibaba's ingest address cache.
        for name in ["zego-sequence", "addresses.json"] {
            assert!(
                self.files.iter().any(|(p, _)| *p == dir.join(name)),
                "{context}: {name} is not in {} (files: {:?})",
                dir.display(),
                self.files.iter().map(|(p, _)| p).collect::<Vec<_>>()
            );
        }
        for (path, _) in &self.files {
            assert!(
                path.starts_with(&dir),
                "{context}: {} is outside the plugin's config directory",
                path.display()
            );
        }
    }
}

/// Every file under `dir`, with its content.
fn files_under(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let content = std::fs::read(&path).unwrap_or_default();
                files.push((path, content));
            }
        }
    }
    files
}

/// Reads a pipe to its end on a thread of its own (a full pipe would stall the child).
fn drain(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        bytes
    })
}

/// The child's exit code (None when it was killed for running past `timeout`, or died
/// without one).
fn wait_or_kill(child: &mut Child, timeout: Duration) -> Option<Option<i32>> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status.code()),
            Ok(None) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(50));
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
}

/// A directory of its own under the temp directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "obs-rtc-golive-windows-smoke-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("a temp directory");
        TempDir(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The platform's broker (`rtc-golive-broker.exe serve`) on a free loopback port, with both
/// vendors on the simulator; killed on drop.
struct Broker {
    binary: PathBuf,
    child: Child,
    port: u16,
    dir: TempDir,
    config: PathBuf,
}

impl Broker {
    fn binary() -> PathBuf {
        if let Some(path) = std::env::var_os(BROKER_ENV) {
            let path = windows_path(Path::new(&path));
            assert!(
                path.is_file(),
                "{BROKER_ENV}={} does not exist",
                path.display()
            );
            return path;
        }
        // This test is target/<triple>/<profile>/deps/windows_smoke-<hash>.exe.
        let exe = std::env::current_exe().expect("the test's own path");
        let profile = exe
            .parent()
            .and_then(Path::parent)
            .expect("the test runs from <profile>/deps");
        let path = profile.join("rtc-golive-broker.exe");
        assert!(
            path.is_file(),
            "{} does not exist: the platform service needs the broker built for Windows \
             (cargo build -Z build-std --target x86_64-pc-windows-gnu -p rtc-golive-broker, \
             in the same profile as this test), or name one in {BROKER_ENV}",
            path.display()
        );
        path
    }

    fn start(sim_url: &str) -> Broker {
        let binary = Broker::binary();
        let port = free_port();
        let dir = TempDir::new();
        let config = dir.path().join("broker.toml");
        let q = |s: &str| serde_json::to_string(s).expect("a string serializes");
        let toml = format!(
            "listen = {listen}\nadmin_key = {admin}\n\n\
             [tokens]\nhs256_key = {key}\naudience = {audience}\n\n\
             [zego]\napp_id = {ZEGO_APP_ID}\nserver_secret = {zego_secret}\nendpoint = {sim}\n\n\
             [aliyun]\naccess_key_id = {aliyun_id}\naccess_key_secret = {aliyun_secret}\n\
             endpoint = {sim}\napp_id = {artc_app}\n",
            listen = q(&format!("127.0.0.1:{port}")),
            admin = q(BROKER_ADMIN_KEY),
            key = q(BROKER_HS256_KEY),
            audience = q(BROKER_AUDIENCE),
            zego_secret = q(ZEGO_SERVER_SECRET),
            sim = q(sim_url),
            aliyun_id = q(ALIYUN_KEY_ID),
            aliyun_secret = q(ALIYUN_KEY_SECRET),
            artc_app = q(ARTC_APP),
        );
        std::fs::write(&config, toml).expect("the broker's config can be written");
        let log = |name: &str| {
            std::fs::File::create(dir.path().join(name)).expect("the broker's log file")
        };
        let child = Command::new(&binary)
            .arg("serve")
            .arg("--config")
            .arg(&config)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log("stdout.log"))
            .stderr(log("stderr.log"))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let mut broker = Broker {
            binary,
            child,
            port,
            dir,
            config,
        };
        broker.wait_healthy();
        broker
    }

    fn output(&self) -> String {
        let read =
            |name: &str| std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default();
        format!("{}{}", read("stdout.log"), read("stderr.log"))
    }

    fn wait_healthy(&mut self) {
        let deadline = Instant::now() + BROKER_START_TIMEOUT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("the broker exited at start ({status}):\n{}", self.output());
            }
            if http_get_status(self.port, "/healthz") == Some(200) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the broker did not answer /healthz within {BROKER_START_TIMEOUT:?}:\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A token for `sub` pinning ZEGOCLOUD stream `stream`, minted with the broker's CLI.
    fn token(&self, sub: &str, stream: &str) -> String {
        let mut child = Command::new(&self.binary)
            .args(["token", "--config"])
            .arg(&self.config)
            .args(["--sub", sub, "--zego-stream-id", stream])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.binary.display()));
        let stdout = drain(child.stdout.take().expect("piped stdout"));
        let stderr = drain(child.stderr.take().expect("piped stderr"));
        let code = wait_or_kill(&mut child, BROKER_CLI_TIMEOUT);
        let stdout = String::from_utf8_lossy(&stdout.join().expect("reader")).into_owned();
        let stderr = String::from_utf8_lossy(&stderr.join().expect("reader")).into_owned();
        assert_eq!(
            code,
            Some(Some(0)),
            "`rtc-golive-broker token` failed: {stderr}"
        );
        let token = stdout.trim().to_owned();
        assert_eq!(token.split('.').count(), 3, "not a JWT: {token:?}");
        token
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port free right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// `GET path` on the loopback `port`: the status, or None when nothing answers.
fn http_get_status(port: u16, path: &str) -> Option<u16> {
    let addr = ([127, 0, 0, 1], port).into();
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(1)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.split(' ').nth(1)?.parse().ok()
}
