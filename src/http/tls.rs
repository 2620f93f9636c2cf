//! HTTPS with rustls (ring), for deployments without a TLS proxy, and the way X.509 input
//! reaches the engine: the handshake asks for a client certificate (optional), proves that
//! the client holds its key, and hands the chain to each request as a `Peer`.
//!
//! Whether the chain is *trusted* is not decided here: trust anchors, revocation and the
//! principal mapping are per instance (`x509-trust-anchors`), and the handshake happens
//! before the request names an instance. So the verifier below accepts any chain, but
//! rustls still checks the client's CertificateVerify signature with the chain's key,
//! which is the proof of possession; the engine then validates the chain it was given.

use std::future::Future;
use std::path::Path;
use std::sync::Arc;

use rustls::DigitallySignedStruct;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DistinguishedName, ServerConfig, SignatureScheme};

/// Failures of setting TLS up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{path}: {message}")]
    File { path: String, message: String },
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
}

/// Asks for a client certificate without requiring one, and checks only the handshake
/// signature made with its key (see the module documentation for why).
#[derive(Debug)]
struct PossessionOnly {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for PossessionOnly {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        // Chain trust is the engine's, per instance; nothing is trusted on this basis alone.
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|e| TlsError::File {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

/// The server configuration from a PEM certificate chain and its PEM private key.
pub fn server_config(cert_file: &Path, key_file: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let invalid = |path: &Path, message: String| TlsError::File {
        path: path.display().to_string(),
        message,
    };
    let chain = openssl::x509::X509::stack_from_pem(&read(cert_file)?)
        .map_err(|e| invalid(cert_file, format!("not PEM certificates: {e}")))?;
    if chain.is_empty() {
        return Err(invalid(cert_file, "no certificate".into()));
    }
    let mut certs = Vec::new();
    for c in &chain {
        let der = c.to_der().map_err(|e| invalid(cert_file, e.to_string()))?;
        certs.push(CertificateDer::from(der));
    }
    let key_pem = crate::secret::Secret::new(read(key_file)?);
    let key = openssl::pkey::PKey::private_key_from_pem(key_pem.expose())
        .and_then(|k| k.private_key_to_pkcs8())
        .map_err(|e| invalid(key_file, format!("not a PEM private key: {e}")))?;
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(PossessionOnly {
        algorithms: provider.signature_verification_algorithms,
    });
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs, key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Serves HTTPS until `shutdown` completes, then drains open connections. Handshakes count
/// against `max_connections` and must finish within `header_read_timeout`.
pub async fn serve_tls<S: super::listen::Service>(
    service: S,
    limits: super::Transport,
    listener: tokio::net::TcpListener,
    config: Arc<ServerConfig>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    super::listen::serve_connections(service, limits, listener, Some(acceptor), shutdown).await
}
