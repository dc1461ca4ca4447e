//! Picks the dispatched node to publish to: the first that really answers as an RTMP server.
//!
//! OBS does not retry a failed first connect (it ends the stream with an error), so a dead node
//! must be skipped before its URL reaches OBS. Two kinds of dead node matter:
//!
//! - a silent one (packets dropped, a full listen backlog): waiting for its timeout before
//!   trying the next would cost the streamer the whole timeout. The nodes are raced as RFC 8305
//!   ("Happy Eyeballs") races addresses: the vendor's first node is tried first, the next one
//!   starts [`STAGGER`] later if there is no answer yet (or at once when an attempt fails), and
//!   the first node to answer wins. The vendor's order stays the preference: a later node only
//!   wins when every earlier one failed or was still silent when it answered.
//! - one that accepts TCP but is no working RTMP server: the probe sends the client's half of
//!   the RTMP handshake (C0+C1) and counts the node only when S0+S1 come back, then closes.
//!
//! `rtmps://` nodes get a TLS handshake first, verified against the same trust as the vendor
//! APIs ([`crate::tls`]), so a node OBS would refuse is refused here too.

use crate::rtmp_target::RtmpTarget;
use crate::tls::TlsReason;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinSet;

/// How long one node may take to answer (connect, TLS for RTMPS, and the RTMP handshake).
pub const DEFAULT_PROBE_TIMEOUT: Duration = Duration::from_millis(1500);
/// How long the race waits for an answer before it also tries the next node (RFC 8305's
/// "Connection Attempt Delay", whose recommended value is 250 ms).
pub const STAGGER: Duration = Duration::from_millis(250);

/// The RTMP version byte (C0/S0).
const RTMP_VERSION: u8 = 3;
/// The size of C1 and S1.
const HANDSHAKE_SIZE: usize = 1536;

/// How far a probe goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    /// A TCP connection (and the TLS handshake for RTMPS): what accepting connections proves.
    Connect,
    /// Also C0+C1 -> S0+S1: what a working RTMP server proves.
    Rtmp,
}

/// Why one node did not count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeFailure {
    /// The node's host name did not resolve.
    Resolve,
    /// No address of the node accepted a TCP connection.
    Connect,
    /// The RTMPS node's TLS handshake failed.
    Tls(TlsReason),
    /// The node accepted TCP but did not answer the RTMP handshake as an RTMP server.
    NotRtmp,
    /// No answer within the probe timeout.
    Timeout,
}

impl std::fmt::Display for ProbeFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProbeFailure::Resolve => f.write_str("host name did not resolve"),
            ProbeFailure::Connect => f.write_str("connection refused or unreachable"),
            ProbeFailure::Tls(reason) => write!(f, "TLS: {}", reason.as_str()),
            ProbeFailure::NotRtmp => f.write_str("accepted TCP but did not answer RTMP"),
            ProbeFailure::Timeout => f.write_str("no answer"),
        }
    }
}

impl std::error::Error for ProbeFailure {}

/// The index of the node to publish to, or `None` when none answered: the RTMP handshake,
/// [`STAGGER`]ed attempts, each bounded by `timeout`.
pub fn first_reachable(nodes: &[RtmpTarget], timeout: Duration) -> Option<usize> {
    race(nodes, timeout, STAGGER, Depth::Rtmp)
}

/// [`first_reachable`] with every knob: the attempt timeout, the stagger and the depth.
pub fn race(
    nodes: &[RtmpTarget],
    timeout: Duration,
    stagger: Duration,
    depth: Depth,
) -> Option<usize> {
    if nodes.is_empty() {
        return None;
    }
    let nodes = nodes.to_vec();
    on_own_runtime(move || race_async(nodes, timeout, stagger, depth)).flatten()
}

/// Probes one node and returns how long it took to answer.
pub fn probe(node: &RtmpTarget, depth: Depth, timeout: Duration) -> Result<Duration, ProbeFailure> {
    let node = node.clone();
    on_own_runtime(move || async move {
        let started = Instant::now();
        attempt(&node, depth, timeout)
            .await
            .map(|()| started.elapsed())
    })
    .unwrap_or(Err(ProbeFailure::Connect))
}

