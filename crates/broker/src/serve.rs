//! `rtc-golive-broker serve`: the HTTP(S) server until it is told to stop: SIGTERM or Ctrl-C on
//! Unix; Ctrl-C, Ctrl-Break, its console closing or Windows shutting down on Windows. SIGHUP
//! reloads the TLS certificate and key.
//!
//! Each connection is served by hyper's HTTP/1 server with its header-read timeout, under a
//! cap of open connections (a semaphore: past the cap the broker stops accepting, and new
//! connections wait in the kernel's listen backlog) and tower's timeout for the whole request.

use crate::broker::{Broker, StartError};
use crate::config::BrokerConfig;
use crate::connections::{out_of_descriptors, CapError, HttpSettings, RateLimitedLog};
use crate::http::{admin_router, public_router, Operations};
use crate::redis_link::{persistence, Persistence};
use axum::extract::ConnectInfo;
use axum::Router;
use axum_server::tls_rustls::RustlsConfig;
use hyper::body::Incoming;
use hyper::Request;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify, OwnedSemaphorePermit, Semaphore};
use tower::ServiceExt;

/// How long requests in flight may take to finish at shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// At most one line per this long about the connection cap or failing accepts.
const LOG_PERIOD: Duration = Duration::from_secs(10);
/// How long the accept loop pauses after a failed accept (out of descriptors, mostly).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Why `serve` could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// `[http] max_connections` does not fit the descriptor limit.
    #[error(transparent)]
    Connections(#[from] CapError),
    /// A listen address cannot be bound.
    #[error("cannot serve on {address}: {source}")]
    Bind {
        /// `listen` or `admin_listen`.
        address: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The certificate or key cannot be loaded.
    #[error("cannot load tls_cert {} / tls_key {}: {source}", cert.display(), key.display())]
    Tls {
        /// `tls_cert`.
        cert: PathBuf,
        /// `tls_key`.
        key: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The broker cannot start (Redis URL, the vendors' HTTP client, its state file).
    #[error(transparent)]
    Broker(#[from] StartError),
    /// Redis would lose what the broker keeps there.
    #[error("{0}")]
    Redis(String),
}

/// Serves `config` until the process is told to stop.
pub async fn serve(config: BrokerConfig) -> Result<(), ServeError> {
    let listen = config.listen;
    let admin_listen = config.admin_listen;
    let tls = config.tls.clone();
    let settings = config.http;
    let redis = config.redis_url.is_some();
    let providers: Vec<&str> = [
        config.zego.as_ref().map(|_| "zego"),
        config.aliyun.as_ref().map(|_| "aliyun"),
    ]
    .into_iter()
    .flatten()
    .collect();
    let cap = settings.connection_cap()?;
    let tls = match tls {
        Some((cert, key)) => Some(Tls::load(cert, key).await?),
        None => None,
    };
    let public = bind(listen).await?;
    let admin = match admin_listen {
        Some(address) => Some(bind(address).await?),
        None => None,
    };
    if let Some(url) = &config.redis_url {
        check_persistence(url, config.allow_volatile_redis).await?;
    }
    let broker = Broker::start(config)?;
    let operations = Arc::new(Operations::default());
    let (stop_tx, stop) = watch::channel(false);
    let reload = tls.clone();
    let draining = operations.clone();
    tokio::spawn(async move {
        wait_for_signals(reload).await;
        log::info!("stopping: finishing the requests in flight");
        draining.drain();
        let _ = stop_tx.send(true);
    });
    let scheme = if tls.is_some() { "https" } else { "http" };
    log::info!(
        "listening on {scheme}://{listen} (providers: {}; limiter: {}; at most {cap} connections; \
         header read timeout {} s, idle timeout {} s, request timeout {} s)",
        providers.join(", "),
        if redis {
            "shared through Redis"
        } else {
            "local"
        },
        settings.header_read_timeout.as_secs(),
        settings.idle_timeout.as_secs(),
        settings.request_timeout.as_secs(),
    );
    let server = Arc::new(Server {
        slots: Arc::new(Semaphore::new(
            usize::try_from(cap.min(u64::from(u32::MAX))).unwrap_or(usize::MAX),
        )),
        cap,
        settings,
        tls,
        cap_log: RateLimitedLog::new(LOG_PERIOD),
        accept_log: RateLimitedLog::new(LOG_PERIOD),
        waiting: Arc::default(),
    });
    let public_app = public_router(
        broker.clone(),
        operations.clone(),
        admin.is_none(),
        &settings,
    );
    let public_loop = tokio::spawn(server.clone().accept_loop(public, public_app, stop.clone()));
    let admin_loop = admin.map(|listener| {
        log::info!(
            "operations and admin API on {scheme}://{}",
            admin_listen.expect("set")
        );
        let app = admin_router(broker.clone(), operations.clone(), &settings);
        tokio::spawn(server.clone().accept_loop(listener, app, stop.clone()))
    });
    let _ = public_loop.await;
    if let Some(admin_loop) = admin_loop {
        let _ = admin_loop.await;
    }
    // Every connection holds a slot of the cap until it closes: all slots back, all closed.
    let all = u32::try_from(cap).unwrap_or(u32::MAX);
    if tokio::time::timeout(SHUTDOWN_GRACE, server.slots.acquire_many(all))
        .await
        .is_err()
    {
        log::warn!("requests still in flight after {SHUTDOWN_GRACE:?}: closing them");
    }
    // The vendors' HTTP client is reqwest's blocking one, which owns a runtime of its own and
    // panics when dropped on one of tokio's threads: the broker's last reference goes on a
    // thread made for blocking work.
    let _ = tokio::task::spawn_blocking(move || drop(broker)).await;
    Ok(())
}

async fn bind(address: SocketAddr) -> Result<TcpListener, ServeError> {
    TcpListener::bind(address)
        .await
        .map_err(|source| ServeError::Bind { address, source })
}

/// The certificate and key, reloaded on SIGHUP.
#[derive(Clone)]
struct Tls {
    config: RustlsConfig,
    cert: PathBuf,
    key: PathBuf,
}

impl Tls {
    async fn load(cert: PathBuf, key: PathBuf) -> Result<Self, ServeError> {
        // The process-wide rustls provider: ring, as everywhere in the workspace.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let config = match RustlsConfig::from_pem_file(&cert, &key).await {
            Ok(config) => config,
            Err(source) => return Err(ServeError::Tls { cert, key, source }),
        };
        let tls = Tls { config, cert, key };
        tls.http1_only();
        Ok(tls)
    }

    /// The broker speaks HTTP/1.1 only: ALPN must not offer h2.
    fn http1_only(&self) {
        let mut inner = (*self.config.get_inner()).clone();
        inner.alpn_protocols = vec![b"http/1.1".to_vec()];
        self.config.reload_from_config(Arc::new(inner));
    }

    async fn reload(&self) {
        match self
            .config
            .reload_from_pem_file(&self.cert, &self.key)
            .await
        {
            Ok(()) => {
                self.http1_only();
                log::info!("reloaded tls_cert {}", self.cert.display());
            }
            Err(e) => log::error!(
                "cannot reload tls_cert {} / tls_key {}: {e}; keeping the certificate in use",
                self.cert.display(),
                self.key.display()
            ),
        }
    }

    fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        tokio_rustls::TlsAcceptor::from(self.config.get_inner())
    }
}

/// What every listener shares: the connection cap (one descriptor budget), the timeouts, TLS.
struct Server {
    slots: Arc<Semaphore>,
    cap: u64,
    settings: HttpSettings,
    tls: Option<Tls>,
    cap_log: RateLimitedLog,
    accept_log: RateLimitedLog,
    waiting: Arc<WaitingConnections>,
}

impl Server {
    /// Accepts connections on `listener` for `app` until `stop`; each connection then finishes
    /// the request it has in flight and closes.
    async fn accept_loop(
        self: Arc<Self>,
        listener: TcpListener,
        app: Router,
        mut stop: watch::Receiver<bool>,
    ) {
        loop {
            let (stream, peer) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        self.accept_failed(&e);
                        tokio::time::sleep(ACCEPT_BACKOFF).await;
                        continue;
                    }
                },
                () = stopped(&mut stop) => break,
            };
            let permit = match self.slots.clone().try_acquire_owned() {
                Ok(permit) => permit,
                Err(_) => match self.make_room(&mut stop).await {
                    Some(permit) => permit,
                    None => break,
                },
            };
            tokio::spawn(
                self.clone()
                    .connection(stream, peer, app.clone(), permit, stop.clone()),
            );
        }
    }

    /// At the cap: closes the connection that has waited longest for a request (none in
    /// flight) and takes its slot; when every connection has a request in flight, waits for one
    /// to finish. New connections wait in the listen backlog meanwhile.
    async fn make_room(&self, stop: &mut watch::Receiver<bool>) -> Option<OwnedSemaphorePermit> {
        let mut closed_one = false;
        loop {
            closed_one |= self.waiting.close_oldest();
            self.cap_log.log(|left_out| {
                log::warn!(
                    "connection cap reached: {} connections open ([http] max_connections); {}{}",
                    self.cap,
                    if closed_one {
                        "closing the one that waited longest for a request"
                    } else {
                        "every one has a request in flight: new connections wait in the listen backlog"
                    },
                    left_out_text(left_out)
                )
            });
            tokio::select! {
                permit = self.slots.clone().acquire_owned() => {
                    return Some(permit.expect("the semaphore is never closed"));
                }
                () = tokio::time::sleep(ACCEPT_BACKOFF) => {}
                () = stopped(stop) => return None,
            }
        }
    }

    fn accept_failed(&self, e: &std::io::Error) {
        self.accept_log.log(|left_out| {
            if out_of_descriptors(e) {
                log::error!(
                    "cannot accept a connection: out of file descriptors ({e}); raise the limit \
                     (systemd: LimitNOFILE=) or lower [http] max_connections{}",
                    left_out_text(left_out)
                )
            } else {
                log::warn!("cannot accept a connection: {e}{}", left_out_text(left_out))
            }
        });
    }

    /// Serves one connection (after its TLS handshake), holding one slot of the cap.
    async fn connection(
        self: Arc<Self>,
        stream: TcpStream,
        peer: SocketAddr,
        app: Router,
        _permit: OwnedSemaphorePermit,
        stop: watch::Receiver<bool>,
    ) {
        let _ = stream.set_nodelay(true);
        // Waiting for a request from the start: at the cap, a connection still in its TLS
        // handshake may be closed to make room too.
        let activity = Activity::new(self.waiting.clone());
        let Some(tls) = &self.tls else {
            return self.http(stream, peer, app, activity, stop).await;
        };
        // The handshake gets the header-read timeout too: a client that connects and says
        // nothing is closed as soon over TLS as without.
        let handshake = tokio::time::timeout(
            self.settings.header_read_timeout,
            tls.acceptor().accept(stream),
        );
        tokio::select! {
            shaken = handshake => match shaken {
                Ok(Ok(stream)) => self.http(stream, peer, app, activity, stop).await,
                Ok(Err(e)) => log::debug!("TLS handshake with {peer} failed: {e}"),
                Err(_) => log::debug!("TLS handshake with {peer} timed out"),
            },
            () = activity.close.notified() => {}
        }
    }

    /// HTTP/1 on `io` until the client closes, a timeout closes it, or the broker stops.
    async fn http<IO>(
        &self,
        io: IO,
        peer: SocketAddr,
        app: Router,
        activity: Arc<Activity>,
        mut stop: watch::Receiver<bool>,
    ) where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let counted = activity.clone();
        let service = tower::service_fn(move |mut request: Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            let busy = counted.begin();
            let answer = app.clone().oneshot(request);
            async move {
                let answer = answer.await;
                drop(busy);
                answer
            }
        });
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(self.settings.header_read_timeout)
            .keep_alive(true);
        let connection =
            builder.serve_connection(TokioIo::new(io), TowerToHyperService::new(service));
        tokio::pin!(connection);
        let mut closing = false;
        loop {
            tokio::select! {
                served = connection.as_mut() => {
                    if let Err(e) = served {
                        log::debug!("connection from {peer}: {e}");
                    }
                    return;
                }
                () = stopped(&mut stop), if !closing => {
                    closing = true;
                    connection.as_mut().graceful_shutdown();
                }
                () = activity.idle_for(self.settings.idle_timeout), if !closing => {
                    closing = true;
                    connection.as_mut().graceful_shutdown();
                }
                // Closed to make room under the cap: no request is in flight on it.
                () = activity.close.notified() => return,
            }
        }
    }
}

