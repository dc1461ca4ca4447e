//! The one TLS trust the plugin uses, for the vendor APIs (HTTPS) and for RTMPS nodes alike.
//!
//! Behind a company's TLS-inspecting proxy the certificates are signed by the company's own CA,
//! which lives in the operating system's store, not in any bundled root list. So the trusted
//! roots are the system store (as OpenSSL finds it: `SSL_CERT_FILE`, `SSL_CERT_DIR`, else the
//! distribution's bundle) together with the bundled Mozilla roots, which keep HTTPS working on
//! a system whose store is missing or empty. Verification is never switched off.

use crate::messages::Message;
use once_cell::sync::Lazy;
use rustls::{CertificateError, ClientConfig, RootCertStore};
use std::sync::Arc;

/// The client configuration every TLS connection of the plugin uses.
pub fn client_config() -> Arc<ClientConfig> {
    static CONFIG: Lazy<Arc<ClientConfig>> = Lazy::new(|| Arc::new(build_config()));
    CONFIG.clone()
}

fn build_config() -> ClientConfig {
    let mut roots = RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    let (system, unusable) = roots.add_parsable_certificates(native.certs);
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    // Errors name files and directories only: nothing secret.
    for error in &native.errors {
        log::warn!("TLS: part of the system certificate store could not be read: {error}");
    }
    log::info!(
        "TLS: trusting {system} certificates of the system store ({unusable} unusable) and {} \
         bundled roots",
        webpki_roots::TLS_SERVER_ROOTS.len()
    );
    // ring is the provider reqwest's rustls already brings; naming it here keeps the choice
    // independent of whatever process-wide default another crate may install.
    ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth()
}

/// Why a TLS handshake failed, as far as the streamer can act on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsReason {
    /// The certificate chains to no trusted root (a private CA, or an HTTPS-inspecting proxy
    /// whose CA is not installed).
    UnknownIssuer,
    /// The certificate has expired.
    Expired,
    /// The certificate is not valid yet (often: this computer's clock is behind).
    NotYetValid,
    /// The certificate is valid for other host names.
    NameMismatch,
    /// The certificate was revoked.
    Revoked,
    /// Another problem with the certificate.
    BadCertificate,
    /// The handshake itself failed: the server does not speak TLS, or the network interferes.
    Handshake,
}

impl TlsReason {
    /// The reason found in an error and its sources, if any of them is a rustls error.
    pub fn find(error: &(dyn std::error::Error + 'static)) -> Option<TlsReason> {
        let mut next: Option<&(dyn std::error::Error + 'static)> = Some(error);
        while let Some(e) = next {
            if let Some(tls) = e.downcast_ref::<rustls::Error>() {
                return Some(TlsReason::from_rustls(tls));
            }
            // An I/O error carries rustls's error as its payload (possibly inside another I/O
            // error), and its `source` skips that payload: descend into the payload instead.
            next = match e
                .downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
            {
                Some(payload) => Some(payload as &(dyn std::error::Error + 'static)),
                None => e.source(),
            };
        }
        None
    }

    /// The streamer's view of a rustls error.
    pub fn from_rustls(error: &rustls::Error) -> TlsReason {
        match error {
            rustls::Error::InvalidCertificate(certificate) => match certificate {
                CertificateError::UnknownIssuer => TlsReason::UnknownIssuer,
                CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                    TlsReason::Expired
                }
                CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                    TlsReason::NotYetValid
                }
                CertificateError::NotValidForName
                | CertificateError::NotValidForNameContext { .. } => TlsReason::NameMismatch,
                CertificateError::Revoked => TlsReason::Revoked,
                _ => TlsReason::BadCertificate,
            },
            _ => TlsReason::Handshake,
        }
    }

    /// The localized explanation, shown after the host in the error dialog.
    pub fn message(self) -> Message {
        Message::new(match self {
            TlsReason::UnknownIssuer => "Error.Tls.UnknownIssuer",
            TlsReason::Expired => "Error.Tls.Expired",
            TlsReason::NotYetValid => "Error.Tls.NotYetValid",
            TlsReason::NameMismatch => "Error.Tls.NameMismatch",
            TlsReason::Revoked => "Error.Tls.Revoked",
            TlsReason::BadCertificate => "Error.Tls.BadCertificate",
            TlsReason::Handshake => "Error.Tls.Handshake",
        })
    }

    /// A short English name for the log.
    pub fn as_str(self) -> &'static str {
        match self {
            TlsReason::UnknownIssuer => "unknown issuer",
            TlsReason::Expired => "certificate expired",
            TlsReason::NotYetValid => "certificate not valid yet",
            TlsReason::NameMismatch => "name mismatch",
            TlsReason::Revoked => "certificate revoked",
            TlsReason::BadCertificate => "bad certificate",
            TlsReason::Handshake => "handshake failed",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_errors_map_to_what_the_streamer_can_act_on() {
        let cert = |e| rustls::Error::InvalidCertificate(e);
        assert_eq!(
            TlsReason::from_rustls(&cert(CertificateError::UnknownIssuer)),
            TlsReason::UnknownIssuer
        );
        assert_eq!(
            TlsReason::from_rustls(&cert(CertificateError::Expired)),
            TlsReason::Expired
        );
        assert_eq!(
            TlsReason::from_rustls(&cert(CertificateError::NotValidForName)),
            TlsReason::NameMismatch
        );
        assert_eq!(
            TlsReason::from_rustls(&cert(CertificateError::BadSignature)),
            TlsReason::BadCertificate
        );
        assert_eq!(
            TlsReason::from_rustls(&rustls::Error::DecryptError),
            TlsReason::Handshake
        );
    }

    #[test]
    fn finds_the_reason_inside_an_io_error() {
        let io = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer),
        );
        assert_eq!(TlsReason::find(&io), Some(TlsReason::UnknownIssuer));
        // As reqwest's connector wraps it: an I/O error inside an I/O error.
        let wrapped = std::io::Error::other(io);
        assert_eq!(TlsReason::find(&wrapped), Some(TlsReason::UnknownIssuer));
        let plain = std::io::Error::other("connection reset");
        assert_eq!(TlsReason::find(&plain), None);
    }
}
