//! Proof of possession of a holder-of-key request's public key. The symmetric proof keys'
//! wire forms moved to `wstrust::proof` and P_SHA1 to `crypto::psha1`.

use super::{EngineError, ProofCertificate};

// compat: remove after issue 15 merge (import these from `wstrust::proof` and `xml::ns`).
pub use crate::wstrust::proof::{
    KEY_SIZES, MAX_ENTROPY, MIN_ENTROPY, Returned, SymmetricProof, SymmetricRequest, make,
};
pub use crate::xml::ns::CK_PSHA1;

/// WS-Trust 1.4 §9.2: the requestor of a PublicKey token proves possession of the key it
/// asks to be bound to. A `wst:UseKey` certificate is accepted only when this request proved
/// its key: `proven` are the certificates (DER) whose keys it did prove, the one that signed
/// the message (WS-Security signature over Body and Timestamp) and the TLS client
/// certificate. Anyone can copy a certificate; only its key holder can do either.
pub fn require_possession<'a>(
    cert: &ProofCertificate,
    proven: impl IntoIterator<Item = &'a [u8]>,
) -> Result<(), EngineError> {
    if proven.into_iter().any(|p| p == cert.der()) {
        return Ok(());
    }
    Err(EngineError::refused(
        "possession of the wst:UseKey key is not proven: sign the message (WS-Security, over the soap:Body and wsu:Timestamp) with that key, or present that certificate as the TLS client certificate",
    ))
}
