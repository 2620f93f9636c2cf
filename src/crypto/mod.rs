//! Cryptographic values and primitives with no XML: keys and certificates, key generation
//! (with the caller's `now`), wire encodings, P_SHA1, and wrapping secrets with the master key
//! (whose file is the only one this module reads). A leaf: it imports only `secret`.

pub mod encoding;
pub mod keygen;
pub mod keys;
pub mod psha1;
pub mod wrap;

pub use keygen::new_key_pair;
pub use keys::{Certificate, KeyKind, SigningKey, fingerprint};
pub use wrap::{MasterKey, REWRAP_ATTEMPTS, RowRewrap, Rewrapped, WrapError};
