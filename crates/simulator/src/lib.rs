//! A local simulator of the vendors' server APIs, faithful to their documentation.
//!
//! The vendors' clouds cannot be reached from the test machines, so the end-to-end tests start a
//! [`Simulator`] in process and point the plugin's `endpoint` setting at [`Simulator::base_url`];
//! the `rtc-golive-sim` binary serves the same thing for the demo script.
//!
//! Plain HTTP on 127.0.0.1 by default; HTTPS with the certificate given in [`SimConfig::tls`]
//! (the real APIs are HTTPS, and the plugin's certificate checks need a server to check).
//! Routes: `GET /?...` is Alibaba Cloud ApsaraVideo Live ([`aliyun`]) when the request carries the
//! V3 `x-acs-action` header or the V2 parameter `SignatureMethod` or `AccessKeyId`, and the
//! ZEGOCLOUD server API ([`zego`]) otherwise; any other path answers 404, any other method on `/`
//! answers 405.
//!
//! Every answer carries a `Date` header on the simulator's clock (the real clock plus
//! [`SimConfig::clock_offset_secs`]), as a server with that clock would send, so a client that
//! corrects its clock from `Date` can be tested against a skewed simulator. Every connection is
//! closed after its answer (`Connection: close`), so a crowd of clients is never stalled behind
//! kept-alive connections.

// The simulator needs no `unsafe`.
#![forbid(unsafe_code)]

pub mod aliyun;
pub mod rtmp_node;
mod tls_front;
pub mod verify;
pub mod zego;

mod rate_limit;
#[cfg(test)]
mod test_util;

use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, ToSocketAddrs};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, SystemTime};

use socket2::{Domain, Protocol, Socket, Type};
use tiny_http::{Method, Request, Server, StatusCode};

pub use aliyun::{AliyunControl, AliyunRecordedRequest};
pub use rtmp_node::HandshakeNode;
pub use tls_front::TlsIdentity;
pub use zego::{RecordedRequest, ZegoControl};

/// The largest request body read; the APIs are called with GET, so any body is a stray one.
const MAX_BODY_BYTES: u64 = 64 * 1024;
/// Connections the kernel queues before the simulator accepts them. std's listeners take 128,
/// and a crowd of clients connecting at once (the rate-limit storm test) would overflow that:
/// dropped handshakes then stall for seconds, which no real API host does.
const LISTEN_BACKLOG: i32 = 1024;

/// A ZEGOCLOUD app the simulator knows.
#[derive(Clone)]
pub struct ZegoApp {
    /// The AppId (uint32).
    pub app_id: u32,
    /// The ServerSecret the requests must be signed with.
    pub server_secret: String,
    /// A test-environment app: calls must carry `IsTest=true` and stream ids must start with
    /// `zegotest-<AppId>-`.
    pub test_env: bool,
}

impl fmt::Debug for ZegoApp {
    /// Never prints the ServerSecret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ZegoApp")
            .field("app_id", &self.app_id)
            .field("server_secret", &"<redacted>")
            .field("test_env", &self.test_env)
            .finish()
    }
}

/// An Alibaba Cloud AccessKey the simulator knows.
#[derive(Clone)]
pub struct AliyunKey {
    /// The AccessKey ID, e.g. `LTAI5t...`.
    pub access_key_id: String,
    /// The AccessKey secret the requests must be signed with.
    pub access_key_secret: String,
}

impl fmt::Debug for AliyunKey {
    /// Never prints the AccessKey secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AliyunKey")
            .field("access_key_id", &self.access_key_id)
            .field("access_key_secret", &"<redacted>")
            .finish()
    }
}

