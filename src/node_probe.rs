//! Picks the first dispatched node that accepts a TCP connection.
//!
//! OBS does not retry a failed first connect (it ends the stream with an error), so a dead node
//! must be skipped before its URL reaches OBS. All nodes are probed at once; the vendor's order
//! is kept as the preference, so a later node wins only when every earlier one failed.

use crate::rtmp_target::RtmpTarget;
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long one node may take to accept a connection.
pub const DEFAULT_PROBE_TIMEOUT: Duration = Duration::from_millis(1500);

/// The index of the preferred reachable node, or `None` when none answered within `timeout`.
pub fn first_reachable(nodes: &[RtmpTarget], timeout: Duration) -> Option<usize> {
    let (tx, rx) = mpsc::channel();
    for (i, node) in nodes.iter().enumerate() {
        let tx = tx.clone();
        let (host, port) = node.host_port();
        // Detached on purpose: a probe is bounded by `timeout` and sends into a channel that
        // outlives nothing; waiting for stragglers would delay go-live for no benefit.
        std::thread::Builder::new()
            .name("rtc-golive-probe".into())
            .spawn(move || {
                let _ = tx.send((i, reachable(&host, port, timeout)));
            })
            .ok()?;
    }
    drop(tx);

    let deadline = Instant::now() + timeout + Duration::from_millis(200);
    let mut results: Vec<Option<bool>> = vec![None; nodes.len()];
    loop {
        // The preferred node is known once every node before it has failed.
        for result in &results {
            match result {
                Some(true) => return results.iter().position(|r| *r == Some(true)),
                Some(false) => continue,
                None => break,
            }
        }
        if results.iter().all(|r| r == &Some(false)) {
            return None;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok((i, ok)) => results[i] = Some(ok),
            Err(_) => return results.iter().position(|r| *r == Some(true)),
        }
    }
}

fn reachable(host: &str, port: u16, timeout: Duration) -> bool {
    let Ok(addrs) = (host, port).to_socket_addrs() else {
        return false;
    };
    addrs
        .into_iter()
        .any(|addr| TcpStream::connect_timeout(&addr, timeout).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    fn node(port: u16) -> RtmpTarget {
        RtmpTarget::split(&format!("rtmp://127.0.0.1:{port}/live/s")).unwrap()
    }

    fn closed_port() -> u16 {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    }

    #[test]
    fn prefers_the_vendor_order() {
        let a = TcpListener::bind("127.0.0.1:0").unwrap();
        let b = TcpListener::bind("127.0.0.1:0").unwrap();
        let nodes = [
            node(a.local_addr().unwrap().port()),
            node(b.local_addr().unwrap().port()),
        ];
        assert_eq!(first_reachable(&nodes, DEFAULT_PROBE_TIMEOUT), Some(0));
    }

    #[test]
    fn skips_dead_nodes() {
        let live = TcpListener::bind("127.0.0.1:0").unwrap();
        let nodes = [
            node(closed_port()),
            node(closed_port()),
            node(live.local_addr().unwrap().port()),
        ];
        assert_eq!(first_reachable(&nodes, DEFAULT_PROBE_TIMEOUT), Some(2));
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
