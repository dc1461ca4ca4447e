//! RTMP ingest targets: a vendor's publish URL split into OBS's server and stream key.
//!
//! OBS logs the server URL it connects to but never the key, so everything after the app
//! (the stream name and any query such as `auth_key`) travels in the key.

use std::time::{Instant, SystemTime};

/// One place OBS can publish to.
#[derive(Clone, PartialEq, Eq)]
pub struct RtmpTarget {
    /// `rtmp[s]://host[:port]/app[/...]`: everything up to the last path segment.
    pub server: String,
    /// The last path segment plus any query (`name?auth_key=...`).
    pub key: String,
}

impl std::fmt::Debug for RtmpTarget {
    // The key may hold an auth_key; Debug output must be safe to log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RtmpTarget")
            .field("server", &self.server)
            .field("key", &"***")
            .finish()
    }
}

/// Why a URL from a vendor cannot be used as an RTMP target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SplitError {
    /// Not `rtmp://` or `rtmps://`.
    Scheme,
    /// No host.
    Host,
    /// No app segment before the stream name, or no stream name.
    Path,
}

impl std::fmt::Display for SplitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SplitError::Scheme => "not an rtmp:// or rtmps:// URL",
            SplitError::Host => "no host",
            SplitError::Path => "no app and stream name in the path",
        })
    }
}

impl std::error::Error for SplitError {}

impl RtmpTarget {
    /// Splits `rtmp[s]://host[:port]/app/.../name[?query]` at the last `/` of the path.
    pub fn split(url: &str) -> Result<Self, SplitError> {
        let url = url.trim();
        let scheme_len = if starts_with_ignore_case(url, "rtmp://") {
            "rtmp://".len()
        } else if starts_with_ignore_case(url, "rtmps://") {
            "rtmps://".len()
        } else {
            return Err(SplitError::Scheme);
        };
        // The query may itself contain '/', so the path ends at the first '?'.
        let (before_query, query) = match url.find('?') {
            Some(q) => (&url[..q], &url[q..]),
            None => (url, ""),
        };
        let rest = &before_query[scheme_len..];
        let host_end = rest.find('/').ok_or(SplitError::Path)?;
        let host = &rest[..host_end];
        if host.is_empty() || host.starts_with(':') || host.contains(['@', ' ']) {
            return Err(SplitError::Host);
        }
        let path = &rest[host_end..];
        let last_slash = path.rfind('/').ok_or(SplitError::Path)?;
        let (app, name) = (&path[..last_slash], &path[last_slash + 1..]);
        if app.trim_matches('/').is_empty() || name.is_empty() {
            return Err(SplitError::Path);
        }
        Ok(RtmpTarget {
            server: before_query[..scheme_len + host_end + last_slash].to_string(),
            key: format!("{name}{query}"),
        })
    }

    /// `host[:port]` of the server, as given.
    pub fn authority(&self) -> &str {
        let rest = self.server.split_once("://").map_or("", |(_, r)| r);
        rest.split('/').next().unwrap_or_default()
    }

    /// Whether the server is `rtmps://`.
    pub fn is_rtmps(&self) -> bool {
        starts_with_ignore_case(&self.server, "rtmps://")
    }

    /// `(host, port)` to probe, with RTMP's default ports (1935, or 443 for RTMPS).
    pub fn host_port(&self) -> (String, u16) {
        let authority = self.authority();
        let default = if self.is_rtmps() { 443 } else { 1935 };
        if let Some(v6) = authority.strip_prefix('[') {
            let (host, rest) = v6.split_once(']').unwrap_or((v6, ""));
            let port = rest
                .strip_prefix(':')
                .and_then(|p| p.parse().ok())
                .unwrap_or(default);
            return (host.to_string(), port);
        }
        match authority.rsplit_once(':') {
            Some((host, port)) => (host.to_string(), port.parse().unwrap_or(default)),
            None => (authority.to_string(), default),
        }
    }
}

/// `scheme://host[:port]/…` of a URL: enough to recognise it, without the path or query that
/// may carry a stream key. Text that is not a URL is reduced to its first characters.
pub fn redacted_url(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let authority = rest.split(['/', '?']).next().unwrap_or_default();
            let authority = authority.rsplit('@').next().unwrap_or_default();
            format!("{scheme}://{authority}/…")
        }
        None => format!("{}…", url.chars().take(8).collect::<String>()),
    }
}

