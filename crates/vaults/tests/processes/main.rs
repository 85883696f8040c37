//! The suites that run many processes at once on one vault file (crash
//! kills, concurrent writers, a creation race, other users) in a test binary
//! of their own: their child processes re-run this binary, for an ignored
//! child test named `module::test`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod concurrency;
mod crash;
mod creation_race;
mod hostile_files;
mod server;
