//! What the tests of `vaults` and `vaults-cli`, and the fuzz target `ops`,
//! share: the fixed "now" [`T0`], plain vault fixtures on a manual clock,
//! encrypted vaults at the Argon2 floor with raw SQL access to their files,
//! child test processes, and the reference model of a vault's entries.
//!
//! A dev-dependency only: never published, never linked into the library or
//! the binary. Test helpers panic on setup failures by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

pub mod child;
pub mod encrypted;
pub mod engine;
pub mod fixture;
pub mod model;

pub use child::{check_child, child_command, child_env, run_child};
pub use engine::{on_server, vault_location};
pub use fixture::{Fixture, assert_no_leak, memory_with_clock, open_with_clock, sidecars};
pub use model::Model;

/// What every test returns.
pub type TestResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

/// A fixed "now" for the manual clock: 2023-11-14T22:13:20Z.
pub const T0: i64 = 1_700_000_000_000;

/// Seconds as a `Duration`.
pub fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// Milliseconds as a `Duration`.
pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}
