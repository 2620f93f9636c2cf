//! A client certificate whose key this request proved, and who proved it. A chain becomes a
//! [`ProvenChain`] only where possession is checked: the TLS handshake with this server, a
//! TLS offload engine the instance trusts (its header, from its address), or a WS-Security
//! message signature verified with the certificate. The constructors are named after those
//! provers, so a call site says which one vouches.

use std::net::IpAddr;

use super::{EngineError, ProofCertificate};

/// Who proved possession of the certificate's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PossessionProof {
    /// The TLS handshake with this server.
    TlsHandshake,
    /// A TLS offload engine of the instance, which sent the certificate in its header.
    OffloadEngine { host: IpAddr },
    /// A message signature over the body and timestamp, verified with the certificate.
    MessageSignature,
}

/// A certificate chain (DER, leaf first) whose leaf key the request proved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvenChain {
    chain: Vec<Vec<u8>>,
    proof: PossessionProof,
}

impl ProvenChain {
    /// The chain this server's TLS handshake received.
    pub(crate) fn from_tls_handshake(chain: Vec<Vec<u8>>) -> ProvenChain {
        ProvenChain {
            chain,
            proof: PossessionProof::TlsHandshake,
        }
    }

    /// The chain a trusted TLS offload engine at `host` passed on.
    pub(crate) fn from_offload_engine(chain: Vec<Vec<u8>>, host: IpAddr) -> ProvenChain {
        ProvenChain {
            chain,
            proof: PossessionProof::OffloadEngine { host },
        }
    }

    /// The certificate whose key signed the message (verified by the caller).
    pub(crate) fn from_message_signature(cert_der: Vec<u8>) -> ProvenChain {
        ProvenChain {
            chain: vec![cert_der],
            proof: PossessionProof::MessageSignature,
        }
    }

    /// The chain, DER, leaf first.
    pub fn chain(&self) -> &[Vec<u8>] {
        &self.chain
    }

    /// The leaf certificate, DER: the one whose key was proven.
    pub fn leaf(&self) -> Option<&[u8]> {
        self.chain.first().map(Vec::as_slice)
    }

    /// Who proved possession.
    pub fn proof(&self) -> PossessionProof {
        self.proof
    }
}

/// WS-Trust 1.4 §9.2: the requestor of a PublicKey token proves possession of the key it
/// asks to be bound to. A `wst:UseKey` certificate is accepted only when it is the leaf of a
/// chain this request proved (its message signature, its TLS client certificate): anyone
/// can copy a certificate, only its key holder can do either.
pub fn require_possession<'a>(
    cert: &ProofCertificate,
    proven: impl IntoIterator<Item = &'a ProvenChain>,
) -> Result<(), EngineError> {
    if proven.into_iter().any(|p| p.leaf() == Some(cert.der())) {
        return Ok(());
    }
    Err(EngineError::refused(
        "possession of the wst:UseKey key is not proven: sign the message (WS-Security, over the soap:Body and wsu:Timestamp) with that key, or present that certificate as the TLS client certificate",
    ))
}
