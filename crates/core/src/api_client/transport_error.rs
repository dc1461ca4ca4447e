//! Why a call produced no HTTP response, read from reqwest's error chain into what the
//! streamer can act on.

use crate::messages::Message;
use crate::tls::TlsReason;
use std::time::{Duration, Instant};

/// Why a call produced no HTTP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportError {
    /// The API host name did not resolve.
    Dns { host: String },
    /// The host refused or did not accept the connection.
    Connect { host: String },
    /// The TLS handshake failed (certificate, protocol), and why.
    Tls { host: String, reason: TlsReason },
    /// The proxy refused to open a tunnel to the host (e.g. it wants credentials).
    Proxy { host: String, proxy: String },
    /// The call did not finish within the deadline.
    Timeout { host: String, after: Duration },
    /// The body was larger than [`MAX_BODY_BYTES`](super::MAX_BODY_BYTES).
    TooLarge { host: String },
    /// Anything else, with a detail that never contains the request URL.
    Other { host: String, detail: String },
    /// OBS is shutting down and the call was abandoned.
    Cancelled { host: String },
}

crate::error_via_message!(TransportError);

impl TransportError {
    /// The text for OBS's error dialog.
    pub fn message(&self) -> Message {
        match self {
            TransportError::Dns { host } => Message::new("Error.Net.Dns").text(host),
            TransportError::Connect { host } => Message::new("Error.Net.Connect").text(host),
            TransportError::Tls { host, reason } => Message::new("Error.Net.Tls")
                .text(host)
                .message_arg(reason.message()),
            TransportError::Proxy { host, proxy } => {
                Message::new("Error.Net.Proxy").text(host).text(proxy)
            }
            TransportError::Timeout { host, after } => Message::new("Error.Net.Timeout")
                .text(host)
                .text(format!("{:.1}", after.as_secs_f64())),
            TransportError::TooLarge { host } => Message::new("Error.Net.TooLarge").text(host),
            TransportError::Other { host, detail } => {
                Message::new("Error.Net.Other").text(host).text(detail)
            }
            TransportError::Cancelled { host } => Message::new("Error.Net.Cancelled").text(host),
        }
    }
}

/// How a TLS handshake that ended without a rustls error reads in the error chain.
const TLS_ERROR_TEXTS: &[&str] = &["tls handshake", "handshake eof"];

/// Maps reqwest's error to what the streamer can act on, from its source chain.
pub(super) fn classify(
    host: &str,
    proxy: Option<&str>,
    started: Instant,
    e: reqwest::Error,
) -> TransportError {
    let host = host.to_string();
    if e.is_timeout() {
        return TransportError::Timeout {
            host,
            after: started.elapsed(),
        };
    }
    if let Some(reason) = TlsReason::find(&e) {
        return TransportError::Tls { host, reason };
    }
    let chain = error_chain(&e).to_ascii_lowercase();
    if chain.contains("dns error") || chain.contains("failed to lookup address") {
        TransportError::Dns { host }
    } else if TLS_ERROR_TEXTS.iter().any(|text| chain.contains(text)) {
        // A handshake cut short (the peer closed, or sent no TLS at all) is no rustls error.
        TransportError::Tls {
            host,
            reason: TlsReason::Handshake,
        }
    } else if let (Some(proxy), true) = (proxy, chain.contains("tunnel error")) {
        // hyper-util's CONNECT tunnel: the proxy answered, but not with a tunnel.
        TransportError::Proxy {
            host,
            proxy: proxy.to_string(),
        }
    } else if e.is_connect() {
        TransportError::Connect { host }
    } else {
        TransportError::Other {
            host,
            detail: e.without_url().to_string(),
        }
    }
}

fn error_chain(e: &reqwest::Error) -> String {
    let mut text = String::new();
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(&s.to_string());
        text.push_str(": ");
        source = s.source();
    }
    text
}
