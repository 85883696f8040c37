//! `vaults`: an embedded, encrypted secrets store with expiry, on SQLite.

mod clock;
mod error;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{Error, Integrity, Kind, Result};
