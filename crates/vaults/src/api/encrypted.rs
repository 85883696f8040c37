//! [`EncryptedVault`]: creating and opening an encrypted vault, and what
//! an unlocked handle knows. Its key slots are managed in `slots.rs`, its
//! key rotated in `rotate.rs`, its unreadable rows found in `repair.rs`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use super::keyring::Keyring;
use super::locked::{LockedVault, UnlockedKey};
use super::op::{Scope, Scoped, Token};
use super::options::OpenOptions;
use super::slots::keyring_accounts;
use super::transaction::Transaction;
use super::vault::Vault;
use crate::codec::{Codec, Sealer};
use crate::crypto::kdf::{self, KdfCeiling, KdfParams, Passphrase};
use crate::crypto::keys::{SubKeys, VaultKey};
use crate::crypto::meta::Meta;
use crate::crypto::random;
use crate::crypto::slot::{self, SlotKind, SlotRecord};
use crate::engine::Init;
use crate::{Error, Kind, Result, Store};

/// An encrypted vault: every value and name sealed, keys unlocked from a
/// passphrase or the OS keyring through key slots.
///
/// Every everyday operation is in the [`Store`] trait, exactly as for a
/// plain [`Vault`]. Create one with [`EncryptedVault::create`]; open one with
/// [`EncryptedVault::open`] (passphrase), or through [`LockedVault`] for
/// other ways in.
///
/// ```
/// use vaults::{EncryptedVault, KdfParams, Passphrase, Store};
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("secrets.db");
/// let pass = Passphrase::new("correct horse battery staple")?;
/// # let params = KdfParams::MIN; // tests use the floor; real vaults KdfParams::DEFAULT
/// let vault = EncryptedVault::create(&path, &pass, params)?;
/// vault.put("db/password", "s3cr3t")?;
/// drop(vault);
///
/// let vault = EncryptedVault::open(&path, &pass)?;
/// assert_eq!(vault.get::<String>("db/password")?.as_deref(), Some("s3cr3t"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct EncryptedVault {
    /// The vault, with a sealing codec.
    pub(super) vault: Vault,
    pub(super) key: VaultKey,
    pub(super) unlocked_by: u32,
    pub(super) keyring: Keyring,
    pub(super) ceiling: KdfCeiling,
}

impl fmt::Debug for EncryptedVault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncryptedVault")
            .field("path", &self.vault.path())
            .field("keys", &"[redacted]")
            .finish_non_exhaustive()
    }
}

/// A transaction on an [`EncryptedVault`].
pub type EncryptedTransaction<'a> = Transaction<'a>;

impl EncryptedVault {
    /// Creates a new encrypted vault at `path` with one passphrase slot.
    ///
    /// Use [`KdfParams::DEFAULT`] unless you have measured a reason not to.
    ///
    /// # Errors
    /// [`Error::VaultExists`] if `path` exists; [`Error::KdfParams`];
    /// a storage error.
    pub fn create(
        path: impl AsRef<Path>,
        passphrase: &Passphrase,
        params: KdfParams,
    ) -> Result<EncryptedVault> {
        Self::create_with(&OpenOptions::new(), Some(path.as_ref()), passphrase, params)
    }

    /// A new encrypted vault in memory (for tests).
    ///
    /// # Errors
    /// As [`EncryptedVault::create`].
    pub fn create_in_memory(passphrase: &Passphrase, params: KdfParams) -> Result<EncryptedVault> {
        Self::create_with(&OpenOptions::new(), None, passphrase, params)
    }

    /// [`EncryptedVault::create`] with settings (durability, busy timeout,
    /// clock); `None` for a vault in memory.
    ///
    /// # Errors
    /// As [`EncryptedVault::create`].
    pub fn create_with(
        options: &OpenOptions,
        path: Option<&Path>,
        passphrase: &Passphrase,
        params: KdfParams,
    ) -> Result<EncryptedVault> {
        let mut vault_id = [0u8; 16];
        random::fill_secret(&mut vault_id)?;
        let key = VaultKey::generate()?;
        let salt = slot::new_salt()?;
        let kek = kdf::derive_kek(passphrase, &salt, &params)?;
        let record = SlotRecord::wrap(
            &vault_id,
            1,
            SlotKind::Passphrase { params, salt },
            &kek,
            &key,
        )?;
        let meta = Meta::new(BTreeMap::from([(1, record)]));
        let keys = SubKeys::derive(&key, &vault_id);
        let records = meta.records(&keys, &vault_id);
        let init = Init {
            vault_id: Some(vault_id),
            meta: &records,
        };
        let engine = options.engine(path, Kind::Encrypted, Some(&init), true)?;
        if engine.vault_id() != vault_id {
            // Only possible if another process created the same file first.
            return Err(Error::VaultExists {
                path: path.map(Path::to_owned).unwrap_or_default(),
            });
        }
        let sealer = Sealer::new(keys, vault_id, meta.generation);
        Ok(EncryptedVault {
            vault: Vault::from_parts(engine, Codec::Sealed(sealer)),
            key,
            unlocked_by: 1,
            keyring: Keyring::default_store(),
            ceiling: KdfCeiling::DEFAULT,
        })
    }

