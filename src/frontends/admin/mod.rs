//! Admin APIs: instances (`/sts-publish`), persisted tokens (`/sts-tokengen`) and OAuth
//! clients (`/sts-clients`), each behind the admin guard.

pub mod clients;
pub mod guard;
pub mod publish;
pub mod tokengen;
