//! The streamer's public IPv4 address, passed to ZEGOCLOUD's dispatch as `ClientIP`.
//!
//! Without `ClientIP` the vendor picks nodes near whoever calls it: in platform mode that is
//! the broker, which may sit in another country than the streamer. The address is the
//! connection's peer, or, behind a reverse proxy, the last value of the header the config
//! names (`client_ip_header`): the one the proxy itself added, while values before it come
//! from the client and could be anything. The dispatch takes IPv4 only, and an address that
//! is not public (a proxy on the same network, loopback) would only mislead it, so those are
//! left out and the vendor falls back to the broker's own address.

use axum::http::{HeaderMap, HeaderName};
use std::net::{IpAddr, Ipv4Addr};

/// The streamer's public IPv4 address: from `header` when the config names one (the header
/// missing or unreadable gives none, never the proxy's address), else from `peer`.
pub fn streamer_ipv4(
    peer: IpAddr,
    headers: &HeaderMap,
    header: Option<&HeaderName>,
) -> Option<Ipv4Addr> {
    let v4 = match client_address(peer, headers, header)? {
        IpAddr::V4(v4) => v4,
        IpAddr::V6(v6) => v6.to_ipv4_mapped()?,
    };
    is_public(v4).then_some(v4)
}

/// The client's address as the broker sees it: the last address in `header` when the config
/// names one (none when it is missing or unreadable), else the connection's `peer`. Any
/// address, public or not (the access log shows it).
pub fn client_address(
    peer: IpAddr,
    headers: &HeaderMap,
    header: Option<&HeaderName>,
) -> Option<IpAddr> {
    match header {
        Some(name) => last_value(headers, name),
        None => Some(peer),
    }
}

/// The last comma-separated address in the last `name` header, when it is one.
fn last_value(headers: &HeaderMap, name: &HeaderName) -> Option<IpAddr> {
    let value = headers.get_all(name).iter().next_back()?.to_str().ok()?;
    value.rsplit(',').next()?.trim().parse().ok()
}

/// Whether `ip` is routable on the internet: not private, loopback, link-local, shared
/// (carrier-grade NAT), documentation, benchmarking, reserved, multicast or broadcast.
fn is_public(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || a >= 240
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && c == 0)
        || (a == 198 && (18..20).contains(&b)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    const PUBLIC: &str = "119.23.242.129";

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn the_peer_is_the_streamer_without_a_proxy() {
        let forged = headers(&[("x-forwarded-for", "8.8.8.8")]);
        assert_eq!(
            streamer_ipv4(ip(PUBLIC), &forged, None),
            Some(PUBLIC.parse().unwrap()),
            "a header nobody trusts is ignored"
        );
        assert_eq!(
            streamer_ipv4(ip("::ffff:119.23.242.129"), &HeaderMap::new(), None),
            Some(PUBLIC.parse().unwrap())
        );
    }

    #[test]
    fn behind_a_proxy_the_value_it_added_counts() {
        let xff = HeaderName::from_static("x-forwarded-for");
        let proxy = ip("10.0.0.2");
        let added = headers(&[("x-forwarded-for", &format!("6.6.6.6, {PUBLIC}"))]);
        assert_eq!(
            streamer_ipv4(proxy, &added, Some(&xff)),
            Some(PUBLIC.parse().unwrap())
        );
        let two_headers = headers(&[("x-forwarded-for", "6.6.6.6"), ("x-forwarded-for", PUBLIC)]);
        assert_eq!(
            streamer_ipv4(proxy, &two_headers, Some(&xff)),
            Some(PUBLIC.parse().unwrap())
        );
        assert_eq!(
            streamer_ipv4(ip(PUBLIC), &HeaderMap::new(), Some(&xff)),
            None,
            "without the header the peer is the proxy, not the streamer"
        );
        let garbage = headers(&[("x-forwarded-for", "unknown")]);
        assert_eq!(streamer_ipv4(proxy, &garbage, Some(&xff)), None);
    }

    #[test]
    fn only_public_ipv4_is_passed_on() {
        for address in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.10",
            "169.254.0.1",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "240.0.0.1",
            "192.0.2.1",
            "198.18.0.1",
            "::1",
            "2001:4860:4860::8888",
        ] {
            assert_eq!(
                streamer_ipv4(ip(address), &HeaderMap::new(), None),
                None,
                "{address}"
            );
        }
        for address in [PUBLIC, "8.8.8.8", "100.128.0.1", "198.20.0.1"] {
            assert!(
                streamer_ipv4(ip(address), &HeaderMap::new(), None).is_some(),
                "{address}"
            );
        }
    }
}
