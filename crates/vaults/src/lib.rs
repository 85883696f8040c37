//! `vaults`: an embedded, encrypted secrets store with expiry, on SQLite.
//!
//! Which type to use:
//! - [`Vault`]: a plain key-value store in one SQLite file, for config,
//!   caches and sessions. Values are any serde type; entries can expire.
//!   [`Vault::create`] makes a new one, [`Vault::open`] opens one that
//!   exists, [`Vault::open_or_create`] does either.
//! - [`EncryptedVault`]: the same, with every value and name sealed
//!   (XChaCha20-Poly1305), unlocked by a [`Passphrase`] (Argon2id, see
//!   [`KdfParams`]) or the OS [`Keyring`] through key slots. It derefs to
//!   [`Vault`], so a `&Vault` holds either kind.
//! - [`LockedVault`]: an encrypted vault opened without its key: list its
//!   slots, delete expired entries, unlock it.
//! - [`VaultDir`]: named vaults under one root folder (`ROOT/NAME.db`).
//! - [`Store`]: the trait that carries every entry operation (`get`, `put`,
//!   `put_with`, `expire`, `transaction`, ...) for all of the above and
//!   their [`Transaction`]s; [`Expiry`] says what a write does to an
//!   entry's expiry. `use vaults::prelude::*;` brings it in with the
//!   everyday types.
//! - [`OpenOptions`]: durability, busy timeout, size cap, and the [`Clock`]
//!   ([`ManualClock`] tests expiry without sleeping).
//!
//! Every failure is an [`Error`]; none carries a value, a name or a key.
//! The on-disk format is specified in `docs/format.md`, the layers of the
//! code in `docs/architecture.md`, the threat model in `SECURITY.md`.
//!
//! ```
//! use std::time::Duration;
//! use vaults::prelude::*;
//!
//! let dir = tempfile::tempdir()?;
//! let vault = Vault::open_or_create(dir.path().join("app.db"))?;
//! vault.put("api_url", "https://api.example.com")?;
//! vault.put_with_ttl("session:42", &("alice", 7), Duration::from_secs(1800))?;
//! vault.put_with("session:42", &("alice", 8), Expiry::Keep)?;
//! assert_eq!(vault.keys()?, ["api_url", "session:42"]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

// Layers, top to bottom (see docs/architecture.md): the public API uses
// the row codec, crypto and the storage engine; the codec uses crypto;
// nothing below the API names a public handle. `layer_rules` checks it.
mod api;
mod codec;
mod crypto;
mod engine;

// Leaves every layer may use.
mod clock;
mod error;
mod expiry;
mod limits;
mod row;
mod scrub;

#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
#[cfg(test)]
mod layer_rules;

pub use api::legacy;
pub use api::{
    Copied, EncryptedVault, Iter, KeyChange, Keyring, LockedVault, OpenOptions, Progress, SlotInfo,
    Snapshot, Store, Transaction, UnlockedKey, UnreadableRow, Vault, VaultDir, copy_vault,
    is_vault_url, redact_url,
};
pub use clock::{Clock, ManualClock, SystemClock};
pub use codec::cbor::{MAX_ITEMS, check_cbor};
pub use crypto::{KdfCeiling, KdfParams, MAX_SLOTS, Passphrase, SkipReason, SkippedSlot};
pub use engine::Durability;
pub use engine::sqlite::Exposure;
pub use error::{Error, Integrity, Kind, Result};
pub use expiry::{ExpireIf, Expiry, Ttl};
pub use limits::{MAX_NAME_LEN, MAX_VALUE_LEN};
pub use scrub::{WIPE_STACK_LEN, wipe_stack};

/// The everyday types and the [`Store`] trait, for `use vaults::prelude::*;`.
///
/// ```
/// use vaults::prelude::*;
///
/// let vault = Vault::open_in_memory()?;
/// vault.put("k", "v")?; // `Store` is in scope
/// # Ok::<(), vaults::Error>(())
/// ```
pub mod prelude {
    pub use crate::{
        EncryptedVault, ExpireIf, Expiry, KdfParams, LockedVault, OpenOptions, Passphrase,
        Snapshot, Store, Transaction, Ttl, Vault, VaultDir,
    };
}

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;

/// Every handle can be shared across threads (DESIGN: `Vault` is
/// `Send + Sync`, and so is the encrypted one).
#[cfg(test)]
const _: () = {
    const fn shareable<T: Send + Sync>() {}
    shareable::<Vault>();
    shareable::<EncryptedVault>();
    shareable::<LockedVault>();
    shareable::<Keyring>();
};