/// How to start a [`Simulator`].
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// The address to bind; the default `127.0.0.1:0` picks a free port.
    pub listen: String,
    /// The ZEGOCLOUD apps that may call; any other AppId gets 100000005.
    pub zego_apps: Vec<ZegoApp>,
    /// The initial RTMP URL prefixes of `RTMPDispatchV2` (see [`ZegoControl::set_nodes`]).
    pub zego_nodes: Vec<String>,
    /// The initial delay before every API answer (see [`ZegoControl::set_latency`] and
    /// [`AliyunControl::set_latency`]).
    pub latency: Duration,
    /// Added to the real clock to get the simulator's clock, to test the timestamp windows
    /// (ZEGOCLOUD ±10 minutes, Alibaba Cloud 15 minutes) and the ingest addresses' expiry.
    pub clock_offset_secs: i64,
    /// The `RTMPDispatchV2` limit per AppId per second (documented: 40), answered with 1010.
    pub zego_dispatch_qps: u32,
    /// The Alibaba Cloud AccessKeys that may call; any other gets `InvalidAccessKeyId.NotFound`.
    pub aliyun_keys: Vec<AliyunKey>,
    /// Where `CreateRoomRealTimeStreamAddress` addresses point: `<base>/<stream name>?auth_key=...`.
    pub aliyun_rtmp_base: String,
    /// The Alibaba Cloud limit per account per second, all actions together (documented: 100),
    /// answered with `Throttling.User`.
    pub aliyun_qps: u32,
    /// Serve HTTPS with this certificate instead of plain HTTP.
    pub tls: Option<TlsIdentity>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            listen: "127.0.0.1:0".to_owned(),
            zego_apps: Vec::new(),
            zego_nodes: Vec::new(),
            latency: Duration::ZERO,
            clock_offset_secs: 0,
            zego_dispatch_qps: 40,
            aliyun_keys: Vec::new(),
            aliyun_rtmp_base: "rtmp://127.0.0.1:1935/live".to_owned(),
            aliyun_qps: 100,
            tls: None,
        }
    }
}

/// A running simulator: an HTTP server with one thread per request, so a delayed answer never
/// holds up another. Stopped by [`Simulator::stop`] or when dropped.
pub struct Simulator {
    addr: SocketAddr,
    /// The HTTPS front, when serving HTTPS; `addr` is then its address.
    tls_front: Option<tls_front::TlsFront>,
    server: Arc<Server>,
    shutdown: Arc<Shutdown>,
    acceptor: Option<JoinHandle<()>>,
    services: Services,
}

/// The simulated vendors, one handle each, shared by every request thread.
#[derive(Clone)]
struct Services {
    zego: ZegoControl,
    aliyun: AliyunControl,
    /// [`SimConfig::clock_offset_secs`], for the `Date` header.
    clock_offset_secs: i64,
}

impl Simulator {
    /// Binds `config.listen` and starts serving.
    ///
    /// # Errors
    ///
    /// When the address cannot be bound (in use, malformed) or the server thread cannot start.
    pub fn start(config: SimConfig) -> io::Result<Simulator> {
        let public = listen(&config.listen)?;
        let public_addr = public.local_addr()?;
        let (http_listener, tls_front) = match &config.tls {
            None => (public, None),
            Some(identity) => {
                // The plain server moves behind the front, on the loopback of the same family.
                let loopback = match public_addr {
                    SocketAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
                    SocketAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
                };
                let behind = listen(&SocketAddr::new(loopback, 0).to_string())?;
                let front = tls_front::TlsFront::start(public, behind.local_addr()?, identity)?;
                (behind, Some(front))
            }
        };
        let server =
            Arc::new(Server::from_listener(http_listener, None).map_err(io::Error::other)?);
        let addr = public_addr;
        let services = Services {
            zego: ZegoControl::new(&config),
            aliyun: AliyunControl::new(&config),
            clock_offset_secs: config.clock_offset_secs,
        };
        let shutdown = Arc::new(Shutdown::default());
        let acceptor = {
            let (server, services, shutdown) = (server.clone(), services.clone(), shutdown.clone());
            thread::Builder::new()
                .name("sim-accept".to_owned())
                .spawn(move || accept_loop(&server, &services, &shutdown))?
        };
        let simulator = Simulator {
            addr,
            tls_front,
            server,
            shutdown,
            acceptor: Some(acceptor),
            services,
        };
        log::info!("simulator: listening on {}", simulator.base_url());
        Ok(simulator)
    }

    /// The URL to use as the plugin's `endpoint`, e.g. `http://127.0.0.1:40123`
    /// (`https://` when serving HTTPS).
    #[must_use]
    pub fn base_url(&self) -> String {
        // A wildcard bind address is not something a client can connect to.
        let ip = match self.addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        let scheme = if self.tls_front.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}", SocketAddr::new(ip, self.addr.port()))
    }

    /// The handle on the simulated ZEGOCLOUD service.
    #[must_use]
    pub fn zego(&self) -> ZegoControl {
        self.services.zego.clone()
    }

    /// The handle on the simulated Alibaba Cloud ApsaraVideo Live service.
    #[must_use]
    pub fn aliyun(&self) -> AliyunControl {
        self.services.aliyun.clone()
    }

    /// Stops serving and joins the server's threads. Answers still being delayed by the latency
    /// are replaced by HTTP 503 at once, so stopping never waits for them.
    pub fn stop(mut self) {
        self.shut_down();
    }

    fn shut_down(&mut self) {
        // The front first: no new connection reaches a server that is stopping.
        self.tls_front = None;
        if let Some(acceptor) = self.acceptor.take() {
            self.shutdown.request();
            self.server.unblock();
            // A panicked request thread has already been reported by the panic hook.
            let _ = acceptor.join();
        }
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.shut_down();
    }
}

