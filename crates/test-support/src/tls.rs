//! A certificate authority made at test time, and a server certificate it signs for this
//! computer's loopback names (`localhost`, `127.0.0.1`, `::1`): what the simulator's HTTPS and
//! nginx's RTMPS front present, and what a test trusts (or, on purpose, does not).

use std::fs;
use std::path::PathBuf;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rtc_golive_simulator::TlsIdentity;

use super::util::TempDir;

/// The test CA, its server certificate, and their files.
pub struct TestCa {
    dir: TempDir,
    identity: TlsIdentity,
}

impl TestCa {
    /// A fresh CA and a server certificate for `localhost`, `127.0.0.1` and `::1`.
    pub fn generate() -> TestCa {
        let ca_key = KeyPair::generate().expect("CA key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "obs-rtc-golive test CA");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_cert = ca_params.self_signed(&ca_key).expect("CA certificate");
        let issuer = Issuer::new(ca_params, ca_key);

        let server_key = KeyPair::generate().expect("server key");
        let mut server_params = CertificateParams::new(vec![
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
            "::1".to_owned(),
        ])
        .expect("server params");
        server_params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        let server_cert = server_params
            .signed_by(&server_key, &issuer)
            .expect("server certificate");

        let dir = TempDir::new("e2e-tls");
        fs::create_dir_all(dir.path().join("trust")).expect("trust dir");
        fs::write(dir.path().join("trust/ca.pem"), ca_cert.pem()).expect("ca.pem");
        fs::write(
            dir.path().join("server.pem"),
            format!("{}{}", server_cert.pem(), ca_cert.pem()),
        )
        .expect("server.pem");
        fs::write(dir.path().join("server.key"), server_key.serialize_pem()).expect("server.key");
        let identity = TlsIdentity {
            cert_chain_der: vec![server_cert.der().to_vec(), ca_cert.der().to_vec()],
            key_pkcs8_der: server_key.serialize_der(),
        };
        TestCa { dir, identity }
    }

    /// The CA certificate (PEM): what `SSL_CERT_FILE` points at to trust it.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("trust/ca.pem")
    }

    /// A directory that holds the CA certificate and nothing else: a stand-in for
    /// `/etc/ssl/certs`, where OBS's RTMP output looks for its roots.
    pub fn trust_dir(&self) -> PathBuf {
        self.dir.path().join("trust")
    }

    /// The server certificate chain (PEM, leaf first), for nginx.
    pub fn server_chain_file(&self) -> PathBuf {
        self.dir.path().join("server.pem")
    }

    /// The server key (PEM), for nginx.
    pub fn server_key_file(&self) -> PathBuf {
        self.dir.path().join("server.key")
    }

    /// The server certificate and key, for the simulator's HTTPS.
    pub fn identity(&self) -> TlsIdentity {
        self.identity.clone()
    }
}
