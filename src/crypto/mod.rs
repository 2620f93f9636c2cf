//! Cryptographic values and primitives with no file system and no XML: keys and
//! certificates, key generation (with the caller's `now`), wire encodings, and P_SHA1.
//! A leaf: it imports only `secret`.

pub mod encoding;
pub mod keygen;
pub mod keys;
pub mod psha1;

pub use keygen::new_key_pair;
pub use keys::{Certificate, KeyKind, SigningKey, fingerprint};