/// Binds the first address `listen` resolves to that can be bound, with [`LISTEN_BACKLOG`].
fn listen(listen: &str) -> io::Result<TcpListener> {
    let mut last_error = io::Error::new(io::ErrorKind::InvalidInput, "no address to listen on");
    for addr in listen.to_socket_addrs()? {
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
        // As std's TcpListener::bind: a restarted simulator can take its port back at once.
        socket.set_reuse_address(true)?;
        match socket
            .bind(&addr.into())
            .and_then(|()| socket.listen(LISTEN_BACKLOG))
        {
            Ok(()) => return Ok(socket.into()),
            Err(err) => last_error = err,
        }
    }
    Err(last_error)
}

/// The stop signal, which also cuts short the latency sleeps so stopping never waits for them.
#[derive(Default)]
struct Shutdown {
    requested: Mutex<bool>,
    wake: Condvar,
}

impl Shutdown {
    fn request(&self) {
        *self
            .requested
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = true;
        self.wake.notify_all();
    }

    fn is_requested(&self) -> bool {
        *self
            .requested
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Sleeps for `duration`; false when woken early by a stop.
    fn sleep(&self, duration: Duration) -> bool {
        let requested = self
            .requested
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let (requested, _) = self
            .wake
            .wait_timeout_while(requested, duration, |requested| !*requested)
            .unwrap_or_else(PoisonError::into_inner);
        !*requested
    }
}

fn accept_loop(server: &Server, services: &Services, shutdown: &Arc<Shutdown>) {
    let mut workers: Vec<JoinHandle<()>> = Vec::new();
    loop {
        match server.recv() {
            Ok(request) => {
                workers.retain(|worker| !worker.is_finished());
                let (services, shutdown) = (services.clone(), shutdown.clone());
                match thread::Builder::new()
                    .name("sim-request".to_owned())
                    .spawn(move || serve(request, &services, &shutdown))
                {
                    Ok(worker) => workers.push(worker),
                    // The request went down with the closure: its client sees the connection close.
                    Err(err) => log::warn!("simulator: no thread for a request: {err}"),
                }
            }
            // `unblock` is only called on stop; any other error is a failed accept.
            Err(_) if shutdown.is_requested() => break,
            Err(err) => log::warn!("simulator: accept failed: {err}"),
        }
    }
    for worker in workers {
        let _ = worker.join();
    }
}

fn serve(mut request: Request, services: &Services, shutdown: &Shutdown) {
    let url = request.url().to_owned();
    let (path, query) = url.split_once('?').unwrap_or((&url, ""));
    let answer = if path != "/" {
        Answer::text(404, "not found\n")
    } else if *request.method() != Method::Get {
        Answer {
            extra: vec![("Allow", "GET")],
            ..Answer::text(405, "only GET is supported\n")
        }
    } else {
        let headers = lower_case_headers(&request);
        let (status, body, latency) = if aliyun::is_aliyun_request(query, &headers) {
            // The V3 signature covers the body's hash, so the verifier needs the body as sent.
            let mut body = Vec::new();
            if let Err(err) = request
                .as_reader()
                .take(MAX_BODY_BYTES)
                .read_to_end(&mut body)
            {
                log::debug!("simulator: request body unreadable: {err}");
            }
            let reply = services.aliyun.handle(&aliyun::AliyunRequest {
                method: "GET",
                path,
                query,
                headers: &headers,
                body: &body,
            });
            (reply.status, reply.body, reply.latency)
        } else {
            let reply = services.zego.handle(query);
            (200, reply.body, reply.latency)
        };
        if shutdown.sleep(latency) {
            Answer {
                status,
                content_type: "application/json; charset=utf-8",
                extra: Vec::new(),
                body: body.into_bytes(),
            }
        } else {
            // Stopped during the delay: a transport-level failure, never a vendor answer.
            Answer::text(503, "simulator stopping\n")
        }
    };
    // The client may have given up (e.g. timed out during the latency): nothing left to do.
    if let Err(err) = answer.send_and_close(request, services.clock_offset_secs) {
        log::debug!("simulator: answer not delivered: {err}");
    }
}

/// An HTTP answer, before it is written.
struct Answer {
    status: u16,
    content_type: &'static str,
    /// Headers besides `Date`, `Content-Type`, `Content-Length` and `Connection`.
    extra: Vec<(&'static str, &'static str)>,
    body: Vec<u8>,
}

impl Answer {
    fn text(status: u16, body: &str) -> Answer {
        Answer {
            status,
            content_type: "text/plain; charset=utf-8",
            extra: Vec::new(),
            body: body.as_bytes().to_vec(),
        }
    }