/// The connections waiting for a request (none in flight), oldest first: when the cap is
/// reached, the oldest of them is closed to make room for a new connection, so that a client
/// holding many connections without sending a request cannot lock everyone else out until the
/// header-read timeout frees them.
#[derive(Debug, Default)]
struct WaitingConnections {
    by_age: std::sync::Mutex<BTreeMap<(Instant, u64), Arc<Notify>>>,
    next_id: AtomicU64,
}

impl WaitingConnections {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<(Instant, u64), Arc<Notify>>> {
        self.by_age.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Tells the connection that has waited longest to close; false when none waits.
    fn close_oldest(&self) -> bool {
        match self.lock().pop_first() {
            Some((_, close)) => {
                close.notify_one();
                true
            }
            None => false,
        }
    }
}

/// One connection's requests: for its idle timeout, and its place among the waiting ones.
#[derive(Debug)]
struct Activity {
    waiting: Arc<WaitingConnections>,
    id: u64,
    close: Arc<Notify>,
    /// Requests in flight, since when none has been, and whether one was answered.
    state: std::sync::Mutex<(usize, Instant, bool)>,
}

/// A request in flight on a connection.
struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        let mut state = self.0.lock();
        state.0 -= 1;
        if state.0 == 0 {
            let now = Instant::now();
            *state = (0, now, true);
            self.0
                .waiting
                .lock()
                .insert((now, self.0.id), self.0.close.clone());
        }
    }
}