    /// Opens the encrypted vault at `path` with a passphrase.
    ///
    /// # Errors
    /// As [`LockedVault::open`] and [`LockedVault::unlock`].
    pub fn open(path: impl AsRef<Path>, passphrase: &Passphrase) -> Result<EncryptedVault> {
        LockedVault::open(path)?.unlock(passphrase)
    }

    /// The file behind this vault (`None` in memory).
    pub fn path(&self) -> Option<&Path> {
        self.vault.path()
    }

    /// The vault's random 16-byte id.
    pub fn id(&self) -> [u8; 16] {
        self.vault.id()
    }

    /// The current key generation (1 at creation, +1 per rotation).
    pub fn generation(&self) -> u32 {
        self.vault.codec.sealer().map_or(0, Sealer::generation)
    }

    /// The id of the slot this handle was unlocked with.
    pub fn unlocked_slot(&self) -> u32 {
        self.unlocked_by
    }

    /// The keyring that keyring slots use from now on.
    pub fn set_keyring(&mut self, keyring: Keyring) {
        self.keyring = keyring;
    }

    pub(crate) fn keyring(&self) -> &Keyring {
        &self.keyring
    }

    /// The sealer of the vault (always there: the handle is built with one).
    pub(crate) fn sealer(&self) -> Result<&Sealer> {
        self.vault.codec.sealer().ok_or(Error::WrongKind {
            expected: Kind::Encrypted,
            found: Kind::Plain,
        })
    }

    /// The Argon2 ceiling this handle was unlocked under (see
    /// [`LockedVault::with_kdf_ceiling`]); [`EncryptedVault::rotate`] checks
    /// every slot against it.
    pub fn kdf_ceiling(&self) -> KdfCeiling {
        self.ceiling
    }

    /// The vault key, for caching this unlock (see [`UnlockedKey`]).
    pub fn unlocked_key(&self) -> UnlockedKey {
        UnlockedKey::copy_of(self.key.expose())
    }

    /// Closes the connection.
    ///
    /// # Errors
    /// [`Error::Sqlite`] if SQLite fails to close cleanly.
    pub fn close(self) -> Result<()> {
        self.vault.close()
    }

    /// Closes the vault, deletes its file, and removes its keyring entries.
    ///
    /// # Errors
    /// [`Error::Io`] if a file cannot be removed.
    pub fn destroy(self) -> Result<()> {
        // Authenticated now: a slot added behind our back fails the MAC,
        // and then no keyring entry is touched.
        let accounts = keyring_accounts(&self.slots().unwrap_or_default());
        let keyring = self.keyring.clone();
        self.vault.destroy()?;
        for account in accounts {
            keyring.forget(&account);
        }
        Ok(())
    }

    /// Puts a new key in place (after a rotation).
    pub(crate) fn replace_keys(&mut self, key: VaultKey, codec: Codec) {
        self.key = key;
        self.vault.replace_codec(codec);
    }
}

impl Scoped for EncryptedVault {
    fn scope(&self, token: Token) -> Scope<'_> {
        self.vault.scope(token)
    }
}

impl Store for EncryptedVault {}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use crate::MAX_SLOTS;

    /// Regression: the 17th slot was refused only after Argon2 had run on
    /// its parameters. Parameters above every ceiling tell which check ran
    /// first: the KDF's would fail with `KdfParams`.
    #[test]
    fn a_full_vault_refuses_a_slot_before_argon2_runs() {
        let pass = Passphrase::new("correct horse battery staple").unwrap();
        let vault = EncryptedVault::create_in_memory(&pass, KdfParams::MIN).unwrap();
        for _ in 1..MAX_SLOTS {
            vault.add_passphrase_slot(&pass, KdfParams::MIN).unwrap();
        }
        assert_eq!(vault.slots().unwrap().len(), MAX_SLOTS);
        let err = vault
            .add_passphrase_slot(&pass, KdfParams::ABOVE_HIGHEST)
            .unwrap_err();
        assert!(
            matches!(err, Error::TooManySlots { max: MAX_SLOTS }),
            "{err:?}"
        );
    }
}
