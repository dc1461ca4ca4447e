//! The one HTTP client every vendor call goes through: bounded in time and in size, and
//! cancellable.
//!
//! OBS's output waits for a go-live's calls before it connects, so every call has a hard
//! deadline; a vendor (or anything pretending to be one) cannot make the plugin read an
//! unbounded body. Calls are made from plain threads but run on one small runtime the client
//! owns, so that when OBS quits, [`ApiClient::cancel_all`] ends every call in flight at once and
//! the plugin's threads can be joined before the module unloads. Calls whose result may stop
//! mattering go through a [`scoped`](ApiClient::scoped) client that can be cut on its own.
//!
//! HTTPS trusts the system's certificate store and the bundled roots ([`crate::tls`]). A
//! forward proxy is used as curl would (`HTTPS_PROXY`, `ALL_PROXY`, `NO_PROXY` and their
//! lower-case forms) and, on Windows, as set in Internet Options (the user's registry, with its
//! bypass list); the log names the proxy's host only, never its credentials.

mod transport_error;

pub use transport_error::TransportError;

use crate::lock::LockRecovered;
use hyper_util::client::proxy::matcher::Matcher;
use once_cell::sync::OnceCell;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::Notify;
use transport_error::classify;

/// Time to establish a connection (TCP + TLS).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Time for a whole call, from connecting to the last byte of the body.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(8);
/// Largest response body accepted; the vendors' answers are a few hundred bytes.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// A finished HTTP exchange.
#[derive(Debug, Clone)]
pub struct ApiResponse {
    /// HTTP status code.
    pub status: u16,
    /// The body, at most [`MAX_BODY_BYTES`].
    pub body: Vec<u8>,
    /// The `Retry-After` header in seconds, when the server sent one in that form.
    pub retry_after_seconds: Option<u64>,
}

/// A blocking HTTP client with connection reuse and hard bounds, and the vendors' view of the
/// time (request signatures carry a timestamp the vendors check against their own clock).
#[derive(Debug, Clone)]
pub struct ApiClient {
    client: Arc<OnceCell<reqwest::Client>>,
    connect_timeout: Duration,
    runtime: Arc<tokio::runtime::Runtime>,
    cancel: Arc<Cancel>,
    /// Set when OBS begins to quit: ends the calls of every [`scoped`](Self::scoped) client,
    /// whose results nobody will use, while clean-up calls go on.
    abandon: Arc<Cancel>,
    /// This client's own switch ([`cancel_scope`](Self::cancel_scope)); `None` for the root.
    scope: Option<Arc<Cancel>>,
    call_timeout: Duration,
    /// Milliseconds to add to the local clock, learnt from a server's `Date` header.
    clock_offset_ms: Arc<AtomicI64>,
    /// The last `Date` header seen, with the local time it arrived.
    last_server_date: Arc<Mutex<Option<(SystemTime, SystemTime)>>>,
    /// The proxy rules reqwest applies, read the same way, to name the proxy of a call.
    proxies: Arc<Matcher>,
}

impl ApiClient {
    /// A client with the given connect and whole-call deadlines.
    pub fn new(connect_timeout: Duration, call_timeout: Duration) -> Result<Self, TransportError> {
        let setup_error = |detail: String| TransportError::Other {
            host: String::new(),
            detail,
        };
        // One worker is plenty for a handful of small calls; callers block in `block_on`.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("rtc-golive-http")
            .enable_all()
            .build()
            .map_err(|e| setup_error(e.to_string()))?;
        Ok(ApiClient {
            client: Arc::new(OnceCell::new()),
            connect_timeout,
            runtime: Arc::new(runtime),
            cancel: Arc::new(Cancel::default()),
            abandon: Arc::new(Cancel::default()),
            scope: None,
            call_timeout,
            clock_offset_ms: Arc::new(AtomicI64::new(0)),
            last_server_date: Arc::new(Mutex::new(None)),
            // reqwest's own proxy rules come from the same matcher over the same environment.
            proxies: Arc::new(Matcher::from_system()),
        })
    }

    /// The reqwest client, built on first use: reading the system's certificate store takes
    /// milliseconds that OBS's module load (on its UI thread) should not wait for.
    fn http(&self) -> Result<&reqwest::Client, TransportError> {
        self.client.get_or_try_init(|| {
            reqwest::Client::builder()
                .connect_timeout(self.connect_timeout)
                .timeout(self.call_timeout)
                .user_agent(concat!("obs-rtc-golive/", env!("CARGO_PKG_VERSION")))
                // Vendor APIs never redirect; following one could send a signed query elsewhere.
                .redirect(reqwest::redirect::Policy::none())
                .use_preconfigured_tls((*crate::tls::client_config()).clone())
                .build()
                .map_err(|e| TransportError::Other {
                    host: String::new(),
                    detail: e.without_url().to_string(),
                })
        })
    }