    /// Writes the answer, dated on the simulator's clock when sent (after the latency, like a
    /// real server), with `Connection: close`.
    ///
    /// One request per connection: tiny_http serves each connection on a thread of its pool
    /// for as long as the client keeps it alive, and when many connections arrive at once its
    /// pool can leave one queued behind kept-alive ones (two wake-ups for one waiting thread),
    /// stalling that client until some connection closes. Closing after every answer keeps the
    /// threads turning over. tiny_http writes `Connection: close` only when the client asks,
    /// so the answer is written here.
    fn send_and_close(self, request: Request, clock_offset_secs: i64) -> io::Result<()> {
        let head_only = *request.method() == Method::Head;
        let mut head = format!(
            "HTTP/1.1 {} {}\r\nDate: {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n\
             Connection: close\r\n",
            self.status,
            StatusCode(self.status).default_reason_phrase(),
            http_date(clock_offset_secs),
            self.content_type,
            self.body.len()
        );
        for (name, value) in &self.extra {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        let mut writer = request.into_writer();
        writer.write_all(head.as_bytes())?;
        if !head_only {
            writer.write_all(&self.body)?;
        }
        writer.flush()
    }
}

/// The request's headers by lower-case name; the first of repeated ones wins.
fn lower_case_headers(request: &Request) -> BTreeMap<String, String> {
    let mut headers = BTreeMap::new();
    for header in request.headers() {
        headers
            .entry(header.field.as_str().as_str().to_ascii_lowercase())
            .or_insert_with(|| header.value.as_str().to_owned());
    }
    headers
}

/// Now plus `offset_secs`, in the HTTP date format.
fn http_date(offset_secs: i64) -> String {
    let now = SystemTime::now();
    let offset = Duration::from_secs(offset_secs.unsigned_abs());
    let clock = if offset_secs >= 0 {
        now.checked_add(offset)
    } else {
        now.checked_sub(offset)
    };
    httpdate::fmt_http_date(clock.unwrap_or(now))
}

#[cfg(test)]
mod tests {
    use std::net::TcpStream;
    use std::time::Instant;

    use serde_json::Value;

    use super::test_util::{apps, query, signed_with, unix_now, APP_ID, SECRET};
    use super::*;

    const NODE: &str = "rtmp://127.0.0.1:1935/live";

    fn start(config: SimConfig) -> Simulator {
        Simulator::start(SimConfig {
            zego_apps: apps(),
            zego_nodes: vec![NODE.to_owned()],
            ..config
        })
        .expect("the simulator starts")
    }

    fn client() -> reqwest::blocking::Client {
        reqwest::blocking::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("a client")
    }

    fn dispatch_url(sim: &Simulator, stream_id: &str) -> String {
        let params = signed_with(
            APP_ID,
            SECRET,
            "RTMPDispatchV2",
            unix_now(),
            &[("StreamId", stream_id), ("Sequence", "1"), ("Type", "push")],
        );
        format!("{}/?{}", sim.base_url(), query(&params))
    }

    fn get_json(client: &reqwest::blocking::Client, url: &str) -> Value {
        let response = client.get(url).send().expect("an answer");
        assert_eq!(response.status(), 200);
        serde_json::from_str(&response.text().expect("a body")).expect("a JSON answer")
    }

    #[test]
    fn signed_dispatch_over_http() {
        let sim = start(SimConfig::default());
        let base = sim.base_url();
        let port: u16 = base
            .strip_prefix("http://127.0.0.1:")
            .and_then(|port| port.parse().ok())
            .expect("http://127.0.0.1:PORT");
        assert_ne!(port, 0);

        let response = client().get(dispatch_url(&sim, "stream-1")).send().unwrap();
        assert_eq!(response.status(), 200);
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            content_type.starts_with("application/json"),
            "{content_type}"
        );
        let answer: Value = serde_json::from_str(&response.text().unwrap()).unwrap();
        assert_eq!(answer["Code"], 0);
        assert_eq!(
            answer["Data"],
            serde_json::json!([format!("{NODE}/stream-1")])
        );

