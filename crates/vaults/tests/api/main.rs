//! The library's API, one module per suite, in one test binary. (The suites
//! that run many processes are in `tests/processes/`; logging, which needs
//! its callsites to itself, in `tests/logging.rs`.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod bad_input;
mod confidentiality;
mod dict_api;
mod encrypted_api;
mod expiry;
mod fixtures;
mod fuzz_seeds;
mod kdf_bounds;
mod key_change_report;
mod keys;
mod kind_trust;
mod legacy;
mod model;
mod open;
mod repair;
mod server;
mod server_cleanup_sql;
mod server_connection_loss;
mod server_locks;
mod server_tls;
mod tamper;
mod threads;
mod transactions;
