//! The platform's broker (`rtc-golive-broker`) as a real process: a TOML config written from
//! [`BrokerOptions`], `serve` on a free loopback port, tokens minted with its `token` command,
//! and kill / restart for the fault tests.
//!
//! ```ignore
//! let sim = sim().zego(vec![rtmp.rtmp_url()]).start();
//! let broker = Broker::start(BrokerOptions::new().zego(&sim.base_url()));
//! let token = broker.token("alice", &TokenPin::zego("alice-main"));
//! let reply = broker.golive(Some(&token), &json!({}));
//! assert_eq!(reply.status, 200);
//! ```
//!
//! The binary is `target/<profile>/rtc-golive-broker` (build it with
//! `cargo build -p rtc-golive-broker`), or the one named by [`BROKER_BIN_ENV`], or the one given
//! to [`BrokerOptions::binary`] (the broker's own tests pass `CARGO_BIN_EXE_rtc-golive-broker`).

use crate::fixtures::{
    AliyunRoom, ALIYUN_KEY_ID, ALIYUN_KEY_SECRET, ZEGO_APP_ID, ZEGO_SERVER_SECRET,
};
use crate::util::{
    artifacts_dir, current_test_name, die_with_parent, free_port, send_signal, stop_child,
    tail_of_file, wait_timeout, wait_until, TempDir,
};
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

/// Names the broker binary to run instead of `target/<profile>/rtc-golive-broker`.
pub const BROKER_BIN_ENV: &str = "RTC_GOLIVE_BROKER_BIN";
/// The HS256 key the harness's brokers sign tokens with (test only).
pub const BROKER_HS256_KEY: &str = "test-hs256-key-0123456789abcdef-0123456789abcdef";
/// The audience of the harness's tokens.
pub const BROKER_AUDIENCE: &str = "obs-rtc-golive-test";
/// The admin key of the harness's brokers (`POST /v1/admin/revoke`).
pub const BROKER_ADMIN_KEY: &str = "test-admin-key-0123456789abcdef";
/// How long a broker gets to answer `/healthz` after it is started.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// What a token pins.
#[derive(Debug, Clone)]
pub enum TokenPin {
    /// A ZEGOCLOUD stream, with the CDN URLs the broker forwards it to.
    Zego {
        /// The StreamId.
        stream_id: String,
        /// CDN forwards (`--zego-cdn-url`).
        cdn_urls: Vec<String>,
        /// Streams it may play (`--zego-play-stream`).
        play: Vec<String>,
        /// Every forward required (`--zego-cdn-required`).
        cdn_required: bool,
    },
    /// An Alibaba Cloud channel seat.
    Aliyun {
        /// The channel.
        channel: String,
        /// The user id.
        user_id: String,
        /// The display name.
        display_name: String,
    },
}

impl TokenPin {
    /// A ZEGOCLOUD stream without CDN forwards.
    #[must_use]
    pub fn zego(stream_id: &str) -> TokenPin {
        TokenPin::Zego {
            stream_id: stream_id.to_owned(),
            cdn_urls: Vec::new(),
            play: Vec::new(),
            cdn_required: false,
        }
    }

    /// A ZEGOCLOUD stream whose streamer may also play `play` through `/v1/play`.
    #[must_use]
    pub fn zego_playing(stream_id: &str, play: &[&str]) -> TokenPin {
        TokenPin::Zego {
            stream_id: stream_id.to_owned(),
            cdn_urls: Vec::new(),
            play: play.iter().map(|s| (*s).to_owned()).collect(),
            cdn_required: false,
        }
    }

    /// A ZEGOCLOUD stream forwarded to `cdn_urls` while live.
    #[must_use]
    pub fn zego_with_cdn(stream_id: &str, cdn_urls: &[&str]) -> TokenPin {
        TokenPin::Zego {
            stream_id: stream_id.to_owned(),
            cdn_urls: cdn_urls.iter().map(|u| (*u).to_owned()).collect(),
            play: Vec::new(),
            cdn_required: false,
        }
    }

