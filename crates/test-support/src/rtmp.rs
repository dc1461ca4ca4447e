//! A real RTMP ingest: nginx with the RTMP module on loopback, whose `on_publish` /
//! `on_publish_done` callbacks land in an in-process HTTP server that records them.

use std::collections::HashMap;
use std::fs::{self, File};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::Value;

use super::tls::TestCa;

use super::util::{
    artifacts_dir, current_test_name, die_with_parent, free_port, stop_child, tail_of_file,
    wait_timeout, wait_until, TempDir,
};

/// The nginx RTMP module shipped by Debian's `libnginx-mod-rtmp`.
pub const RTMP_MODULE: &str = "/usr/lib/nginx/modules/ngx_rtmp_module.so";
/// nginx's stream module (Debian's `libnginx-mod-stream`): the TLS front for RTMPS.
pub const STREAM_MODULE: &str = "/usr/lib/nginx/modules/ngx_stream_module.so";
/// The RTMP application streams are published to.
pub const APP: &str = "live";

/// How long nginx may take to listen, per attempt.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// Attempts at starting nginx (another process may grab the free port in between).
const START_ATTEMPTS: usize = 3;
/// Upper bound for one nginx-rtmp control request.
const CONTROL_TIMEOUT: Duration = Duration::from_secs(5);
/// Upper bound for one ffprobe run.
const PROBE_TIMEOUT: Duration = Duration::from_secs(15);

/// Which nginx-rtmp callback an event came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// `on_publish`: a client started publishing (nginx waits for our 200 before accepting).
    Publish,
    /// `on_publish_done`: the publisher stopped or disconnected.
    PublishDone,
}

/// One callback from nginx-rtmp.
#[derive(Clone, Debug)]
pub struct PublishEvent {
    /// Which callback.
    pub kind: EventKind,
    /// The RTMP application (`live`).
    pub app: String,
    /// The stream name, i.e. the stream key without its `?query`.
    pub name: String,
    /// Every form field nginx sent (`call`, `addr`, `tcurl`, ..., and each query parameter of
    /// the publish URL as a field of its own, e.g. `auth_key`).
    pub fields: HashMap<String, String>,
    /// When the harness received the callback.
    pub time: Instant,
    /// Whether the harness answered 2xx (always, unless a hook given to
    /// [`RtmpServer::start_with_hook`] refused; nginx then drops the publisher).
    pub accepted: bool,
}

/// What ffprobe saw in a live stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamInfo {
    /// Video codec name as ffprobe reports it, e.g. `h264`.
    pub video_codec: String,
    /// Video width in pixels.
    pub width: u32,
    /// Video height in pixels.
    pub height: u32,
    /// Audio codec name (e.g. `aac`), if the stream has audio.
    pub audio_codec: Option<String>,
}

/// Decides whether nginx accepts a callback: `true` answers 200, `false` 403.
pub type PublishHook = Box<dyn Fn(&PublishEvent) -> bool + Send>;

/// What an [`RtmpServer`] listens on besides RTMP on 127.0.0.1.
#[derive(Clone, Debug, Default)]
pub struct RtmpOptions {
    /// RTMP on `[::1]` too, on the same port.
    pub ipv6: bool,
    /// An RTMPS front (nginx's stream module terminating TLS in front of nginx-rtmp) on
    /// 127.0.0.1 and `[::1]`, with this certificate chain and key (PEM files).
    pub tls: Option<(PathBuf, PathBuf)>,
}

/// Recorded callbacks plus a condvar to wake waiters.
#[derive(Default)]
struct EventLog {
    events: Mutex<Vec<PublishEvent>>,
    added: Condvar,
}

/// nginx-rtmp on `127.0.0.1:<free port>` with its own config and logs in a temp dir.
/// Stopped on drop; its error log is then copied to `target/e2e-artifacts/<test>/nginx-error.log`
/// (`<test>` being the test that started it).
pub struct RtmpServer {
    nginx: Child,
    port: u16,
    control_port: u16,
    tls_port: Option<u16>,
    log: Arc<EventLog>,
    http: Arc<tiny_http::Server>,
    http_thread: Option<JoinHandle<()>>,
    dir: TempDir,
    artifacts_name: String,
}

impl RtmpServer {
    /// Starts the callback server and nginx, and waits until nginx accepts RTMP connections.
    /// Every callback is accepted. Panics with nginx's error log if it does not come up.
    pub fn start() -> RtmpServer {
        RtmpServer::start_with_hook(|_: &PublishEvent| true)
    }

