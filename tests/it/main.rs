//! Integration tests: one binary; each test starts a real server on a free port.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod cli;
mod common;
mod custom;
mod faults;
mod introspect;
mod issue;
mod limits;
mod matrix;
mod openapi;
mod peers;
mod rest;
mod sessions;
mod tokens;
mod wsdl;