impl Drop for Activity {
    fn drop(&mut self) {
        let since = self.lock().1;
        self.waiting.lock().remove(&(since, self.id));
    }
}

impl Activity {
    fn new(waiting: Arc<WaitingConnections>) -> Arc<Self> {
        let id = waiting.next_id.fetch_add(1, Ordering::Relaxed);
        let now = Instant::now();
        let close = Arc::new(Notify::new());
        waiting.lock().insert((now, id), close.clone());
        Arc::new(Activity {
            waiting,
            id,
            close,
            state: std::sync::Mutex::new((0, now, false)),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (usize, Instant, bool)> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn begin(self: &Arc<Self>) -> Busy {
        let mut state = self.lock();
        if state.0 == 0 {
            self.waiting.lock().remove(&(state.1, self.id));
        }
        state.0 += 1;
        Busy(self.clone())
    }

    /// Returns once the connection has answered a request and had none since for `idle`.
    /// Before its first request, hyper's header-read timeout is the one that counts.
    async fn idle_for(&self, idle: Duration) {
        loop {
            let (in_flight, since, answered) = *self.lock();
            let wake = if in_flight == 0 && answered {
                let due = since + idle;
                if Instant::now() >= due {
                    return;
                }
                due
            } else {
                Instant::now() + idle
            };
            tokio::time::sleep_until(wake.into()).await;
        }
    }
}

/// Returns once `stop` says so (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

fn left_out_text(left_out: u64) -> String {
    if left_out == 0 {
        String::new()
    } else {
        format!(" ({left_out} more since the last such line)")
    }
}

/// Refuses a Redis that keeps nothing on disk (unless the operator accepts it): its restart
/// would forget every session while their CDN forwards stay at the vendor.
async fn check_persistence(url: &str, allow_volatile: bool) -> Result<(), ServeError> {
    const ACCEPT: &str = "set allow_volatile_redis = true to start anyway";
    match persistence(url).await {
        Persistence::Persistent(how) => {
            log::info!("Redis persists: {how}");
            Ok(())
        }
        Persistence::Volatile if allow_volatile => {
            log::warn!(
                "Redis keeps nothing on disk (allow_volatile_redis): a Redis restart forgets \
                 every session, and their CDN forwards stay at the vendor"
            );
            Ok(())
        }
        Persistence::Volatile => Err(ServeError::Redis(format!(
            "Redis keeps nothing on disk (appendonly no, save \"\"): a Redis restart would \
             forget every session and leave their CDN forwards at the vendor. Turn on its \
             append-only file (appendonly yes) or RDB snapshots, or {ACCEPT}"
        ))),
        Persistence::Unknown(why) if allow_volatile => {
            log::warn!("cannot tell whether Redis persists ({why}); allow_volatile_redis is set");
            Ok(())
        }
        // Redis away at start: the broker serves from its state file meanwhile.
        Persistence::Unknown(why) if why.contains("did not answer") || why.contains("reached") => {
            log::warn!("cannot tell whether Redis persists now ({why}): starting without it");
            Ok(())
        }
        Persistence::Unknown(why) => Err(ServeError::Redis(format!(
            "cannot tell whether Redis persists ({why}; CONFIG GET may be disabled). If it \
             keeps its data on disk, {ACCEPT}"
        ))),
    }
}

/// Returns at SIGTERM or Ctrl-C (the Windows console events there); reloads the TLS
/// certificate at SIGHUP meanwhile.
#[cfg(unix)]
async fn wait_for_signals(tls: Option<Tls>) {
    use tokio::signal::unix::{signal, SignalKind};
    let mut hangup = signal(SignalKind::hangup()).expect("SIGHUP can be handled");
    let stop = shutdown_signal();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = &mut stop => return,
            _ = hangup.recv() => match &tls {
                Some(tls) => tls.reload().await,
                None => log::info!("SIGHUP: no TLS certificate to reload"),
            },
        }
    }
}

#[cfg(windows)]
async fn wait_for_signals(_tls: Option<Tls>) {
    shutdown_signal().await
}

/// SIGTERM (systemd, an orchestrator) or Ctrl-C.
#[cfg(unix)]
async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM can be handled");
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

/// The console events Windows sends a console program: Ctrl-C, Ctrl-Break (what service
/// wrappers send to stop it), the console window closing, and the system shutting down.
#[cfg(windows)]
async fn shutdown_signal() {
    use tokio::signal::windows::{ctrl_break, ctrl_close, ctrl_shutdown};
    let mut brk = ctrl_break().expect("Ctrl-Break can be handled");
    let mut close = ctrl_close().expect("console close can be handled");
    let mut shutdown = ctrl_shutdown().expect("system shutdown can be handled");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = brk.recv() => {}
        _ = close.recv() => {}
        _ = shutdown.recv() => {}
    }
}
