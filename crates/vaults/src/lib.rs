//! `vaults`: an embedded, encrypted secrets store with expiry, on SQLite.
//!
//! Which type to use:
//! - [`Vault`]: a plain key-value store in one SQLite file, for config,
//!   caches and sessions. Values are any serde type; entries can expire.
//! - [`EncryptedVault`]: the same, with every value and name sealed
//!   (XChaCha20-Poly1305), unlocked by a [`Passphrase`] (Argon2id, see
//!   [`KdfParams`]) or the OS [`Keyring`] through key slots.
//! - [`LockedVault`]: an encrypted vault opened without its key: list its
//!   slots, delete expired entries, unlock it.
//! - [`VaultDir`]: named vaults under one root folder (`ROOT/NAME.db`).
//! - [`Store`]: the trait that carries every operation (`get`, `put`,
//!   `put_with_ttl`, `expire`, `transaction`, ...) for all of the above and
//!   their [`Transaction`]s. Import it with the type.
//! - [`OpenOptions`]: durability, busy timeout, size cap, and the [`Clock`]
//!   ([`ManualClock`] tests expiry without sleeping).
//!
//! Every failure is an [`Error`]; none carries a value, a name or a key.
//! The on-disk format is specified in `docs/format.md`; the threat model in
//! `SECURITY.md`.
//!
//! ```
//! use std::time::Duration;
//! use vaults::{Store, Vault};
//!
//! let dir = tempfile::tempdir()?;
//! let vault = Vault::open(dir.path().join("app.db"))?;
//! vault.put("api_url", "https://api.example.com")?;
//! vault.put_with_ttl("session:42", &("alice", 7), Duration::from_secs(1800))?;
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

pub use api::{
    EncryptedTransaction, EncryptedVault, Iter, KeyChange, Keyring, LockedVault, OpenOptions,
    Progress, SlotInfo, Snapshot, Store, Transaction, UnlockedKey, UnreadableRow, Vault, VaultDir,
};
pub use clock::{Clock, ManualClock, SystemClock};
pub use codec::cbor::{MAX_ITEMS, check_cbor};
pub use crypto::{KdfCeiling, KdfParams, MAX_SLOTS, Passphrase, SkipReason, SkippedSlot};
pub use engine::Durability;
pub use engine::sqlite::Exposure;
pub use error::{Error, Integrity, Kind, Result};
pub use expiry::{ExpireIf, Ttl};
pub use limits::{MAX_NAME_LEN, MAX_VALUE_LEN};
pub use scrub::{WIPE_STACK_LEN, wipe_stack};

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