    /// [`zego_with_cdn`](Self::zego_with_cdn), the stream stopping when a forward fails.
    #[must_use]
    pub fn zego_requiring_cdn(stream_id: &str, cdn_urls: &[&str]) -> TokenPin {
        match Self::zego_with_cdn(stream_id, cdn_urls) {
            TokenPin::Zego {
                stream_id,
                cdn_urls,
                play,
                ..
            } => TokenPin::Zego {
                stream_id,
                cdn_urls,
                play,
                cdn_required: true,
            },
            aliyun => aliyun,
        }
    }

    /// The channel seat of `room` (its `app_id` is the broker's, see [`BrokerOptions::aliyun`]).
    #[must_use]
    pub fn aliyun(room: AliyunRoom<'_>) -> TokenPin {
        TokenPin::Aliyun {
            channel: room.channel_id.to_owned(),
            user_id: room.user_id.to_owned(),
            display_name: room.display_name.to_owned(),
        }
    }

    fn args(&self) -> Vec<String> {
        match self {
            TokenPin::Zego {
                stream_id,
                cdn_urls,
                play,
                cdn_required,
            } => {
                let mut args = vec!["--zego-stream-id".to_owned(), stream_id.clone()];
                if *cdn_required {
                    args.push("--zego-cdn-required".to_owned());
                }
                for url in cdn_urls {
                    args.push("--zego-cdn-url".to_owned());
                    args.push(url.clone());
                }
                for stream in play {
                    args.push("--zego-play-stream".to_owned());
                    args.push(stream.clone());
                }
                args
            }
            TokenPin::Aliyun {
                channel,
                user_id,
                display_name,
            } => vec![
                "--aliyun-channel".to_owned(),
                channel.clone(),
                "--aliyun-user".to_owned(),
                user_id.clone(),
                "--aliyun-display-name".to_owned(),
                display_name.clone(),
            ],
        }
    }
}

/// A broker's config under construction: the simulator's test accounts, the harness's token
/// key and audience, no Redis.
#[derive(Debug, Clone, Default)]
pub struct BrokerOptions {
    binary: Option<PathBuf>,
    zego_endpoint: Option<String>,
    aliyun: Option<(String, String)>,
    redis_url: Option<String>,
    tls: Option<(PathBuf, PathBuf)>,
    client_ip_header: Option<String>,
    extra: Vec<String>,
    nofile: Option<(u64, u64)>,
    admin_listen: bool,
}

impl BrokerOptions {
    /// No vendor yet: add [`zego`](Self::zego) and/or [`aliyun`](Self::aliyun).
    #[must_use]
    pub fn new() -> BrokerOptions {
        BrokerOptions::default()
    }

    /// Runs the broker under `prlimit --nofile=SOFT:HARD` (systemd's default is 1024:524288).
    #[must_use]
    pub fn nofile(mut self, soft: u64, hard: u64) -> BrokerOptions {
        self.nofile = Some((soft, hard));
        self
    }

    /// Serves `/healthz`, `/metrics` and the admin API on a listener of their own
    /// (`admin_listen`, a second free port: [`Broker::admin_url`]).
    #[must_use]
    pub fn admin_listen(mut self) -> BrokerOptions {
        self.admin_listen = true;
        self
    }

    /// Runs `binary` instead of the one found by default.
    #[must_use]
    pub fn binary(mut self, binary: impl Into<PathBuf>) -> BrokerOptions {
        self.binary = Some(binary.into());
        self
    }

    /// Serves ZEGOCLOUD tokens with the test app ([`ZEGO_APP_ID`]) at `endpoint`.
    #[must_use]
    pub fn zego(mut self, endpoint: &str) -> BrokerOptions {
        self.zego_endpoint = Some(endpoint.to_owned());
        self
    }

    /// Serves Alibaba Cloud tokens with the test AccessKey at `endpoint`, for ARTC `app_id`.
    #[must_use]
    pub fn aliyun(mut self, endpoint: &str, app_id: &str) -> BrokerOptions {
        self.aliyun = Some((endpoint.to_owned(), app_id.to_owned()));
        self
    }