    /// Builds the HTTP client now instead of at the first call (reading the certificate
    /// store), for a server whose first calls must leave on time (the broker).
    pub fn prepare(&self) -> Result<(), TransportError> {
        self.http().map(|_| ())
    }

    /// The host of the proxy a request to `url` goes through, if any (never its credentials).
    pub fn proxy_host(&self, url: &url::Url) -> Option<String> {
        let uri: http::Uri = url.as_str().parse().ok()?;
        let intercept = self.proxies.intercept(&uri)?;
        intercept.uri().host().map(str::to_string)
    }

    /// The current time as the vendors see it: the local clock, corrected once a server told
    /// us it differs (see [`adopt_server_clock`](Self::adopt_server_clock)).
    pub fn now(&self) -> SystemTime {
        let offset = self.clock_offset_ms.load(Ordering::Relaxed);
        if offset >= 0 {
            SystemTime::now() + Duration::from_millis(offset as u64)
        } else {
            SystemTime::now() - Duration::from_millis(offset.unsigned_abs())
        }
    }

    /// After a vendor refused a request for its timestamp: sets the clock offset from the last
    /// response's `Date` header. Returns whether the offset changed (then a retry may pass).
    pub fn adopt_server_clock(&self) -> bool {
        let last = *self.last_server_date.lock_recovered();
        let Some((server, local)) = last else {
            return false;
        };
        let offset = match server.duration_since(local) {
            Ok(ahead) => ahead.as_millis() as i64,
            Err(behind) => -(behind.duration().as_millis() as i64),
        };
        let previous = self.clock_offset_ms.swap(offset, Ordering::Relaxed);
        // HTTP dates have a one-second resolution: smaller changes would not help.
        let changed = (offset - previous).abs() >= 1000;
        if changed {
            log::warn!(
                "this computer's clock is {} s off the API server's; signing with the server's time",
                offset / 1000
            );
        }
        changed
    }

    /// A client with the default deadlines (connect 3 s, whole call 8 s).
    pub fn with_defaults() -> Result<Self, TransportError> {
        Self::new(DEFAULT_CONNECT_TIMEOUT, DEFAULT_CALL_TIMEOUT)
    }

    /// Sends `GET url` with extra headers and reads the bounded body, blocking the calling
    /// thread (which must not be one of a tokio runtime).
    ///
    /// `url` carries a signature: it never appears in an error (reqwest's URL is stripped).
    pub fn get(
        &self,
        url: &url::Url,
        headers: &[(String, String)],
    ) -> Result<ApiResponse, TransportError> {
        self.send(url, headers, None)
    }

    /// Sends `POST url` with extra headers and a JSON `body`, under the same bounds as
    /// [`get`](Self::get). The headers may carry a bearer token: they never appear in an error.
    pub fn post_json(
        &self,
        url: &url::Url,
        headers: &[(String, String)],
        body: Vec<u8>,
    ) -> Result<ApiResponse, TransportError> {
        self.send(url, headers, Some(body))
    }

    /// `GET`, or `POST` of a JSON body.
    fn send(
        &self,
        url: &url::Url,
        headers: &[(String, String)],
        body: Option<Vec<u8>>,
    ) -> Result<ApiResponse, TransportError> {
        let host = url.host_str().unwrap_or_default().to_string();
        if self.cancelled() {
            return Err(TransportError::Cancelled { host });
        }
        let proxy = self.proxy_host(url);
        if let Some(proxy) = &proxy {
            log::info!("API call to {host} through the proxy {proxy}");
        }
        let started = Instant::now();
        self.runtime.block_on(async {
            // Timers need the runtime: created inside it.
            let deadline = tokio::time::timeout(
                self.call_timeout,
                self.exchange(url, headers, body, &host, proxy.as_deref(), started),
            );
            tokio::select! {
                result = deadline => result.unwrap_or_else(|_| Err(TransportError::Timeout {
                    host: host.clone(),
                    after: started.elapsed(),
                })),
                () = self.cancel.wait() => Err(TransportError::Cancelled { host: host.clone() }),
                () = self.abandoned() => Err(TransportError::Cancelled { host: host.clone() }),
            }
        })
    }

    /// This client, sharing its connections and cancellation, with calls bounded by `timeout`
    /// instead (a call the server answers only once its queue reaches it).
    pub fn with_call_timeout(&self, timeout: Duration) -> ApiClient {
        ApiClient {
            call_timeout: timeout,
            ..self.clone()
        }
    }

    /// A client sharing this one's connections whose calls can be cut on their own
    /// ([`cancel_scope`](Self::cancel_scope)), and which OBS quitting cuts at once
    /// ([`abandon_scoped`](Self::abandon_scoped)): for work whose result may stop mattering
    /// (a Start Streaming the streamer gave up on, resolving ahead).
    pub fn scoped(&self) -> ApiClient {
        ApiClient {
            scope: Some(Arc::new(Cancel::default())),
            ..self.clone()
        }
    }