fn starts_with_ignore_case(s: &str, prefix: &str) -> bool {
    s.len() >= prefix.len() && s.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

/// The result of one go-live resolution: where to publish, and where to go next.
#[derive(Debug, Clone)]
pub struct IngestPlan {
    /// The node to publish to first (the first that accepted a connection).
    pub primary: RtmpTarget,
    /// The other nodes, in the vendor's order, for reconnects.
    pub alternates: Vec<RtmpTarget>,
    /// When the vendor answered.
    pub obtained_at: Instant,
    /// When the target stops being valid, if the vendor says.
    pub expires_at: Option<SystemTime>,
    /// The vendor's RequestId, for support tickets.
    pub request_id: String,
}

impl IngestPlan {
    /// Every node: the primary, then the alternates.
    pub fn nodes(&self) -> impl Iterator<Item = &RtmpTarget> {
        std::iter::once(&self.primary).chain(&self.alternates)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(url: &str) -> (String, String) {
        let t = RtmpTarget::split(url).unwrap();
        (t.server, t.key)
    }

    #[test]
    fn zego_sample_url() {
        assert_eq!(
            split("rtmp://81.69.49.115:1935/1540531164/caodantest"),
            (
                "rtmp://81.69.49.115:1935/1540531164".into(),
                "caodantest".into()
            )
        );
    }

    #[test]
    fn alibaba_sample_keeps_auth_key_in_the_key() {
        let (server, key) = split(
            "rtmp://rtcpush.rtmp.alivecdn.com/rtcdev/H4sIAAAA_6pWSlay/UiA?auth_key=1700492701-6e33-0-c6d7e3/a93d",
        );
        assert_eq!(
            server,
            "rtmp://rtcpush.rtmp.alivecdn.com/rtcdev/H4sIAAAA_6pWSlay"
        );
        assert_eq!(key, "UiA?auth_key=1700492701-6e33-0-c6d7e3/a93d");
    }

    #[test]
    fn rtmps_and_ports() {
        let t = RtmpTarget::split("RTMPS://live.example.com/app/key").unwrap();
        assert!(t.is_rtmps());
        assert_eq!(t.host_port(), ("live.example.com".into(), 443));
        let t = RtmpTarget::split("rtmp://[::1]:1940/live/x").unwrap();
        assert_eq!(t.host_port(), ("::1".into(), 1940));
        let t = RtmpTarget::split("rtmp://127.0.0.1/live/x").unwrap();
        assert_eq!(t.host_port(), ("127.0.0.1".into(), 1935));
        assert_eq!(t.authority(), "127.0.0.1");
    }

    #[test]
    fn refuses_unusable_urls() {
        assert_eq!(RtmpTarget::split("http://h/a/b"), Err(SplitError::Scheme));
        assert_eq!(
            RtmpTarget::split("81.69.49.115:1935"),
            Err(SplitError::Scheme)
        );
        assert_eq!(RtmpTarget::split("rtmp://host"), Err(SplitError::Path));
        assert_eq!(
            RtmpTarget::split("rtmp://host/onlyname"),
            Err(SplitError::Path)
        );
        assert_eq!(RtmpTarget::split("rtmp://host/app/"), Err(SplitError::Path));
        assert_eq!(RtmpTarget::split("rtmp:///app/x"), Err(SplitError::Host));
        assert_eq!(RtmpTarget::split("rtmp://u@h/app/x"), Err(SplitError::Host));
        assert_eq!(RtmpTarget::split(""), Err(SplitError::Scheme));
    }

    #[test]
    fn redaction_keeps_only_scheme_and_host() {
        assert_eq!(
            redacted_url("rtmp://a.example:1935/live/KEY?x=SECRET"),
            "rtmp://a.example:1935/…"
        );
        assert_eq!(redacted_url("rtmp://user:pw@h/x"), "rtmp://h/…");
        assert_eq!(redacted_url("not a url at all"), "not a ur…");
    }

    #[test]
    fn debug_hides_the_key() {
        let t = RtmpTarget::split("rtmp://h/app/n?auth_key=SECRET").unwrap();
        assert!(!format!("{t:?}").contains("SECRET"));
    }
}