    /// Shares limiter, revocations and sessions through `redis_url`.
    #[must_use]
    pub fn redis(mut self, redis_url: &str) -> BrokerOptions {
        self.redis_url = Some(redis_url.to_owned());
        self
    }

    /// Serves HTTPS with this PEM certificate chain and key.
    #[must_use]
    pub fn tls(mut self, cert: &Path, key: &Path) -> BrokerOptions {
        self.tls = Some((cert.to_owned(), key.to_owned()));
        self
    }

    /// Takes the streamer's address from `header`, as behind a reverse proxy.
    #[must_use]
    pub fn client_ip_header(mut self, header: &str) -> BrokerOptions {
        self.client_ip_header = Some(header.to_owned());
        self
    }

    /// Adds `key = value` (value as TOML) to `section` (`"limits"`, `"sessions"`, `"tokens"`).
    #[must_use]
    /// (`section` "" is the top level.)
    pub fn set(mut self, section: &str, key: &str, value: &str) -> BrokerOptions {
        self.extra.push(format!("{section}\u{0}{key} = {value}"));
        self
    }

    /// The vendor secrets and keys in this config: none may ever appear in a log or on stdout.
    #[must_use]
    pub fn secrets() -> Vec<&'static str> {
        vec![
            ZEGO_SERVER_SECRET,
            ALIYUN_KEY_SECRET,
            BROKER_HS256_KEY,
            BROKER_ADMIN_KEY,
        ]
    }

    fn toml(&self, port: u16, admin_port: Option<u16>) -> String {
        let q = |s: &str| serde_json::to_string(s).expect("a string serializes");
        let path = |p: &Path| q(&p.to_string_lossy());
        let mut sections: Vec<(String, Vec<String>)> = Vec::new();
        let mut top = vec![
            format!("listen = {}", q(&format!("127.0.0.1:{port}"))),
            format!("admin_key = {}", q(BROKER_ADMIN_KEY)),
        ];
        if let Some(admin_port) = admin_port {
            top.push(format!(
                "admin_listen = {}",
                q(&format!("127.0.0.1:{admin_port}"))
            ));
        }
        if let Some(url) = &self.redis_url {
            top.push(format!("redis_url = {}", q(url)));
        }
        if let Some(header) = &self.client_ip_header {
            top.push(format!("client_ip_header = {}", q(header)));
        }
        if let Some((cert, key)) = &self.tls {
            top.push(format!("tls_cert = {}", path(cert)));
            top.push(format!("tls_key = {}", path(key)));
        }
        sections.push((
            "tokens".to_owned(),
            vec![
                format!("hs256_key = {}", q(BROKER_HS256_KEY)),
                format!("audience = {}", q(BROKER_AUDIENCE)),
            ],
        ));
        if let Some(endpoint) = &self.zego_endpoint {
            sections.push((
                "zego".to_owned(),
                vec![
                    format!("app_id = {ZEGO_APP_ID}"),
                    format!("server_secret = {}", q(ZEGO_SERVER_SECRET)),
                    format!("endpoint = {}", q(endpoint)),
                ],
            ));
        }
        if let Some((endpoint, app_id)) = &self.aliyun {
            sections.push((
                "aliyun".to_owned(),
                vec![
                    format!("access_key_id = {}", q(ALIYUN_KEY_ID)),
                    format!("access_key_secret = {}", q(ALIYUN_KEY_SECRET)),
                    format!("endpoint = {}", q(endpoint)),
                    format!("app_id = {}", q(app_id)),
                ],
            ));
        }
        for entry in &self.extra {
            let (section, line) = entry.split_once('\u{0}').expect("set() joins with NUL");
            if section.is_empty() {
                top.push(line.to_owned());
                continue;
            }
            match sections.iter_mut().find(|(name, _)| name == section) {
                Some((_, lines)) => lines.push(line.to_owned()),
                None => sections.push((section.to_owned(), vec![line.to_owned()])),
            }
        }
        let mut text = top.join("\n");
        for (name, lines) in sections {
            text.push_str(&format!("\n\n[{name}]\n{}", lines.join("\n")));
        }
        text.push('\n');
        text
    }
}