    /// Ends the calls in flight of this [`scoped`](Self::scoped) client and refuses new ones;
    /// does nothing on a client that is not scoped.
    pub fn cancel_scope(&self) {
        if let Some(scope) = &self.scope {
            scope.set();
        }
    }

    /// Ends the calls of every [`scoped`](Self::scoped) client made from this one (OBS began
    /// to quit); calls of unscoped clients (deleting CDN forwards) go on.
    pub fn abandon_scoped(&self) {
        self.abandon.set();
    }

    fn cancelled(&self) -> bool {
        self.cancel.is_set()
            || self
                .scope
                .as_ref()
                .is_some_and(|scope| scope.is_set() || self.abandon.is_set())
    }

    /// Resolves once this scoped client's calls must end; never for an unscoped client.
    async fn abandoned(&self) {
        match &self.scope {
            Some(scope) => tokio::select! {
                () = scope.wait() => {}
                () = self.abandon.wait() => {}
            },
            None => std::future::pending().await,
        }
    }

    /// Ends every call in flight and refuses new ones (OBS is quitting).
    pub fn cancel_all(&self) {
        self.cancel.set();
    }

    async fn exchange(
        &self,
        url: &url::Url,
        headers: &[(String, String)],
        body: Option<Vec<u8>>,
        host: &str,
        proxy: Option<&str>,
        started: Instant,
    ) -> Result<ApiResponse, TransportError> {
        let mut request = match body {
            Some(body) => self
                .http()?
                .post(url.clone())
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body),
            None => self.http()?.get(url.clone()),
        };
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let mut response = request
            .send()
            .await
            .map_err(|e| classify(host, proxy, started, e))?;
        let status = response.status().as_u16();
        let date = response
            .headers()
            .get(reqwest::header::DATE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| httpdate::parse_http_date(v).ok());
        let retry_after_seconds = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok());
        if let Some(server) = date {
            *self.last_server_date.lock_recovered() = Some((server, SystemTime::now()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| classify(host, proxy, started, e))?
        {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(TransportError::TooLarge {
                    host: host.to_string(),
                });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(ApiResponse {
            status,
            body,
            retry_after_seconds,
        })
    }
}

/// A one-way "stop everything" switch that async waits can select on.
#[derive(Debug, Default)]
struct Cancel {
    set: AtomicBool,
    notify: Notify,
}

impl Cancel {
    fn set(&self) {
        self.set.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    fn is_set(&self) -> bool {
        self.set.load(Ordering::SeqCst)
    }

    async fn wait(&self) {
        loop {
            let notified = self.notify.notified();
            if self.is_set() {
                return;
            }
            notified.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::TlsReason;
    use std::io::Write;
    use std::net::TcpListener;

    /// A one-shot HTTP server that writes `response` slowly or at once.
    fn serve_once(response: Vec<u8>, drip: Option<Duration>) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            if let Ok((mut s, _)) = listener.accept() {
                let mut buf = [0u8; 2048];
                let _ = std::io::Read::read(&mut s, &mut buf);
                match drip {
                    Some(d) => {
                        for b in response {
                            if s.write_all(&[b]).is_err() {
                                return;
                            }
                            std::thread::sleep(d);
                        }
                    }
                    None => {
                        let _ = s.write_all(&response);
                    }
                }
            }
        });
        format!("http://{addr}/?Signature=SECRETSIG")
    }

    fn http(body: &str) -> Vec<u8> {
        format!(
            "HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nContent-Length: {}\r\n\r\n{}",
            body.len(),
            body
        )
        .into_bytes()
    }

    #[test]
    fn reads_status_and_body() {
        let url = url::Url::parse(&serve_once(http("{\"Code\":0}"), None)).unwrap();
        let r = ApiClient::with_defaults().unwrap().get(&url, &[]).unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.body, b"{\"Code\":0}");
    }

    #[test]
    fn adopts_the_server_clock_from_the_date_header() {
        let url = url::Url::parse(&serve_once(http("{}"), None)).unwrap();
        let client = ApiClient::with_defaults().unwrap();
        assert!(!client.adopt_server_clock(), "no Date seen yet");
        client.get(&url, &[]).unwrap();
        assert!(client.adopt_server_clock());
        let skew = SystemTime::now().duration_since(client.now()).unwrap();
        let server = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        let expected = SystemTime::now().duration_since(server).unwrap();
        assert!(skew.abs_diff(expected) < Duration::from_secs(5));
        assert!(!client.adopt_server_clock(), "same offset again");
    }

    #[test]
    fn cancel_all_ends_a_call_in_flight_at_once() {
        // A server that accepts and never answers.
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = url::Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
        let client = ApiClient::with_defaults().unwrap();
        let canceller = client.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            canceller.cancel_all();
        });
        let started = Instant::now();
        let e = client.get(&url, &[]).unwrap_err();
        assert_eq!(
            e,
            TransportError::Cancelled {
                host: "127.0.0.1".into()
            }
        );
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(
            client.get(&url, &[]).unwrap_err(),
            TransportError::Cancelled {
                host: "127.0.0.1".into()
            }
        );
        drop(listener);
    }

    #[test]
    fn a_scope_cuts_only_its_own_calls_and_abandon_cuts_every_scope() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = url::Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
        let cancelled = TransportError::Cancelled {
            host: "127.0.0.1".into(),
        };
        let root = ApiClient::new(Duration::from_secs(1), Duration::from_millis(600)).unwrap();
        let (first, second) = (root.scoped(), root.scoped());
        let canceller = first.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            canceller.cancel_scope();
        });
        assert_eq!(first.get(&url, &[]).unwrap_err(), cancelled);
        // The sibling and the root are untouched: they run into the call deadline instead.
        assert!(matches!(
            second.get(&url, &[]).unwrap_err(),
            TransportError::Timeout { .. }
        ));
        root.abandon_scoped();
        assert_eq!(second.get(&url, &[]).unwrap_err(), cancelled);
        assert_eq!(root.scoped().get(&url, &[]).unwrap_err(), cancelled);
        assert!(matches!(
            root.get(&url, &[]).unwrap_err(),
            TransportError::Timeout { .. }
        ));
        drop(listener);
    }

    #[test]
    fn refuses_huge_bodies() {
        let url =
            url::Url::parse(&serve_once(http(&"x".repeat(MAX_BODY_BYTES + 10)), None)).unwrap();
        let e = ApiClient::with_defaults()
            .unwrap()
            .get(&url, &[])
            .unwrap_err();
        assert_eq!(
            e,
            TransportError::TooLarge {
                host: "127.0.0.1".into()
            }
        );
    }

    #[test]
    fn slow_drip_hits_the_whole_call_deadline() {
        let url = url::Url::parse(&serve_once(
            http(&"x".repeat(200)),
            Some(Duration::from_millis(20)),
        ))
        .unwrap();
        let client = ApiClient::new(Duration::from_secs(1), Duration::from_millis(700)).unwrap();
        let started = Instant::now();
        let e = client.get(&url, &[]).unwrap_err();
        assert!(matches!(e, TransportError::Timeout { .. }), "{e:?}");
        assert!(started.elapsed() < Duration::from_secs(3));
    }

    #[test]
    fn refused_connection_is_named_and_leaks_no_url() {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url =
            url::Url::parse(&format!("http://127.0.0.1:{port}/?Signature=SECRETSIG")).unwrap();
        let e = ApiClient::with_defaults()
            .unwrap()
            .get(&url, &[])
            .unwrap_err();
        assert_eq!(
            e,
            TransportError::Connect {
                host: "127.0.0.1".into()
            }
        );
        assert!(!format!("{e:?}").contains("SECRETSIG"));
        assert!(!e.to_string().contains("SECRETSIG"));
    }

    /// A simulator serving HTTPS with a self-signed certificate for 127.0.0.1 only.
    fn https_simulator(listen: &str) -> rtc_golive_simulator::Simulator {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        rtc_golive_simulator::Simulator::start(rtc_golive_simulator::SimConfig {
            listen: listen.to_owned(),
            tls: Some(rtc_golive_simulator::TlsIdentity {
                cert_chain_der: vec![cert.der().to_vec()],
                key_pkcs8_der: key.serialize_der(),
            }),
            ..rtc_golive_simulator::SimConfig::default()
        })
        .unwrap()
    }

    #[test]
    fn an_untrusted_certificate_is_an_unknown_issuer() {
        let sim = https_simulator("127.0.0.1:0");
        let url = url::Url::parse(&format!("{}/?Signature=SECRETSIG", sim.base_url())).unwrap();
        let e = ApiClient::with_defaults()
            .unwrap()
            .get(&url, &[])
            .unwrap_err();
        assert_eq!(
            e,
            TransportError::Tls {
                host: "127.0.0.1".into(),
                reason: TlsReason::UnknownIssuer
            }
        );
        assert!(!format!("{e:?}").contains("SECRETSIG"));
        assert!(!e.to_string().contains("SECRETSIG"));
    }

    #[test]
    fn unresolvable_host_is_a_dns_error() {
        let url = url::Url::parse("http://no-such-host.invalid/?x=1").unwrap();
        let e = ApiClient::with_defaults()
            .unwrap()
            .get(&url, &[])
            .unwrap_err();
        assert_eq!(
            e,
            TransportError::Dns {
                host: "no-such-host.invalid".into()
            }
        );
    }
}
