//! Integration tests: one binary; each test starts a real server on a free port.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod cancel;
mod cli;
mod common;
mod custom;
mod encoding;
mod faults;
mod instances;
mod introspect;
mod issue;
mod issue_path;
mod limits;
mod lockout;
mod matrix;
mod openapi;
mod peers;
mod readme;
mod rest;
mod sessions;
mod tokens;
mod wsdl;