/// The broker binary: [`BROKER_BIN_ENV`], else `target/<profile>/rtc-golive-broker`.
#[must_use]
pub fn broker_binary() -> PathBuf {
    if let Some(path) = std::env::var_os(BROKER_BIN_ENV) {
        return PathBuf::from(path);
    }
    let path = crate::util::profile_dir().join("rtc-golive-broker");
    assert!(
        path.is_file(),
        "{} does not exist: build it with `cargo build -p rtc-golive-broker` (add --release \
         for a release test run), or name one in {BROKER_BIN_ENV}",
        path.display()
    );
    path
}

/// A minted token and its id.
#[derive(Debug, Clone)]
pub struct Minted {
    /// The JWT, as the streamer enters it.
    pub token: String,
    /// Its `jti`, for revocation.
    pub jti: String,
}

/// One answer of the broker's HTTP API.
#[derive(Debug, Clone)]
pub struct BrokerReply {
    /// The HTTP status.
    pub status: u16,
    /// The JSON body (`Null` when it is not JSON).
    pub body: Value,
    /// The `Retry-After` header, when sent.
    pub retry_after: Option<String>,
}

impl BrokerReply {
    /// The stable error code of a refusal (`error.code`), or `""`.
    #[must_use]
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
}

/// A running broker process; stopped on drop (its logs are kept in the test's artifacts).
#[derive(Debug)]
pub struct Broker {
    binary: PathBuf,
    nofile: Option<(u64, u64)>,
    child: Option<Child>,
    port: u16,
    admin_port: Option<u16>,
    https: bool,
    dir: TempDir,
    config: PathBuf,
    http: reqwest::blocking::Client,
}

