//! A stand-in RTMP ingest node for tests that need a node the plugin's probe accepts but no
//! publish: it answers the first half of the RTMP handshake (C0+C1 -> S0+S1+S2) and nothing
//! more. End-to-end tests that publish use a real nginx-rtmp instead.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// The RTMP version byte (C0/S0).
const RTMP_VERSION: u8 = 3;
/// The size of C1, S1 and S2.
const HANDSHAKE_SIZE: usize = 1536;
/// How long a connection may stay silent before the node drops it.
const IDLE: Duration = Duration::from_secs(5);

/// A listening handshake-only RTMP node. Stopped when dropped.
pub struct HandshakeNode {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    handshakes: Arc<AtomicUsize>,
    acceptor: Option<JoinHandle<()>>,
}

impl HandshakeNode {
    /// Listens on `listen` (e.g. `127.0.0.1:0` or `[::1]:0`).
    ///
    /// # Errors
    ///
    /// When the address cannot be bound or the thread cannot start.
    pub fn start(listen: &str) -> io::Result<HandshakeNode> {
        let listener = TcpListener::bind(listen)?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let handshakes = Arc::new(AtomicUsize::new(0));
        let acceptor = {
            let (stop, handshakes) = (stop.clone(), handshakes.clone());
            thread::Builder::new()
                .name("sim-rtmp-node".to_owned())
                .spawn(move || {
                    for stream in listener.incoming() {
                        if stop.load(Ordering::SeqCst) {
                            break;
                        }
                        let Ok(stream) = stream else { continue };
                        let handshakes = handshakes.clone();
                        // A connection that cannot get a thread is closed, as by a busy server.
                        let _ = thread::Builder::new()
                            .name("sim-rtmp-conn".to_owned())
                            .spawn(move || {
                                if answer(stream).is_ok() {
                                    handshakes.fetch_add(1, Ordering::SeqCst);
                                }
                            });
                    }
                })?
        };
        Ok(HandshakeNode {
            addr,
            stop,
            handshakes,
            acceptor: Some(acceptor),
        })
    }

    /// The address it listens on.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The port it listens on.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `rtmp://<addr>/live`, as a vendor would hand it out (IPv6 in brackets).
    #[must_use]
    pub fn rtmp_url(&self) -> String {
        format!("rtmp://{}/live", self.addr)
    }

    /// How many clients completed C0+C1 -> S0+S1+S2 so far.
    #[must_use]
    pub fn handshakes(&self) -> usize {
        self.handshakes.load(Ordering::SeqCst)
    }
}

impl Drop for HandshakeNode {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // The acceptor blocks in accept: one connection wakes it to see the stop.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

/// Reads C0+C1, writes S0+S1+S2, then waits for the client to close (or go idle).
fn answer(mut stream: TcpStream) -> io::Result<()> {
    stream.set_read_timeout(Some(IDLE))?;
    let mut c0c1 = [0u8; 1 + HANDSHAKE_SIZE];
    stream.read_exact(&mut c0c1)?;
    if c0c1[0] != RTMP_VERSION {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "not RTMP"));
    }
    let mut s0s1s2 = vec![0u8; 1 + 2 * HANDSHAKE_SIZE];
    s0s1s2[0] = RTMP_VERSION;
    // S2 echoes C1, as the plain handshake asks.
    s0s1s2[1 + HANDSHAKE_SIZE..].copy_from_slice(&c0c1[1..]);
    stream.write_all(&s0s1s2)?;
    let _ = stream.read(&mut [0u8; 256]);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtc_golive_core::node_probe::{probe, Depth, DEFAULT_PROBE_TIMEOUT};
    use rtc_golive_core::rtmp_target::RtmpTarget;

    #[test]
    fn passes_the_plugins_probe_on_ipv4_and_ipv6() {
        for listen in ["127.0.0.1:0", "[::1]:0"] {
            let node = HandshakeNode::start(listen).unwrap();
            let target = RtmpTarget::split(&format!("{}/s", node.rtmp_url())).unwrap();
            assert!(probe(&target, Depth::Rtmp, DEFAULT_PROBE_TIMEOUT).is_ok());
            // Counted once the probe has closed its side.
            let deadline = std::time::Instant::now() + Duration::from_secs(2);
            while node.handshakes() == 0 && std::time::Instant::now() < deadline {
                thread::sleep(Duration::from_millis(10));
            }
            assert_eq!(node.handshakes(), 1, "{listen}");
        }
    }
}
