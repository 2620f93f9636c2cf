//! Token formats the engine issues.

pub mod oidc;
pub mod saml1;
pub mod saml2;
pub mod xmlenc;
