//! The storage layer: SQLite files, rows, and the plain [`Vault`].
//!
//! Nothing above this layer writes SQL.

mod backend;
mod dir;
mod envelope;
mod exposure;
mod file;
mod mark;
mod rows;
pub(crate) mod schema;
mod snapshot;
mod vault;

pub use backend::{Backend, Mode};
pub use dir::VaultDir;
pub use envelope::{Envelope, StoredKey};
pub use exposure::Exposure;
pub use rows::{Resealed, RowRef, Rows};
pub use schema::Durability;
pub(crate) use schema::Init;
pub use snapshot::Snapshot;
pub use vault::{OpenOptions, Transaction, Vault};