/// Runs `task` on a runtime of its own, on a thread of its own: the caller may be any thread,
/// also one of another tokio runtime (where starting a runtime would panic), and every
/// connection still open when the task ends is closed with the runtime. `None` when no thread
/// or runtime could be had.
fn on_own_runtime<F, T>(task: impl FnOnce() -> F + Send + 'static) -> Option<T>
where
    F: std::future::Future<Output = T>,
    T: Send + 'static,
{
    std::thread::Builder::new()
        .name("rtc-golive-probe".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            Some(runtime.block_on(task()))
        })
        .ok()?
        .join()
        .ok()
        .flatten()
}

async fn race_async(
    nodes: Vec<RtmpTarget>,
    timeout: Duration,
    stagger: Duration,
    depth: Depth,
) -> Option<usize> {
    let started = Instant::now();
    let mut attempts = JoinSet::new();
    let mut next = 0;
    let start = |attempts: &mut JoinSet<_>, i: usize| {
        let node = nodes[i].clone();
        attempts.spawn(async move { (i, attempt(&node, depth, timeout).await) });
    };
    start(&mut attempts, next);
    next += 1;
    let stagger_timer = tokio::time::sleep(stagger);
    tokio::pin!(stagger_timer);
    loop {
        tokio::select! {
            joined = attempts.join_next() => {
                let Some(joined) = joined else {
                    // Every attempt started has ended in failure, and none is left to start.
                    return None;
                };
                let (i, result) = joined.ok()?;
                match result {
                    Ok(()) => {
                        let passed_over: Vec<&str> = nodes[..i]
                            .iter()
                            .map(RtmpTarget::authority)
                            .collect();
                        if !passed_over.is_empty() {
                            log::info!(
                                "node {} answered after {} ms; passed over {passed_over:?}",
                                nodes[i].authority(),
                                started.elapsed().as_millis()
                            );
                        }
                        return Some(i);
                    }
                    Err(failure) => {
                        log::info!("node {} skipped: {failure}", nodes[i].authority());
                        // A failed attempt frees its turn at once (RFC 8305, section 5).
                        if next < nodes.len() {
                            start(&mut attempts, next);
                            next += 1;
                            stagger_timer.as_mut().reset(tokio::time::Instant::now() + stagger);
                        }
                    }
                }
            }
            () = &mut stagger_timer, if next < nodes.len() => {
                start(&mut attempts, next);
                next += 1;
                stagger_timer.as_mut().reset(tokio::time::Instant::now() + stagger);
            }
        }
    }
}

/// Connects to the node (every address it resolves to, in order), with TLS for RTMPS, and at
/// [`Depth::Rtmp`] exchanges the first half of the RTMP handshake.
async fn attempt(node: &RtmpTarget, depth: Depth, timeout: Duration) -> Result<(), ProbeFailure> {
    let work = async {
        let (host, port) = node.host_port();
        let addrs = tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|_| ProbeFailure::Resolve)?;
        let mut tcp = None;
        for addr in addrs {
            if let Ok(stream) = TcpStream::connect(addr).await {
                tcp = Some(stream);
                break;
            }
        }
        let tcp = tcp.ok_or(ProbeFailure::Connect)?;
        // Small writes (C0+C1) must leave at once.
        let _ = tcp.set_nodelay(true);
        if node.is_rtmps() {
            let name =
                rustls::pki_types::ServerName::try_from(host).map_err(|_| ProbeFailure::Resolve)?;
            let tls = tokio_rustls::TlsConnector::from(crate::tls::client_config())
                .connect(name, tcp)
                .await
                .map_err(|e| {
                    ProbeFailure::Tls(TlsReason::find(&e).unwrap_or(TlsReason::Handshake))
                })?;
            finish(tls, depth).await
        } else {
            finish(tcp, depth).await
        }
    };
    tokio::time::timeout(timeout, work)
        .await
        .unwrap_or(Err(ProbeFailure::Timeout))
}

