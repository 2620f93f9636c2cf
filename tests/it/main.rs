//! Integration tests: one binary; each test starts a real server on a free port. One file per
//! topic; the helpers they share are in `common/`.
// Test code: a panic is a failed test (as clippy.toml's allow-*-in-tests say for #[test]
// functions; the helpers here are test code too).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod adfs;
mod audit;
mod batch;
mod batch_tokens;
mod canonical_sign;
mod claims;
mod cli;
mod cluster;
mod common;
mod console;
mod custom;
mod delegation;
mod encoding;
mod encryption;
mod faults;
mod federation;
mod instances;
mod introspect;
mod issue_path;
mod keys_store;
mod ldap;
mod limits;
mod lockout;
mod logs;
mod master_key;
mod matrix;
mod metrics;
mod openapi;
mod packaging;
mod peers;
mod proof_keys;
mod publish;
mod readme;
mod renew;
mod renew_subject;
mod replay;
mod rest_sts;
mod rotation;
mod saml1;
mod sessions;
mod shared_state;
mod soap_issue;
mod tokengen;
mod trust2005;
mod validate_cancel;
mod validate_token;
mod wsdl;
mod x509;
