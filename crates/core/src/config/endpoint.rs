//! The vendor API endpoint: HTTPS, or plain HTTP to this computer only.
//!
//! Plain HTTP would send signed requests (and, for Alibaba, an ingest URL carrying auth_key) in
//! clear over the network; it is allowed for loopback hosts so the bundled simulator and the
//! tests can run without certificates.

use super::{fields::Field, ConfigError};
use std::net::IpAddr;
use url::Url;

/// A validated API base URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    url: Url,
}

impl Endpoint {
    /// Parses the endpoint setting. A bare host (`rtc-api-sha.zego.im`) means HTTPS.
    pub fn parse(field: &Field, raw: &str) -> Result<Self, ConfigError> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(ConfigError::new(field, "Error.Config.Missing"));
        }
        let with_scheme = if raw.contains("://") {
            raw.to_string()
        } else {
            format!("https://{raw}")
        };
        let url = Url::parse(&with_scheme)
            .map_err(|e| ConfigError::new(field, "Error.Config.BadUrl").with(e.to_string()))?;
        if url.host().is_none() || !url.username().is_empty() || url.password().is_some() {
            return Err(ConfigError::new(field, "Error.Config.BadUrl").with(raw));
        }
        match url.scheme() {
            "https" => {}
            "http" if is_loopback(&url) => {}
            _ => return Err(ConfigError::new(field, "Error.Config.EndpointScheme")),
        }
        Ok(Endpoint { url })
    }

    /// The URL of the API root (`<scheme>://<host>[:port]/`), to which the query is appended.
    pub fn root(&self) -> Url {
        let mut root = self.url.clone();
        root.set_path("/");
        root.set_query(None);
        root.set_fragment(None);
        root
    }

    /// `path` under the endpoint's own path (`https://h/broker` + `/v1/golive` gives
    /// `https://h/broker/v1/golive`), for APIs a platform may serve below a prefix.
    pub fn join(&self, path: &str) -> Url {
        let mut url = self.url.clone();
        let base = url.path().trim_end_matches('/').to_string();
        url.set_path(&format!("{base}{path}"));
        url.set_query(None);
        url.set_fragment(None);
        url
    }

    /// The host name, for logs and messages.
    pub fn host(&self) -> String {
        self.url.host_str().unwrap_or_default().to_string()
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::fields::ZEGO;

    fn field() -> &'static Field {
        ZEGO.iter()
            .find(|f| f.key == "endpoint")
            .expect("endpoint field")
    }

    fn parse(raw: &str) -> Result<Endpoint, &'static str> {
        Endpoint::parse(field(), raw).map_err(|e| e.message.key)
    }

    #[test]
    fn https_and_bare_hosts_are_accepted() {
        assert_eq!(
            parse("https://rtc-api.zego.im").unwrap().root().as_str(),
            "https://rtc-api.zego.im/"
        );
        assert_eq!(
            parse("rtc-api-sha.zego.im").unwrap().root().as_str(),
            "https://rtc-api-sha.zego.im/"
        );
        assert_eq!(
            parse("https://h.example/x?y#z").unwrap().root().as_str(),
            "https://h.example/"
        );
    }

    #[test]
    fn plain_http_only_for_loopback() {
        assert!(parse("http://127.0.0.1:8950").is_ok());
        assert!(parse("http://127.8.9.10").is_ok());
        assert!(parse("http://[::1]:80").is_ok());
        assert!(parse("http://LOCALHOST:1").is_ok());
        assert_eq!(
            parse("http://rtc-api.zego.im"),
            Err("Error.Config.EndpointScheme")
        );
        assert_eq!(parse("http://10.0.0.1"), Err("Error.Config.EndpointScheme"));
        assert_eq!(
            parse("http://localhost.evil.com"),
            Err("Error.Config.EndpointScheme")
        );
        assert_eq!(parse("ftp://127.0.0.1"), Err("Error.Config.EndpointScheme"));
    }

    #[test]
    fn join_keeps_a_path_prefix() {
        let join = |raw: &str| parse(raw).unwrap().join("/v1/golive").to_string();
        assert_eq!(join("https://p.example"), "https://p.example/v1/golive");
        assert_eq!(join("https://p.example/"), "https://p.example/v1/golive");
        assert_eq!(
            join("https://p.example/broker/?x=1"),
            "https://p.example/broker/v1/golive"
        );
    }

    #[test]
    fn garbage_is_refused() {
        assert_eq!(parse(""), Err("Error.Config.Missing"));
        assert_eq!(parse("https://"), Err("Error.Config.BadUrl"));
        assert_eq!(parse("https://user:pw@host"), Err("Error.Config.BadUrl"));
    }
}
