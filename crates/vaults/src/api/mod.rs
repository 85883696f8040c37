//! The public API: vault handles, their options, transactions, and the
//! [`Store`] operations, each written once over the engine and the codec.
//!
//! An operation takes its handle's [`Scope`](op::Scope), asks the codec for
//! the stored key, runs once on the engine's rows, and opens what it read
//! through the codec (`read.rs`, `write.rs`, `ttl.rs`, `iter.rs`).

mod copy;
mod dir;
mod encrypted;
mod iter;
mod key_change;
mod keyring;
pub mod legacy;
mod locked;
mod meta_io;
mod op;
mod options;
mod parallel;
mod read;
mod repair;
mod rotate;
mod slots;
mod snapshot;
mod store;
mod transaction;
mod ttl;
mod url;
mod vault;
mod write;

pub use copy::{Copied, copy_vault};
pub use dir::VaultDir;
pub use encrypted::EncryptedVault;
pub use iter::Iter;
pub use key_change::KeyChange;
pub use keyring::Keyring;
pub use locked::{LockedVault, UnlockedKey};
pub use options::OpenOptions;
pub use repair::UnreadableRow;
pub use rotate::Progress;
pub use slots::SlotInfo;
pub use snapshot::Snapshot;
pub use store::Store;
pub use transaction::Transaction;
pub(crate) use url::shown_path;
pub use url::{is_vault_url, redact_url};
pub use vault::Vault;