    /// Like [`RtmpServer::start`], but `hook` decides each callback (on the callback thread,
    /// while nginx waits): `false` makes nginx refuse the publish. Every event is recorded either
    /// way, with [`PublishEvent::accepted`].
    pub fn start_with_hook(hook: impl Fn(&PublishEvent) -> bool + Send + 'static) -> RtmpServer {
        RtmpServer::start_with(RtmpOptions::default(), hook)
    }

    /// Like [`RtmpServer::start`], with an RTMPS front serving `ca`'s server certificate
    /// ([`TestCa::server_chain_file`], [`TestCa::server_key_file`]).
    pub fn start_rtmps(ca: &TestCa) -> RtmpServer {
        let options = RtmpOptions {
            tls: Some((ca.server_chain_file(), ca.server_key_file())),
            ..RtmpOptions::default()
        };
        RtmpServer::start_with(options, |_: &PublishEvent| true)
    }

    /// Like [`RtmpServer::start_with_hook`], also listening as `options` say.
    pub fn start_with(
        options: RtmpOptions,
        hook: impl Fn(&PublishEvent) -> bool + Send + 'static,
    ) -> RtmpServer {
        assert!(
            fs::metadata(RTMP_MODULE).is_ok(),
            "{RTMP_MODULE} is missing (Debian packages `nginx libnginx-mod-rtmp`)"
        );
        let dir = TempDir::new("e2e-nginx");
        let http = Arc::new(
            tiny_http::Server::http("127.0.0.1:0").expect("cannot bind the callback server"),
        );
        let callback_port = http
            .server_addr()
            .to_ip()
            .expect("callback server is not on IP")
            .port();
        let log = Arc::new(EventLog::default());
        let http_thread = {
            let (http, log) = (Arc::clone(&http), Arc::clone(&log));
            let hook: PublishHook = Box::new(hook);
            thread::spawn(move || serve_callbacks(&http, &log, &hook))
        };

        let mut last_error = String::new();
        for _ in 0..START_ATTEMPTS {
            let (port, control_port) = (free_port(), free_port());
            let tls_port = options.tls.as_ref().map(|_| free_port());
            let ports = Ports {
                rtmp: port,
                control: control_port,
                callback: callback_port,
                tls: tls_port,
            };
            match spawn_nginx(&dir, &ports, &options) {
                Ok(nginx) => {
                    return RtmpServer {
                        nginx,
                        port,
                        control_port,
                        tls_port,
                        log,
                        http,
                        http_thread: Some(http_thread),
                        dir,
                        artifacts_name: current_test_name(),
                    }
                }
                Err(error) => last_error = error,
            }
        }
        http.unblock();
        panic!("nginx-rtmp did not start after {START_ATTEMPTS} attempts: {last_error}");
    }

    /// The RTMP port nginx listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `rtmp://127.0.0.1:<port>/live`: the server URL to give OBS.
    pub fn rtmp_url(&self) -> String {
        format!("rtmp://127.0.0.1:{}/{APP}", self.port)
    }

    /// `rtmp://[::1]:<port>/live` (started with [`RtmpOptions::ipv6`]).
    pub fn rtmp_url_ipv6(&self) -> String {
        format!("rtmp://[::1]:{}/{APP}", self.port)
    }

    /// `rtmps://localhost:<tls port>/live` (started with [`RtmpOptions::tls`]). A host name,
    /// not an IP: OBS's TLS library (mbedtls) matches the certificate by name.
    pub fn rtmps_url(&self) -> String {
        let port = self.tls_port.expect("started without an RTMPS front");
        format!("rtmps://localhost:{port}/{APP}")
    }

    /// Every callback received so far, oldest first.
    pub fn events(&self) -> Vec<PublishEvent> {
        self.log.events.lock().expect("event log poisoned").clone()
    }

    /// The first `Publish` event (for stream `name`, or any stream if `None`) received so far or
    /// within `timeout`.
    pub fn wait_for_publish(&self, name: Option<&str>, timeout: Duration) -> Option<PublishEvent> {
        self.wait_for_event(EventKind::Publish, name, timeout)
    }

    /// The first `PublishDone` event (for stream `name`, or any stream if `None`) received so far
    /// or within `timeout`.
    pub fn wait_for_publish_done(
        &self,
        name: Option<&str>,
        timeout: Duration,
    ) -> Option<PublishEvent> {
        self.wait_for_event(EventKind::PublishDone, name, timeout)
    }

    /// The first event of `kind` (for stream `name`, or any stream if `None`) received so far or
    /// within `timeout`.
    pub fn wait_for_event(
        &self,
        kind: EventKind,
        name: Option<&str>,
        timeout: Duration,
    ) -> Option<PublishEvent> {
        let matches = |event: &&PublishEvent| {
            event.kind == kind && name.is_none_or(|name| event.name == name)
        };
        let events = self.log.events.lock().expect("event log poisoned");
        let (events, _) = self
            .log
            .added
            .wait_timeout_while(events, timeout, |events| {
                !events.iter().any(|e| matches(&e))
            })
            .expect("event log poisoned");
        events.iter().find(matches).cloned()
    }

