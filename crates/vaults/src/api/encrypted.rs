//! [`EncryptedVault`]: creating and opening an encrypted vault, and what
//! an unlocked handle knows. Its key slots are managed in `slots.rs`, its
//! key rotated in `rotate.rs`, its unreadable rows found in `repair.rs`.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Deref;
use std::path::Path;

use super::keyring::Keyring;
use super::locked::{LockedVault, UnlockedKey};
use super::op::{Scope, Scoped, Token};
use super::options::OpenOptions;
use super::slots::keyring_accounts;
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

impl EncryptedVault {
    /// Creates a new encrypted vault at `path` with one passphrase slot (id 1).
    ///
    /// Use [`KdfParams::DEFAULT`] unless you have measured a reason not to.
    ///
    /// ```
    /// use vaults::{Error, EncryptedVault, KdfParams, Passphrase};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("secrets.db");
    /// let pass = Passphrase::new("correct horse battery staple")?;
    /// EncryptedVault::create(&path, &pass, KdfParams::MIN)?;
    /// let again = EncryptedVault::create(&path, &pass, KdfParams::MIN);
    /// assert!(matches!(again, Err(Error::VaultExists { .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::VaultExists`] if `path` exists; [`Error::KdfParams`];
    /// a storage error.
    pub fn create(
        path: impl AsRef<Path>,
        passphrase: &Passphrase,
        params: KdfParams,
    ) -> Result<EncryptedVault> {
        Self::create_with(&OpenOptions::new(), path, passphrase, params)
    }

    /// Opens the encrypted vault at `path`, which must exist, with a
    /// passphrase.
    ///
    /// ```
    /// use vaults::{EncryptedVault, KdfParams, Passphrase};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("secrets.db");
    /// let pass = Passphrase::new("correct horse battery staple")?;
    /// EncryptedVault::create(&path, &pass, KdfParams::MIN)?;
    /// let vault = EncryptedVault::open(&path, &pass)?;
    /// assert_eq!(vault.unlocked_slot(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// As [`LockedVault::open`] and [`LockedVault::unlock`].
    pub fn open(path: impl AsRef<Path>, passphrase: &Passphrase) -> Result<EncryptedVault> {
        Self::open_with(&OpenOptions::new(), path, passphrase)
    }

    /// Opens the encrypted vault at `path` with a passphrase, creating it
    /// (with one passphrase slot under `params`) if it is missing.
    ///
    /// ```
    /// use vaults::{EncryptedVault, KdfParams, Passphrase};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("secrets.db");
    /// let pass = Passphrase::new("correct horse battery staple")?;
    /// let first = EncryptedVault::open_or_create(&path, &pass, KdfParams::MIN)?;
    /// let again = EncryptedVault::open_or_create(&path, &pass, KdfParams::MIN)?;
    /// assert_eq!(first.id(), again.id());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// As [`EncryptedVault::open`] for a vault that exists, as
    /// [`EncryptedVault::create`] for one that does not.
    pub fn open_or_create(
        path: impl AsRef<Path>,
        passphrase: &Passphrase,
        params: KdfParams,
    ) -> Result<EncryptedVault> {
        Self::open_or_create_with(&OpenOptions::new(), path, passphrase, params)
    }

    /// A new encrypted vault in memory (for tests).
    ///
    /// ```
    /// use vaults::{EncryptedVault, KdfParams, Passphrase};
    /// let pass = Passphrase::new("correct horse battery staple")?;
    /// let vault = EncryptedVault::create_in_memory(&pass, KdfParams::MIN)?;
    /// assert_eq!(vault.path(), None);
    /// # Ok::<(), vaults::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`EncryptedVault::create`].
    pub fn create_in_memory(passphrase: &Passphrase, params: KdfParams) -> Result<EncryptedVault> {
        Self::create_in_memory_with(&OpenOptions::new(), passphrase, params)
    }

    /// [`EncryptedVault::create`] with settings (durability, busy timeout,
    /// size cap, clock).
    ///
    /// ```
    /// use vaults::{Durability, EncryptedVault, KdfParams, OpenOptions, Passphrase};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let pass = Passphrase::new("correct horse battery staple")?;
    /// let options = OpenOptions::new().durability(Durability::Normal);
    /// let path = dir.path().join("sessions.db");
    /// EncryptedVault::create_with(&options, &path, &pass, KdfParams::MIN)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// As [`EncryptedVault::create`].
    pub fn create_with(
        options: &OpenOptions,
        path: impl AsRef<Path>,
        passphrase: &Passphrase,
        params: KdfParams,
    ) -> Result<EncryptedVault> {
        Self::create_at(options, Some(path.as_ref()), passphrase, params)
    }