async fn finish<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    depth: Depth,
) -> Result<(), ProbeFailure> {
    match depth {
        Depth::Connect => Ok(()),
        Depth::Rtmp => rtmp_handshake(stream).await,
    }
}

/// C0+C1 -> S0+S1. C1 is all zeros: a zero version field asks for the plain handshake, which
/// every RTMP server answers, and S1's content is not checked (only that it comes).
async fn rtmp_handshake<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
) -> Result<(), ProbeFailure> {
    let mut hello = vec![0u8; 1 + HANDSHAKE_SIZE];
    hello[0] = RTMP_VERSION;
    stream
        .write_all(&hello)
        .await
        .map_err(|_| ProbeFailure::NotRtmp)?;
    stream.flush().await.map_err(|_| ProbeFailure::NotRtmp)?;
    let mut answer = vec![0u8; 1 + HANDSHAKE_SIZE];
    stream
        .read_exact(&mut answer)
        .await
        .map_err(|_| ProbeFailure::NotRtmp)?;
    if answer[0] != RTMP_VERSION {
        return Err(ProbeFailure::NotRtmp);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream as StdTcpStream};
    use std::sync::mpsc;

    fn node(port: u16) -> RtmpTarget {
        RtmpTarget::split(&format!("rtmp://127.0.0.1:{port}/live/s")).unwrap()
    }

    fn closed_port() -> u16 {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    }

    /// A minimal RTMP server: answers every C0+C1 with S0+S1 (and S2), then waits for the
    /// client to close.
    fn rtmp_server() -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                std::thread::spawn(move || {
                    let mut c0c1 = [0u8; 1 + HANDSHAKE_SIZE];
                    if stream.read_exact(&mut c0c1).is_ok() && c0c1[0] == RTMP_VERSION {
                        let mut answer = vec![RTMP_VERSION];
                        answer.extend_from_slice(&[7u8; 2 * HANDSHAKE_SIZE]);
                        let _ = stream.write_all(&answer);
                        let _ = stream.read(&mut [0u8; 64]);
                    }
                });
            }
        });
        port
    }

    /// Accepts connections and keeps them open without a byte of answer.
    fn mute_server() -> (TcpListener, mpsc::Sender<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let accepting = listener.try_clone().unwrap();
        let (stop, stopped) = mpsc::channel::<()>();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            accepting.set_nonblocking(true).unwrap();
            while stopped.try_recv().is_err() {
                if let Ok((s, _)) = accepting.accept() {
                    held.push(s);
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        (listener, stop)
    }

    /// A listener whose accept queue is full: further connection attempts get no answer at
    /// all (the kernel drops their SYNs), as with a node behind a dropping firewall.
    fn silent_port() -> (socket2::Socket, Vec<StdTcpStream>) {
        let socket = socket2::Socket::new(
            socket2::Domain::IPV4,
            socket2::Type::STREAM,
            Some(socket2::Protocol::TCP),
        )
        .unwrap();
        socket
            .bind(
                &"127.0.0.1:0"
                    .parse::<std::net::SocketAddr>()
                    .unwrap()
                    .into(),
            )
            .unwrap();
        socket.listen(0).unwrap();
        let addr = socket.local_addr().unwrap().as_socket().unwrap();
        // Backlog 0 queues one connection; a second fills what the kernel allows.
        let fillers = (0..2)
            .filter_map(|_| StdTcpStream::connect_timeout(&addr, Duration::from_millis(200)).ok())
            .collect();
        (socket, fillers)
    }

    #[test]
    fn prefers_the_vendor_order() {
        let nodes = [node(rtmp_server()), node(rtmp_server())];
        assert_eq!(first_reachable(&nodes, DEFAULT_PROBE_TIMEOUT), Some(0));
    }

    #[test]
    fn skips_dead_nodes_without_waiting_for_the_stagger() {
        let nodes = [
            node(closed_port()),
            node(closed_port()),
            node(rtmp_server()),
        ];
        let started = Instant::now();
        assert_eq!(first_reachable(&nodes, DEFAULT_PROBE_TIMEOUT), Some(2));
        // Refusals free their turn at once: far less than two staggers.
        assert!(started.elapsed() < 2 * STAGGER, "{:?}", started.elapsed());
    }

    #[test]
    fn a_node_that_accepts_tcp_but_never_answers_rtmp_is_skipped() {
        let (mute, _stop) = mute_server();
        let nodes = [node(mute.local_addr().unwrap().port()), node(rtmp_server())];
        assert_eq!(first_reachable(&nodes, DEFAULT_PROBE_TIMEOUT), Some(1));
        // Accepting TCP is all it does: a connect-only probe would take it.
        assert_eq!(
            race(&nodes, DEFAULT_PROBE_TIMEOUT, STAGGER, Depth::Connect),
            Some(0)
        );
        assert_eq!(
            probe(&nodes[0], Depth::Rtmp, Duration::from_millis(300)),
            Err(ProbeFailure::Timeout)
        );
    }

    /// Answers whatever comes with an HTTP error, as a web server on the node's port would.
    fn http_server() -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for stream in listener.incoming().take(4) {
                let Ok(mut s) = stream else { return };
                let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n");
            }
        });
        port
    }

    #[test]
    fn a_server_that_answers_something_else_is_not_rtmp() {
        assert_eq!(
            probe(&node(http_server()), Depth::Rtmp, DEFAULT_PROBE_TIMEOUT),
            Err(ProbeFailure::NotRtmp)
        );
    }

    #[test]
    fn a_silent_first_node_costs_one_stagger_not_the_timeout() {
        let (silent, _fillers) = silent_port();
        let silent_port = silent.local_addr().unwrap().as_socket().unwrap().port();
        assert_eq!(
            probe(
                &node(silent_port),
                Depth::Connect,
                Duration::from_millis(300)
            ),
            Err(ProbeFailure::Timeout),
            "the full backlog must leave the connect unanswered"
        );
        let nodes = [node(silent_port), node(rtmp_server())];
        let started = Instant::now();
        assert_eq!(first_reachable(&nodes, DEFAULT_PROBE_TIMEOUT), Some(1));
        assert!(
            started.elapsed() < DEFAULT_PROBE_TIMEOUT,
            "waited for the silent node: {:?}",
            started.elapsed()
        );
    }

    #[test]
    fn ipv6_nodes_are_probed() {
        let listener = TcpListener::bind("[::1]:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            if let Ok((mut s, _)) = listener.accept() {
                let mut c0c1 = [0u8; 1 + HANDSHAKE_SIZE];
                if s.read_exact(&mut c0c1).is_ok() {
                    let _ = s.write_all(&[RTMP_VERSION; 1 + HANDSHAKE_SIZE]);
                }
            }
        });
        let v6 = RtmpTarget::split(&format!("rtmp://[::1]:{port}/live/s")).unwrap();
        assert!(probe(&v6, Depth::Rtmp, DEFAULT_PROBE_TIMEOUT).is_ok());
    }

    #[test]
    fn rtmps_to_a_plain_server_fails_in_tls() {
        let rtmps =
            RtmpTarget::split(&format!("rtmps://127.0.0.1:{}/live/s", http_server())).unwrap();
        assert_eq!(
            probe(&rtmps, Depth::Rtmp, DEFAULT_PROBE_TIMEOUT),
            Err(ProbeFailure::Tls(TlsReason::Handshake))
        );
    }

    #[test]
    fn none_when_all_dead_or_unresolvable() {
        let nodes = [
            node(closed_port()),
            RtmpTarget::split("rtmp://no-such-host.invalid/live/s").unwrap(),
        ];
        assert_eq!(first_reachable(&nodes, Duration::from_millis(300)), None);
        assert_eq!(first_reachable(&[], Duration::from_millis(300)), None);
    }
}