impl Broker {
    /// Writes the config, starts `serve` on a free port and waits for `/healthz`. Panics
    /// (with the broker's output) when it does not come up.
    #[must_use]
    pub fn start(options: BrokerOptions) -> Broker {
        Self::try_start(options).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`start`](Self::start), with the broker's own words when it exits at start (a refused
    /// config) instead of a panic.
    pub fn try_start(options: BrokerOptions) -> Result<Broker, String> {
        let port = free_port();
        let dir = TempDir::new("golive-broker");
        let config = dir.path().join("broker.toml");
        let admin_port = options.admin_listen.then(free_port);
        fs::write(&config, options.toml(port, admin_port))
            .expect("the broker's config can be written");
        let binary = options.binary.clone().unwrap_or_else(broker_binary);
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(60))
            .danger_accept_invalid_certs(true)
            .build()
            .expect("an HTTP client");
        let mut broker = Broker {
            binary,
            nofile: options.nofile,
            child: None,
            port,
            admin_port,
            https: options.tls.is_some(),
            dir,
            config,
            http,
        };
        broker.try_spawn()?;
        Ok(broker)
    }

    fn spawn(&mut self) {
        self.try_spawn().unwrap_or_else(|e| panic!("{e}"));
    }

    fn try_spawn(&mut self) -> Result<(), String> {
        let out = |name: &str| {
            fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(self.dir.path().join(name))
                .expect("the broker's log file can be opened")
        };
        let mut command = match self.nofile {
            Some((soft, hard)) => {
                let mut prlimit = Command::new("prlimit");
                prlimit
                    .arg(format!("--nofile={soft}:{hard}"))
                    .arg("--")
                    .arg(&self.binary);
                prlimit
            }
            None => Command::new(&self.binary),
        };
        command
            .arg("serve")
            .arg("--config")
            .arg(&self.config)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(out("stdout.log"))
            .stderr(out("stderr.log"));
        die_with_parent(&mut command);
        self.child = Some(
            command
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.binary.display())),
        );
        let mut exited = None;
        let up = wait_until(START_TIMEOUT, || {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    exited = Some(status);
                    return Some(false);
                }
            }
            self.get_operations("/healthz")
                .ok()
                .filter(|r| r.status == 200)
                .map(|_| true)
        });
        match (up, exited) {
            (Some(true), _) => Ok(()),
            (_, Some(status)) => {
                self.child = None;
                Err(format!(
                    "the broker exited at start ({status}):\n{}",
                    self.output()
                ))
            }
            _ => Err(format!(
                "the broker on port {} did not answer /healthz within {START_TIMEOUT:?}:\n{}",
                self.port,
                self.output()
            )),
        }
    }

    /// `http://127.0.0.1:<port>` (`https://` when serving TLS): the plugin's `platform_url`.
    #[must_use]
    pub fn url(&self) -> String {
        format!(
            "{}://127.0.0.1:{}",
            if self.https { "https" } else { "http" },
            self.port
        )
    }

    /// Where `/healthz`, `/metrics` and the admin API are: the `admin_listen` URL when it has
    /// one, else [`url`](Self::url).
    #[must_use]
    pub fn admin_url(&self) -> String {
        match self.admin_port {
            Some(port) => format!(
                "{}://127.0.0.1:{port}",
                if self.https { "https" } else { "http" }
            ),
            None => self.url(),
        }
    }

    /// `GET path` on the operations listener ([`admin_url`](Self::admin_url)).
    pub fn get_operations(&self, path: &str) -> Result<BrokerReply, reqwest::Error> {
        let response = self
            .http
            .get(format!("{}{path}", self.admin_url()))
            .send()?;
        Ok(reply(response))
    }

    /// The port it listens on (kept across restarts).
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The config file it runs with.
    #[must_use]
    pub fn config_path(&self) -> &Path {
        &self.config
    }

    /// The process id, while it runs.
    #[must_use]
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Runs the binary with `args` (after the subcommand's `--config`), returning its exit
    /// status success, stdout and stderr.
    pub fn cli(&self, subcommand: &str, args: &[String]) -> (bool, String, String) {
        self.cli_with_env(subcommand, args, &[])
    }

    /// [`cli`](Self::cli) with extra environment variables (e.g. `SSL_CERT_FILE`).
    pub fn cli_with_env(
        &self,
        subcommand: &str,
        args: &[String],
        env: &[(&str, &str)],
    ) -> (bool, String, String) {
        // A subcommand of a subcommand too ("token list").
        let output = Command::new(&self.binary)
            .args(subcommand.split_whitespace())
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.binary.display()));
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }

    /// Mints a token for `sub` with `pin` (and `--ttl ttl` when given). Panics when the CLI
    /// refuses.
    #[must_use]
    pub fn mint(&self, sub: &str, pin: &TokenPin, ttl: Option<&str>) -> Minted {
        let mut args = vec!["--sub".to_owned(), sub.to_owned()];
        args.extend(pin.args());
        if let Some(ttl) = ttl {
            args.push("--ttl".to_owned());
            args.push(ttl.to_owned());
        }
        let (ok, stdout, stderr) = self.cli("token", &args);
        assert!(ok, "`token` failed: {stderr}");
        let jti = stderr
            .split_whitespace()
            .find_map(|w| w.strip_prefix("jti="))
            .unwrap_or_else(|| panic!("`token` printed no jti: {stderr}"))
            .to_owned();
        Minted {
            token: stdout.trim().to_owned(),
            jti,
        }
    }

    /// A token for `sub` with `pin`, valid for the default 30 days.
    #[must_use]
    pub fn token(&self, sub: &str, pin: &TokenPin) -> String {
        self.mint(sub, pin, None).token
    }

    /// Revokes `jti` with the `revoke` command. Panics when it fails.
    pub fn revoke(&self, jti: &str) {
        let (ok, _, stderr) = self.cli("revoke", &["--jti".to_owned(), jti.to_owned()]);
        assert!(ok, "`revoke` failed: {stderr}");
    }

    /// `GET path`.
    pub fn get(&self, path: &str) -> Result<BrokerReply, reqwest::Error> {
        let response = self.http.get(format!("{}{path}", self.url())).send()?;
        Ok(reply(response))
    }

    /// `POST path` with `body` and, when given, `Authorization: Bearer token`. Panics when the
    /// broker does not answer.
    #[must_use]
    pub fn post(&self, path: &str, token: Option<&str>, body: &Value) -> BrokerReply {
        self.post_with(path, token, body, &[])
    }

    /// [`post`](Self::post) with more request headers (as a reverse proxy adds them).
    #[must_use]
    pub fn post_with(
        &self,
        path: &str,
        token: Option<&str>,
        body: &Value,
        headers: &[(&str, &str)],
    ) -> BrokerReply {
        let mut request = self
            .http
            .post(format!("{}{path}", self.url()))
            .header("content-type", "application/json")
            .body(body.to_string());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request
            .send()
            .unwrap_or_else(|e| panic!("the broker did not answer POST {path}: {e}"));
        reply(response)
    }

    /// `POST /v1/golive`.
    #[must_use]
    pub fn golive(&self, token: Option<&str>, body: &Value) -> BrokerReply {
        self.post("/v1/golive", token, body)
    }

    /// `POST /v1/play` for `stream_id`.
    #[must_use]
    pub fn play(&self, token: &str, stream_id: &str) -> BrokerReply {
        self.post(
            "/v1/play",
            Some(token),
            &serde_json::json!({ "stream_id": stream_id }),
        )
    }

    /// `POST /v1/live` for `session`.
    #[must_use]
    pub fn live(&self, token: &str, session: &str) -> BrokerReply {
        self.post(
            "/v1/live",
            Some(token),
            &serde_json::json!({ "session": session }),
        )
    }

    /// `POST /v1/stop` for `session`.
    #[must_use]
    pub fn stop(&self, token: &str, session: &str) -> BrokerReply {
        self.post(
            "/v1/stop",
            Some(token),
            &serde_json::json!({ "session": session }),
        )
    }

    /// `GET /healthz`'s JSON. Panics when it does not answer.
    #[must_use]
    pub fn health(&self) -> Value {
        self.get_operations("/healthz")
            .unwrap_or_else(|e| panic!("no /healthz: {e}"))
            .body
    }

    /// `GET /metrics`'s text. Panics when it does not answer.
    #[must_use]
    pub fn metrics(&self) -> String {
        self.http
            .get(format!("{}/metrics", self.admin_url()))
            .send()
            .and_then(reqwest::blocking::Response::text)
            .unwrap_or_else(|e| panic!("no /metrics: {e}"))
    }

    /// Everything it printed so far: stdout, then stderr (its log).
    #[must_use]
    pub fn output(&self) -> String {
        let read = |name: &str| fs::read_to_string(self.dir.path().join(name)).unwrap_or_default();
        format!("{}{}", read("stdout.log"), read("stderr.log"))
    }

    /// The last `lines` lines of its log, for failure messages.
    #[must_use]
    pub fn log_tail(&self, lines: usize) -> String {
        tail_of_file(&self.dir.path().join("stderr.log"), lines)
    }

    /// SIGKILLs it (as a crash would): nothing is cleaned up.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            send_signal(&child, libc::SIGKILL);
            let _ = child.wait();
        }
    }

    /// SIGTERM, and waits for it to exit (SIGKILL after 15 s): how it exited, `None` when it
    /// had to be killed or was not running.
    pub fn stop_process(&mut self) -> Option<ExitStatus> {
        let mut child = self.child.take()?;
        send_signal(&child, libc::SIGTERM);
        let status = wait_timeout(&mut child, Duration::from_secs(15));
        if status.is_none() {
            let _ = child.kill();
            let _ = child.wait();
        }
        status
    }

    /// Starts it again with the same config on the same port (after [`kill`](Self::kill) or
    /// [`stop_process`](Self::stop_process); a running one is stopped first).
    pub fn restart(&mut self) {
        let _ = self.stop_process();
        self.spawn();
    }
}

fn reply(response: reqwest::blocking::Response) -> BrokerReply {
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = response
        .bytes()
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(Value::Null);
    BrokerReply {
        status,
        body,
        retry_after,
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            stop_child(&mut child, libc::SIGTERM, Duration::from_secs(10));
        }
        let dir = artifacts_dir(&current_test_name());
        let _ = fs::write(dir.join(format!("broker-{}.log", self.port)), self.output());
    }
}