    /// Plays `rtmp://127.0.0.1:<port>/live/<name>` with ffprobe (bounded to 15 s) and reports the
    /// first video stream's codec and size and the audio codec; `None` if nothing was playable.
    pub fn probe_stream(&self, name: &str) -> Option<StreamInfo> {
        let url = format!("{}/{name}", self.rtmp_url());
        let stdout = run_bounded(
            Command::new("ffprobe").args([
                "-v",
                "error",
                "-rw_timeout",
                "10000000",
                "-show_entries",
                "stream=codec_type,codec_name,width,height",
                "-of",
                "json",
                &url,
            ]),
            PROBE_TIMEOUT,
        )?;
        let json: Value = serde_json::from_slice(&stdout).ok()?;
        let streams = json["streams"].as_array()?;
        let of_type = |kind: &str| streams.iter().find(|s| s["codec_type"] == kind);
        let video = of_type("video")?;
        Some(StreamInfo {
            video_codec: video["codec_name"].as_str()?.to_owned(),
            width: u32::try_from(video["width"].as_u64()?).ok()?,
            height: u32::try_from(video["height"].as_u64()?).ok()?,
            audio_codec: of_type("audio")
                .and_then(|a| a["codec_name"].as_str())
                .map(str::to_owned),
        })
    }

    /// Disconnects whoever publishes stream `name` (nginx-rtmp's control module, as if the
    /// network dropped them), and returns how many publishers nginx dropped.
    pub fn drop_publisher(&self, name: &str) -> usize {
        // nginx-rtmp compares the raw argument: leave the characters stream names use as is.
        const ARG: &AsciiSet = &NON_ALPHANUMERIC
            .remove(b'-')
            .remove(b'_')
            .remove(b'.')
            .remove(b'~');
        let name = utf8_percent_encode(name, ARG);
        let url = format!(
            "http://127.0.0.1:{}/control/drop/publisher?app={APP}&name={name}",
            self.control_port
        );
        let body = reqwest::blocking::Client::builder()
            .timeout(CONTROL_TIMEOUT)
            .build()
            .and_then(|client| client.get(&url).send())
            .and_then(reqwest::blocking::Response::error_for_status)
            .and_then(reqwest::blocking::Response::text)
            .unwrap_or_else(|e| panic!("nginx-rtmp control request {url} failed: {e}"));
        body.trim().parse().unwrap_or(0)
    }

    /// SIGKILLs nginx at once (a dead ingest for failover tests). The port stays closed.
    pub fn kill(&mut self) {
        stop_child(&mut self.nginx, libc::SIGKILL, Duration::ZERO);
    }

    /// nginx's error log so far.
    pub fn error_log(&self) -> String {
        fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }
}

impl Drop for RtmpServer {
    fn drop(&mut self) {
        stop_child(&mut self.nginx, libc::SIGTERM, Duration::from_secs(3));
        self.http.unblock();
        if let Some(thread) = self.http_thread.take() {
            let _ = thread.join();
        }
        let _ = fs::copy(
            self.dir.path().join("error.log"),
            artifacts_dir(&self.artifacts_name).join("nginx-error.log"),
        );
    }
}

/// The ports of one nginx.
struct Ports {
    rtmp: u16,
    control: u16,
    callback: u16,
    tls: Option<u16>,
}