        let requests = sim.zego().requests();
        assert_eq!(requests.len(), 1);
        assert_eq!(requests[0].params["StreamId"], "stream-1");
        sim.stop();
    }

    #[test]
    fn failures_are_http_200_with_a_code() {
        let sim = start(SimConfig::default());
        let answer = get_json(
            &client(),
            &format!("{}/?Action=RTMPDispatchV2", sim.base_url()),
        );
        assert_eq!(answer["Code"], 100000001);
    }

    #[test]
    fn unknown_path_is_404_and_other_methods_405() {
        let sim = start(SimConfig::default());
        let client = client();
        let missing = client
            .get(format!("{}/v1/?Action=RTMPDispatchV2", sim.base_url()))
            .send()
            .unwrap();
        assert_eq!(missing.status(), 404);
        let post = client.post(dispatch_url(&sim, "s1")).send().unwrap();
        assert_eq!(post.status(), 405);
        assert_eq!(post.headers()["allow"], "GET");
        // Neither reached the API.
        assert!(sim.zego().requests().is_empty());
    }

    #[test]
    fn clock_offset_window_edges_over_http() {
        // The client reads the clock before the simulator does, so the simulator may be up to one
        // second later: +599 and +601 stay on their side of the 600 s edge, and so do -599 and
        // -602 (-601 could be read as -600).
        for (offset, expected) in [(599, 0), (601, 100000004), (-599, 0), (-602, 100000004)] {
            let sim = start(SimConfig {
                clock_offset_secs: offset,
                ..SimConfig::default()
            });
            let answer = get_json(&client(), &dispatch_url(&sim, "s1"));
            assert_eq!(answer["Code"], expected, "offset {offset}");
        }
    }

    #[test]
    fn date_header_is_on_the_simulator_clock() {
        for offset in [0, 20 * 60, -20 * 60] {
            let sim = start(SimConfig {
                clock_offset_secs: offset,
                ..SimConfig::default()
            });
            let client = client();
            // An API answer, an Alibaba error and a 404 all carry it.
            for url in [
                dispatch_url(&sim, "s1"),
                format!("{}/?AccessKeyId=LTAI5tX", sim.base_url()),
                format!("{}/nowhere", sim.base_url()),
            ] {
                let response = client.get(&url).send().unwrap();
                // One request per connection (see `Answer::send_and_close`).
                assert_eq!(response.headers()["connection"], "close", "{url}");
                let dates: Vec<_> = response.headers().get_all("date").iter().collect();
                assert_eq!(dates.len(), 1, "{url}: {dates:?}");
                let date = httpdate::parse_http_date(dates[0].to_str().unwrap()).unwrap();
                let expected = unix_now() + offset;
                let sent = date
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_secs() as i64;
                assert!(
                    (expected - 2..=expected).contains(&sent),
                    "offset {offset}: Date {sent}, simulator clock {expected}"
                );
            }
        }
    }

    #[test]
    fn forty_first_dispatch_within_a_second_is_refused_over_http() {
        let sim = start(SimConfig::default());
        let client = client();
        // Signed ahead of time so the 41 calls are as close together as the loopback allows.
        let urls: Vec<String> = (0..41).map(|_| dispatch_url(&sim, "s1")).collect();
        let started = Instant::now();
        let codes: Vec<Value> = urls
            .iter()
            .map(|url| get_json(&client, url)["Code"].clone())
            .collect();
        assert!(
            started.elapsed() < Duration::from_millis(900),
            "41 loopback calls took {:?}: too slow to test a one-second window",
            started.elapsed()
        );
        assert!(codes[..40].iter().all(|code| *code == 0), "{codes:?}");
        assert_eq!(codes[40], 1010);
    }

