//! Token formats the engine issues.

pub mod canonical;
#[cfg(any(test, feature = "test-util"))]
pub mod differential;
pub mod oidc;
pub mod saml1;
pub mod saml2;
pub mod xmlenc;
