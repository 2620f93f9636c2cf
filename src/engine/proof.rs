//! Compatibility paths: the symmetric proof keys' wire forms moved to `wstrust::proof`,
//! P_SHA1 to `crypto::psha1`, and the proof of possession to `engine::possession`.

// compat: remove after issue 15 merge (import these from `wstrust::proof` and `xml::ns`).
pub use crate::wstrust::proof::{
    KEY_SIZES, MAX_ENTROPY, MIN_ENTROPY, Returned, SymmetricProof, SymmetricRequest, make,
};
pub use crate::xml::ns::CK_PSHA1;

// compat: remove after issue 15 merge (see `ProofCertificate::require_possession`).
pub use super::possession::require_possession;
