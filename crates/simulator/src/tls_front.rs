//! HTTPS for the simulator: a TLS front on the public address that hands each decrypted
//! connection to the plain HTTP server behind it, as a load balancer terminating TLS would.
//!
//! The certificate comes from the caller (the tests make a CA and a server certificate at test
//! time), so a client only trusts the simulator when told to, exactly as with a private CA.

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::thread::{self, JoinHandle};

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::sync::watch;

/// The simulator's server certificate and key.
#[derive(Clone)]
pub struct TlsIdentity {
    /// The certificate chain, leaf first, in DER.
    pub cert_chain_der: Vec<Vec<u8>>,
    /// The leaf's private key, PKCS#8 DER.
    pub key_pkcs8_der: Vec<u8>,
}

impl std::fmt::Debug for TlsIdentity {
    /// Never prints the key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsIdentity")
            .field("certificates", &self.cert_chain_der.len())
            .field("key", &"<redacted>")
            .finish()
    }
}

/// A running TLS front; stops (and closes its connections) when dropped.
pub(crate) struct TlsFront {
    stop: watch::Sender<bool>,
    thread: Option<JoinHandle<()>>,
}

impl TlsFront {
    /// Serves TLS on `listener`, passing each connection's plaintext to `backend`.
    pub(crate) fn start(
        listener: TcpListener,
        backend: SocketAddr,
        identity: &TlsIdentity,
    ) -> io::Result<TlsFront> {
        let chain = identity
            .cert_chain_der
            .iter()
            .map(|der| CertificateDer::from(der.clone()))
            .collect();
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(identity.key_pkcs8_der.clone()));
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(io::Error::other)?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(io::Error::other)?;
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        listener.set_nonblocking(true)?;
        let (stop, mut stopped) = watch::channel(false);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let thread = thread::Builder::new()
            .name("sim-tls-front".to_owned())
            .spawn(move || {
                runtime.block_on(async move {
                    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                        return;
                    };
                    loop {
                        tokio::select! {
                            accepted = listener.accept() => {
                                let Ok((client, _)) = accepted else { continue };
                                tokio::spawn(relay(client, backend, acceptor.clone()));
                            }
                            _ = stopped.changed() => return,
                        }
                    }
                });
            })?;
        Ok(TlsFront {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One connection: the TLS handshake, then bytes both ways until either side closes. A failed
/// handshake (an untrusting client) just closes the connection, as a real server's would.
async fn relay(
    client: tokio::net::TcpStream,
    backend: SocketAddr,
    acceptor: tokio_rustls::TlsAcceptor,
) {
    let Ok(mut tls) = acceptor.accept(client).await else {
        return;
    };
    let Ok(mut plain) = tokio::net::TcpStream::connect(backend).await else {
        return;
    };
    let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{SimConfig, Simulator};
    use std::time::Duration;

    fn identity() -> (TlsIdentity, Vec<u8>) {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned(), "::1".to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let identity = TlsIdentity {
            cert_chain_der: vec![cert.der().to_vec()],
            key_pkcs8_der: key.serialize_der(),
        };
        (identity, cert.der().to_vec())
    }

    fn client(trusted: Option<&[u8]>) -> reqwest::blocking::Client {
        let mut builder = reqwest::blocking::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(10));
        if let Some(der) = trusted {
            builder = builder
                .tls_built_in_root_certs(false)
                .add_root_certificate(reqwest::Certificate::from_der(der).unwrap());
        }
        builder.build().unwrap()
    }

    #[test]
    fn serves_https_on_ipv4_and_ipv6_to_clients_that_trust_it() {
        for listen in ["127.0.0.1:0", "[::1]:0"] {
            let (identity, cert) = identity();
            let sim = Simulator::start(SimConfig {
                listen: listen.to_owned(),
                tls: Some(identity),
                ..SimConfig::default()
            })
            .unwrap();
            let base = sim.base_url();
            assert!(base.starts_with("https://"), "{base}");
            // The ZEGOCLOUD gateway's answer to a request without an AppId, through TLS.
            let answer = client(Some(&cert))
                .get(format!("{base}/?Action=RTMPDispatchV2"))
                .send()
                .unwrap()
                .text()
                .unwrap();
            assert!(answer.contains("100000001"), "{answer}");
            // A client that does not trust the certificate gets no answer at all.
            assert!(client(None).get(format!("{base}/")).send().is_err());
            sim.stop();
        }
    }
}