    #[test]
    fn latency_delays_answers_without_serialising_them() {
        let sim = start(SimConfig {
            latency: Duration::from_millis(400),
            ..SimConfig::default()
        });
        let urls = [
            dispatch_url(&sim, "a"),
            dispatch_url(&sim, "b"),
            dispatch_url(&sim, "c"),
        ];
        let started = Instant::now();
        let calls: Vec<_> = urls
            .into_iter()
            .map(|url| thread::spawn(move || get_json(&client(), &url)["Code"].clone()))
            .collect();
        for call in calls {
            assert_eq!(call.join().unwrap(), 0);
        }
        let elapsed = started.elapsed();
        assert!(elapsed >= Duration::from_millis(400), "{elapsed:?}");
        assert!(
            elapsed < Duration::from_millis(1_100),
            "answers were serialised: {elapsed:?}"
        );

        // Changed at run time.
        sim.zego().set_latency(Duration::ZERO);
        let started = Instant::now();
        get_json(&client(), &dispatch_url(&sim, "d"));
        assert!(started.elapsed() < Duration::from_millis(300));
    }

    #[test]
    fn stop_cuts_short_a_delayed_answer() {
        let sim = start(SimConfig {
            latency: Duration::from_secs(30),
            ..SimConfig::default()
        });
        let url = dispatch_url(&sim, "s1");
        let call = thread::spawn(move || client().get(url).send().map(|r| r.status().as_u16()));
        // Wait until the request has arrived (it is recorded before the delay).
        let deadline = Instant::now() + Duration::from_secs(5);
        while sim.zego().requests().is_empty() {
            assert!(Instant::now() < deadline, "the request never arrived");
            thread::sleep(Duration::from_millis(10));
        }
        let addr = sim.addr;
        let stopping = Instant::now();
        sim.stop();
        assert!(
            stopping.elapsed() < Duration::from_secs(2),
            "{:?}",
            stopping.elapsed()
        );
        assert_eq!(
            call.join().unwrap().ok(),
            Some(503),
            "the delayed answer was cut short"
        );

        // The port is released once the server has wound down.
        let deadline = Instant::now() + Duration::from_secs(2);
        while TcpStream::connect(addr).is_ok() {
            assert!(Instant::now() < deadline, "still accepting after stop");
            thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn bind_failure_is_an_io_error() {
        let sim = start(SimConfig::default());
        let taken = sim.base_url().trim_start_matches("http://").to_owned();
        let second = Simulator::start(SimConfig {
            listen: taken,
            ..SimConfig::default()
        });
        assert!(second.is_err());
    }

    #[test]
    fn alibaba_requests_are_routed_apart_from_zego_ones() {
        let sim = start(SimConfig::default());
        let client = client();
        // A signed ZEGO call still reaches ZEGO, with its HTTP 200 envelope.
        assert_eq!(get_json(&client, &dispatch_url(&sim, "s1"))["Code"], 0);

        // The V2 parameters or the V3 header make a request Alibaba's, answered with its errors.
        for (url, header) in [
            (format!("{}/?AccessKeyId=LTAI5tX", sim.base_url()), None),
            (
                format!("{}/?SignatureMethod=HMAC-SHA1", sim.base_url()),
                None,
            ),
            (
                format!("{}/?Action=RTMPDispatchV2", sim.base_url()),
                Some("CreateRoomRealTimeStreamAddress"),
            ),
        ] {
            let mut request = client.get(&url);
            if let Some(action) = header {
                request = request.header("x-acs-action", action);
            }
            let response = request.send().unwrap();
            assert_eq!(response.status(), 400, "{url}");
            let answer: Value = serde_json::from_str(&response.text().unwrap()).unwrap();
            assert_eq!(answer["Code"], "MissingParameter", "{url}");
        }
        assert_eq!(sim.zego().requests().len(), 1);
        let versions: Vec<&str> = sim
            .aliyun()
            .requests()
            .iter()
            .map(|request| request.signature_version)
            .collect();
        assert_eq!(versions, ["v2", "v2", "v3"]);
    }

    #[test]
    fn aliyun_key_debug_hides_the_secret() {
        let shown = format!(
            "{:?}",
            SimConfig {
                aliyun_keys: vec![AliyunKey {
                    access_key_id: "LTAI5tShown".to_owned(),
                    access_key_secret: "hiddenSecret123".to_owned(),
                }],
                ..SimConfig::default()
            }
        );
        assert!(!shown.contains("hiddenSecret123"), "{shown}");
        assert!(shown.contains("LTAI5tShown"), "{shown}");
    }

    #[test]
    fn zego_app_debug_hides_the_secret() {
        let shown = format!(
            "{:?}",
            SimConfig {
                zego_apps: apps(),
                ..SimConfig::default()
            }
        );
        assert!(!shown.contains(SECRET), "{shown}");
        assert!(shown.contains(&APP_ID.to_string()), "{shown}");
    }
}