    /// [`EncryptedVault::create_in_memory`] with settings.
    ///
    /// ```
    /// use vaults::{EncryptedVault, KdfParams, ManualClock, OpenOptions, Passphrase};
    ///
    /// let pass = Passphrase::new("correct horse battery staple")?;
    /// let options = OpenOptions::new().clock(ManualClock::new(0));
    /// let vault = EncryptedVault::create_in_memory_with(&options, &pass, KdfParams::MIN)?;
    /// # Ok::<(), vaults::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`EncryptedVault::create`].
    pub fn create_in_memory_with(
        options: &OpenOptions,
        passphrase: &Passphrase,
        params: KdfParams,
    ) -> Result<EncryptedVault> {
        Self::create_at(options, None, passphrase, params)
    }

    /// [`EncryptedVault::open`] with settings.
    ///
    /// ```
    /// use std::time::Duration;
    /// use vaults::{EncryptedVault, KdfParams, OpenOptions, Passphrase};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("secrets.db");
    /// let pass = Passphrase::new("correct horse battery staple")?;
    /// EncryptedVault::create(&path, &pass, KdfParams::MIN)?;
    /// let options = OpenOptions::new().busy_timeout(Duration::from_secs(1));
    /// EncryptedVault::open_with(&options, &path, &pass)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// As [`EncryptedVault::open`].
    pub fn open_with(
        options: &OpenOptions,
        path: impl AsRef<Path>,
        passphrase: &Passphrase,
    ) -> Result<EncryptedVault> {
        LockedVault::open_with(options, path)?.unlock(passphrase)
    }

    /// [`EncryptedVault::open_or_create`] with settings.
    ///
    /// ```
    /// use vaults::{EncryptedVault, KdfParams, OpenOptions, Passphrase};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let pass = Passphrase::new("correct horse battery staple")?;
    /// let path = dir.path().join("secrets.db");
    /// EncryptedVault::open_or_create_with(&OpenOptions::new(), &path, &pass, KdfParams::MIN)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// As [`EncryptedVault::open_or_create`].
    pub fn open_or_create_with(
        options: &OpenOptions,
        path: impl AsRef<Path>,
        passphrase: &Passphrase,
        params: KdfParams,
    ) -> Result<EncryptedVault> {
        let path = path.as_ref();
        match Self::open_with(options, path, passphrase) {
            Err(Error::VaultNotFound { .. }) => {}
            opened => return opened,
        }
        match Self::create_with(options, path, passphrase, params) {
            // Another process created it meanwhile.
            Err(Error::VaultExists { .. }) => Self::open_with(options, path, passphrase),
            created => created,
        }
    }

    /// Creates a vault at `path` (in memory when `None`).
    fn create_at(
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
                path: path.map(super::shown_path).unwrap_or_default(),
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

    /// This vault as a [`Vault`] (what [`Deref`] gives too): the handle
    /// that code written for either kind takes.
    ///
    /// ```
    /// use vaults::{EncryptedVault, KdfParams, Kind, Passphrase};
    /// let pass = Passphrase::new("correct horse battery staple")?;
    /// let vault = EncryptedVault::create_in_memory(&pass, KdfParams::MIN)?;
    /// assert_eq!(vault.as_vault().kind(), Kind::Encrypted);
    /// # Ok::<(), vaults::Error>(())
    /// ```
    pub fn as_vault(&self) -> &Vault {
        &self.vault
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

/// An encrypted vault is a [`Vault`] whose rows are sealed: a `&Vault`
/// holds either kind, so code that reads and writes entries is written once.
///
/// ```
/// use vaults::{EncryptedVault, KdfParams, Passphrase, Store, Vault};
///
/// fn count(vault: &Vault) -> vaults::Result<u64> {
///     vault.len()
/// }
///
/// let pass = Passphrase::new("correct horse battery staple")?;
/// let sealed = EncryptedVault::create_in_memory(&pass, KdfParams::MIN)?;
/// sealed.put("k", "v")?;
/// assert_eq!(count(&sealed)?, 1);
/// assert_eq!(count(&Vault::open_in_memory()?)?, 0);
/// # Ok::<(), vaults::Error>(())
/// ```
impl Deref for EncryptedVault {
    type Target = Vault;

    fn deref(&self) -> &Vault {
        &self.vault
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