/// Writes `nginx.conf` into `dir`, starts nginx with RTMP on `ports.rtmp`, its control module on
/// `ports.control` (and an RTMPS front on `ports.tls`), and waits until it listens.
fn spawn_nginx(dir: &TempDir, ports: &Ports, options: &RtmpOptions) -> Result<Child, String> {
    let dir = dir.path();
    let (port, control_port) = (ports.rtmp, ports.control);
    let callback = format!("http://127.0.0.1:{}", ports.callback);
    let ipv6_listen = if options.ipv6 {
        format!("listen [::1]:{port};")
    } else {
        String::new()
    };
    let (stream_module, stream) = match (&options.tls, ports.tls) {
        (Some((chain, key)), Some(tls_port)) => (
            format!("load_module {STREAM_MODULE};"),
            format!(
                "stream {{
    server {{
        listen 127.0.0.1:{tls_port} ssl;
        listen [::1]:{tls_port} ssl;
        ssl_certificate {};
        ssl_certificate_key {};
        proxy_pass 127.0.0.1:{port};
    }}
}}",
                chain.display(),
                key.display()
            ),
        ),
        _ => (String::new(), String::new()),
    };
    let conf = format!(
        r"load_module {RTMP_MODULE};
{stream_module}
daemon off;
master_process off;
worker_processes 1;
error_log {dir}/error.log info;
pid {dir}/nginx.pid;
events {{ worker_connections 128; }}
rtmp {{
    server {{
        listen 127.0.0.1:{port};
        {ipv6_listen}
        chunk_size 4096;
        notify_method post;
        application {APP} {{
            live on;
            record off;
            on_publish {callback}/on_publish;
            on_publish_done {callback}/on_publish_done;
        }}
    }}
}}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    server {{
        listen 127.0.0.1:{control_port};
        location /control {{ rtmp_control all; }}
    }}
}}
{stream}
",
        dir = dir.display()
    );
    let conf_path = dir.join("nginx.conf");
    fs::write(&conf_path, conf).map_err(|e| format!("cannot write nginx.conf: {e}"))?;
    let mut command = Command::new("nginx");
    command
        .arg("-p")
        .arg(dir)
        .arg("-e")
        .arg(dir.join("error.log"))
        .arg("-c")
        .arg(&conf_path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(File::create(dir.join("stderr.log")).map_err(|e| e.to_string())?);
    let mut nginx = die_with_parent(&mut command)
        .spawn()
        .map_err(|e| format!("cannot run nginx (Debian package `nginx`): {e}"))?;
    let listening = wait_until(START_TIMEOUT, || {
        if matches!(nginx.try_wait(), Ok(Some(_))) {
            return Some(false);
        }
        let listens = |port| TcpStream::connect(("127.0.0.1", port)).is_ok();
        (listens(port) && ports.tls.is_none_or(listens)).then_some(true)
    });
    if listening == Some(true) {
        return Ok(nginx);
    }
    let (status, _) = stop_child(&mut nginx, libc::SIGKILL, Duration::ZERO);
    Err(format!(
        "nginx on port {port} did not listen ({status}); error.log:\n{}\nstderr:\n{}",
        tail_of_file(&dir.join("error.log"), 20),
        tail_of_file(&dir.join("stderr.log"), 20)
    ))
}

/// Records every nginx-rtmp callback and answers it as `hook` decides (200 or 403), until the
/// server is unblocked.
fn serve_callbacks(http: &tiny_http::Server, log: &EventLog, hook: &PublishHook) {
    for mut request in http.incoming_requests() {
        let mut body = String::new();
        let _ = request.as_reader().read_to_string(&mut body);
        let kind = match request.url() {
            "/on_publish" => EventKind::Publish,
            "/on_publish_done" => EventKind::PublishDone,
            _ => {
                let _ = request.respond(tiny_http::Response::empty(404));
                continue;
            }
        };
        let fields = parse_form(&body);
        let field = |key: &str| fields.get(key).cloned().unwrap_or_default();
        let mut event = PublishEvent {
            kind,
            app: field("app"),
            name: field("name"),
            time: Instant::now(),
            fields,
            accepted: true,
        };
        event.accepted = hook(&event);
        let status = if event.accepted { 200 } else { 403 };
        log.events.lock().expect("event log poisoned").push(event);
        log.added.notify_all();
        let _ = request.respond(tiny_http::Response::empty(status));
    }
}

/// Decodes an `application/x-www-form-urlencoded` body (later duplicates win).
fn parse_form(body: &str) -> HashMap<String, String> {
    let decode = |s: &str| {
        percent_decode_str(&s.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned()
    };
    body.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(key), decode(value))
        })
        .collect()
}

/// Runs `command`, killing it after `timeout`, and returns its stdout; `None` (with its stderr
/// printed) if it could not run, timed out or failed.
fn run_bounded(command: &mut Command, timeout: Duration) -> Option<Vec<u8>> {
    let dir = TempDir::new("e2e-run");
    let (stdout_path, stderr_path) = (dir.path().join("stdout"), dir.path().join("stderr"));
    let mut child = command
        .stdin(Stdio::null())
        .stdout(File::create(&stdout_path).ok()?)
        .stderr(File::create(&stderr_path).ok()?)
        .spawn()
        .map_err(|e| eprintln!("cannot run {command:?}: {e}"))
        .ok()?;
    let (status, in_time) = match wait_timeout(&mut child, timeout) {
        Some(status) => (status, true),
        None => stop_child(&mut child, libc::SIGKILL, Duration::ZERO),
    };
    if in_time && status.success() {
        return fs::read(&stdout_path).ok();
    }
    eprintln!(
        "{command:?} failed ({status}, timed out: {}):\n{}",
        !in_time,
        tail_of_file(&stderr_path, 20)
    );
    None
}
