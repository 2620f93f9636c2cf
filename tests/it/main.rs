//! Integration tests: one binary; each test starts a real server on a free port.

mod cli;
mod common;
mod faults;
mod issue;
mod peers;
mod wsdl;
