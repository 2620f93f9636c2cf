//! Token formats the engine issues.

pub mod saml2;
