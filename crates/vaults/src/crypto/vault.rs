//! [`EncryptedVault`] and [`LockedVault`]: creating, unlocking and managing
//! the key slots of an encrypted vault.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use secrecy::{ExposeSecret, SecretBox};
use zeroize::Zeroizing;

use super::kdf::{self, KdfCeiling, KdfParams, Passphrase};
use super::key_change::KeyChange;
use super::keyring::Keyring;
use super::keys::{SubKeys, VaultKey};
use super::meta::Meta;
use super::sealer::Sealer;
use super::slot::{self, SlotKind, SlotRecord};
use super::unlock_plan::{self, MAX_SLOTS, SkipReason, SkippedSlot};
use crate::storage::{Backend, Envelope, Init, Mode, OpenOptions, Rows, Transaction, Vault};
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
    vault: Vault,
    sealer: Sealer,
    key: VaultKey,
    unlocked_by: u32,
    keyring: Keyring,
    ceiling: KdfCeiling,
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
pub type EncryptedTransaction<'a> = Transaction<'a, Sealer>;

/// What a key slot is, as [`EncryptedVault::slots`] lists it (no secret).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SlotInfo {
    /// A passphrase through Argon2id with these parameters.
    Passphrase {
        /// The slot's id.
        id: u32,
        /// Its Argon2id parameters.
        params: KdfParams,
    },
    /// A random secret held in the OS keyring.
    Keyring {
        /// The slot's id.
        id: u32,
        /// The keyring entry's account name (service `vaults`).
        account: String,
    },
}

impl SlotInfo {
    fn of(id: u32, record: &SlotRecord) -> SlotInfo {
        match record.kind() {
            SlotKind::Passphrase { params, .. } => SlotInfo::Passphrase {
                id,
                params: *params,
            },
            SlotKind::Keyring { account } => SlotInfo::Keyring {
                id,
                account: account.clone(),
            },
        }
    }

    /// The slot's id.
    pub fn id(&self) -> u32 {
        match self {
            SlotInfo::Passphrase { id, .. } | SlotInfo::Keyring { id, .. } => *id,
        }
    }
}

/// The unwrapped vault key of an unlocked vault, for caching an unlock (the
/// CLI keeps it in the kernel keyring for a while). Wiped on drop.
///
/// Whoever holds it can read and write the vault until the key is rotated.
pub struct UnlockedKey(SecretBox<[u8; 32]>);

impl fmt::Debug for UnlockedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("UnlockedKey([redacted])")
    }
}

impl UnlockedKey {
    /// Rebuilds a key from its bytes (as stored by a cache).
    pub fn from_bytes(bytes: Zeroizing<[u8; 32]>) -> Self {
        Self::copy_of(&bytes)
    }

    /// Rebuilds a key from a slice of its bytes, copied straight into the
    /// key's heap buffer; `None` unless it is 32 bytes long.
    ///
    /// ```
    /// use vaults::UnlockedKey;
    /// assert!(UnlockedKey::from_slice(&[7; 32]).is_some());
    /// assert!(UnlockedKey::from_slice(&[7; 31]).is_none());
    /// ```
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        <&[u8; 32]>::try_from(bytes).ok().map(Self::copy_of)
    }

    fn copy_of(bytes: &[u8; 32]) -> Self {
        Self(SecretBox::init_with_mut(|key: &mut [u8; 32]| {
            key.copy_from_slice(bytes)
        }))
    }

    /// The key's bytes, for a cache to store.
    pub fn as_bytes(&self) -> &[u8; 32] {
        self.0.expose_secret()
    }
}

/// An encrypted vault opened without its key: enough to list its key slots,
/// delete expired entries, and unlock it.
///
/// ```
/// use vaults::{EncryptedVault, KdfParams, LockedVault, Passphrase};
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("secrets.db");
/// let pass = Passphrase::new("correct horse battery staple")?;
/// EncryptedVault::create(&path, &pass, KdfParams::MIN)?;
///
/// let locked = LockedVault::open(&path)?;
/// assert_eq!(locked.cleanup_expired()?, 0); // no key needed
/// let vault = locked.unlock(&pass)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct LockedVault {
    vault: Vault,
    meta: Meta,
    keyring: Keyring,
    ceiling: KdfCeiling,
}

impl fmt::Debug for LockedVault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockedVault")
            .field("path", &self.vault.path())
            .finish_non_exhaustive()
    }
}

impl LockedVault {
    /// Opens the encrypted vault at `path` without unlocking it.
    ///
    /// # Errors
    /// [`Error::VaultNotFound`], [`Error::NotAVault`], [`Error::WrongKind`]
    /// for a plain vault, [`Error::UnsupportedVersion`], or
    /// [`Error::Integrity`] for malformed metadata, or
    /// ([`Integrity::Kind`](crate::Integrity::Kind)) for an encrypted vault
    /// whose kind record was set to plain.
    pub fn open(path: impl AsRef<Path>) -> Result<LockedVault> {
        Self::open_with(&OpenOptions::new(), path)
    }

    /// [`LockedVault::open`] with settings (durability, busy timeout, clock);
    /// their `create` setting is ignored.
    ///
    /// # Errors
    /// As [`LockedVault::open`].
    pub fn open_with(options: &OpenOptions, path: impl AsRef<Path>) -> Result<LockedVault> {
        let vault = options.open_kind(Some(path.as_ref()), Kind::Encrypted, None, false)?;
        Self::from_vault(vault)
    }

    fn from_vault(vault: Vault) -> Result<LockedVault> {
        let meta = vault.run(Mode::Snapshot, Meta::read)?;
        Ok(LockedVault {
            vault,
            meta,
            keyring: Keyring::default_store(),
            ceiling: KdfCeiling::DEFAULT,
        })
    }

    /// The Argon2 ceiling and budget of unlocks from now on (default:
    /// [`KdfCeiling::DEFAULT`]). Raise it to open slots written with
    /// parameters above the default ceiling, which an unlock otherwise skips;
    /// the handle keeps it for [`EncryptedVault::rotate`].
    ///
    /// ```
    /// use vaults::{EncryptedVault, KdfCeiling, KdfParams, LockedVault, Passphrase};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("secrets.db");
    /// let pass = Passphrase::new("correct horse battery staple")?;
    /// // A slot above the default ceiling (11 passes), as an older version
    /// // or a deliberate choice may have written it.
    /// let slow = KdfParams::new_within(19 * 1024, 11, 1, &KdfCeiling::HIGHEST)?;
    /// EncryptedVault::create(&path, &pass, slow)?;
    ///
    /// let locked = LockedVault::open(&path)?;
    /// assert_eq!(locked.skipped_slots()?.len(), 1); // skipped by default
    /// let vault = locked.with_kdf_ceiling(KdfCeiling::HIGHEST).unlock(&pass)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_kdf_ceiling(mut self, ceiling: KdfCeiling) -> Self {
        self.ceiling = ceiling;
        self
    }

    /// The passphrase slots that [`LockedVault::unlock`] would skip, with
    /// why: parameters outside the floor and ceiling, or over the budget.
    /// Known before any Argon2 runs, so a caller can warn first.
    ///
    /// # Errors
    /// [`Error::TooManySlots`] for a file with more than [`MAX_SLOTS`] slots.
    pub fn skipped_slots(&self) -> Result<Vec<SkippedSlot>> {
        Ok(unlock_plan::plan(&self.meta, &self.ceiling, None)?.skipped)
    }

    /// The keyring that keyring slots use from now on (default:
    /// [`Keyring::default_store`]).
    pub fn with_keyring(mut self, keyring: Keyring) -> Self {
        self.keyring = keyring;
        self
    }

    /// The vault's random 16-byte id.
    pub fn id(&self) -> [u8; 16] {
        self.vault.id()
    }

    /// The file behind this vault.
    pub fn path(&self) -> Option<&Path> {
        self.vault.path()
    }

    /// The key slots, by id (read when the vault was opened; not yet
    /// authenticated, since that needs the key).
    pub fn slots(&self) -> Vec<SlotInfo> {
        self.meta
            .slots
            .iter()
            .map(|(id, r)| SlotInfo::of(*id, r))
            .collect()
    }

    /// Deletes expired entries without the key (expiries are stored in
    /// clear, and authenticated: a shortened one only deletes early).
    ///
    /// # Errors
    /// A storage error.
    pub fn cleanup_expired(&self) -> Result<u64> {
        self.vault.cleanup_expired()
    }

    /// Deletes the vault file, and the keyring entries of its slots when
    /// the keyring proves them, without the key.
    ///
    /// Slot records are not authenticated before an unlock: one copied from
    /// another vault names that vault's keyring entry. So entries are only
    /// deleted when a keyring slot's secret opens this vault and the
    /// metadata MAC holds under the key it unwraps; then every keyring
    /// slot is this vault's own. Otherwise no keyring entry is touched (use
    /// [`EncryptedVault::destroy`] on an unlocked vault to delete them).
    ///
    /// # Errors
    /// [`Error::Io`] if a file cannot be removed.
    pub fn destroy(self) -> Result<()> {
        let keyring = self.keyring.clone();
        let accounts = match self.proven_by_keyring() {
            true => keyring_accounts(&self.slots()),
            false => Vec::new(),
        };
        self.vault.destroy()?;
        for account in accounts {
            keyring.forget(&account);
        }
        Ok(())
    }

    /// Whether a keyring slot's secret unwraps this vault's key and the
    /// metadata MAC holds under it.
    fn proven_by_keyring(&self) -> bool {
        let vault_id = self.vault.id();
        self.meta.slots.iter().any(|(id, record)| {
            let SlotKind::Keyring { account } = record.kind() else {
                return false;
            };
            let Ok(Some(secret)) = self.keyring.load_secret(account) else {
                return false;
            };
            match record.unwrap(&vault_id, *id, &secret) {
                Ok(key) => self
                    .meta
                    .verify(&SubKeys::derive(&key, &vault_id), &vault_id)
                    .is_ok(),
                Err(_) => false,
            }
        })
    }

    /// Unlocks with a passphrase, trying the passphrase slots within the
    /// bounds, cheapest first, while the Argon2 budget lasts.
    ///
    /// Every slot's parameters are checked against the floor and the ceiling
    /// ([`LockedVault::with_kdf_ceiling`]) before Argon2 runs at all; a slot
    /// outside them, or past the budget, is skipped with a warning (logged,
    /// and listed by [`LockedVault::skipped_slots`]) rather than blocking the
    /// others.
    ///
    /// # Errors
    /// [`Error::TooManySlots`] for a file with more than [`MAX_SLOTS`] slots;
    /// [`Error::KdfParams`] if every passphrase slot was skipped for its
    /// parameters (a downgraded or hostile file, or one that needs a raised
    /// ceiling); [`Error::WrongPassphrase`] if no slot tried opens;
    /// [`Error::Integrity`] if the metadata fails its MAC.
    pub fn unlock(self, passphrase: &Passphrase) -> Result<EncryptedVault> {
        self.unlock_planned(passphrase, None)
    }

    /// Unlocks with a passphrase through slot `id` alone: one Argon2 run,
    /// whatever the other slots ask for.
    ///
    /// ```
    /// use vaults::{EncryptedVault, KdfParams, LockedVault, Passphrase};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("secrets.db");
    /// let pass = Passphrase::new("correct horse battery staple")?;
    /// EncryptedVault::create(&path, &pass, KdfParams::MIN)?;
    /// let vault = LockedVault::open(&path)?.unlock_slot(1, &pass)?;
    /// assert_eq!(vault.unlocked_slot(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::SlotNotFound`] if `id` is not a passphrase slot;
    /// [`Error::KdfParams`] if its parameters are out of bounds;
    /// [`Error::WrongPassphrase`]; otherwise as [`LockedVault::unlock`].
    pub fn unlock_slot(self, id: u32, passphrase: &Passphrase) -> Result<EncryptedVault> {
        self.unlock_planned(passphrase, Some(id))
    }

    fn unlock_planned(self, passphrase: &Passphrase, named: Option<u32>) -> Result<EncryptedVault> {
        let plan = unlock_plan::plan(&self.meta, &self.ceiling, named)?;
        for skipped in &plan.skipped {
            tracing::warn!(slot = skipped.id, "{skipped}");
        }
        let vault_id = self.vault.id();
        let mut opened = None;
        for candidate in &plan.tried {
            tracing::debug!(slot = candidate.id, "deriving the key of a passphrase slot");
            let kek = kdf::derive_kek(passphrase, &candidate.salt, &candidate.params)?;
            match candidate.record.unwrap(&vault_id, candidate.id, &kek) {
                Ok(key) => {
                    opened = Some((key, candidate.id));
                    break;
                }
                Err(Error::WrongPassphrase) => continue,
                Err(e) => return Err(e),
            }
        }
        if let Some((key, id)) = opened {
            return self.finish(key, id);
        }
        // Nothing tried: every passphrase slot was out of bounds (the first
        // within them always fits the budget), and that is what to say.
        let first_skip = plan.skipped.first().map(|s| s.reason);
        match (plan.tried.is_empty(), first_skip) {
            (true, Some(SkipReason::OutOfBounds { reason })) => Err(Error::KdfParams { reason }),
            _ => Err(Error::WrongPassphrase),
        }
    }

    /// Unlocks with a secret held in the keyring, trying each keyring slot.
    ///
    /// # Errors
    /// [`Error::Keyring`] if no keyring slot has its secret in the keyring or
    /// the keyring fails; [`Error::WrongPassphrase`] if a secret is there but
    /// does not open its slot; [`Error::Integrity`] as for [`LockedVault::unlock`].
    pub fn unlock_with_keyring(self, keyring: &Keyring) -> Result<EncryptedVault> {
        unlock_plan::check_slot_count(&self.meta)?;
        let vault_id = self.vault.id();
        let mut wrong = false;
        for (id, record) in &self.meta.slots {
            let SlotKind::Keyring { account } = record.kind() else {
                continue;
            };
            let Some(secret) = keyring.load_secret(account)? else {
                continue;
            };
            match record.unwrap(&vault_id, *id, &secret) {
                Ok(key) => {
                    let id = *id;
                    return self.with_keyring(keyring.clone()).finish(key, id);
                }
                Err(Error::WrongPassphrase) => wrong = true,
                Err(e) => return Err(e),
            }
        }
        Err(match wrong {
            true => Error::WrongPassphrase,
            false => Error::Keyring {
                reason: "no key slot of this vault has its secret in the keyring".into(),
            },
        })
    }

    /// Unlocks with a key cached from [`EncryptedVault::unlocked_key`].
    ///
    /// # Errors
    /// [`Error::WrongPassphrase`] if the key does not open this vault (for
    /// instance after a rotation).
    pub fn unlock_with_key(self, key: &UnlockedKey) -> Result<EncryptedVault> {
        unlock_plan::check_slot_count(&self.meta)?;
        let key = VaultKey::copy_of(key.as_bytes());
        let slot = *self
            .meta
            .slots
            .keys()
            .next()
            .ok_or(Error::Integrity(crate::Integrity::Metadata))?;
        self.finish(key, slot).map_err(|e| match e {
            Error::Integrity(_) => Error::WrongPassphrase,
            other => other,
        })
    }

    /// Checks the metadata MAC under the unwrapped key and builds the handle.
    fn finish(self, key: VaultKey, unlocked_by: u32) -> Result<EncryptedVault> {
        let vault_id = self.vault.id();
        let keys = SubKeys::derive(&key, &vault_id);
        self.meta.verify(&keys, &vault_id)?;
        tracing::debug!("unlocked an encrypted vault");
        Ok(EncryptedVault {
            sealer: Sealer::new(keys, vault_id, self.meta.generation),
            vault: self.vault,
            key,
            unlocked_by,
            keyring: self.keyring,
            ceiling: self.ceiling,
        })
    }
}

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
        super::random::fill_secret(&mut vault_id)?;
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
        let vault = options.open_kind(path, Kind::Encrypted, Some(&init), true)?;
        if vault.id() != vault_id {
            // Only possible if another process created the same file first.
            return Err(Error::VaultExists {
                path: path.map(Path::to_owned).unwrap_or_default(),
            });
        }
        Ok(EncryptedVault {
            vault,
            sealer: Sealer::new(keys, vault_id, meta.generation),
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
        self.sealer.generation()
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

    pub(crate) fn storage(&self) -> &Vault {
        &self.vault
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

    /// The key slots, by id, as authenticated now.
    ///
    /// # Errors
    /// [`Error::Integrity`] if the metadata fails its MAC.
    pub fn slots(&self) -> Result<Vec<SlotInfo>> {
        let meta = self.with_rows(Mode::Snapshot, |rows| self.read_meta(rows))?;
        Ok(meta
            .slots
            .iter()
            .map(|(id, r)| SlotInfo::of(*id, r))
            .collect())
    }

    /// Adds a passphrase slot (a second passphrase, or a recovery one);
    /// returns its id.
    ///
    /// # Errors
    /// [`Error::TooManySlots`] if the vault holds [`MAX_SLOTS`] already;
    /// [`Error::KdfParams`], [`Error::Integrity`] for tampered metadata, a
    /// storage error.
    pub fn add_passphrase_slot(&self, passphrase: &Passphrase, params: KdfParams) -> Result<u32> {
        // A full vault is refused before seconds of Argon2 are spent on it;
        // `edit_slots` checks again under the write lock.
        let meta = self.with_rows(Mode::Snapshot, |rows| self.read_meta(rows))?;
        next_free_slot(&meta)?;
        let salt = slot::new_salt()?;
        // Argon2 runs before the write lock is taken.
        let kek = kdf::derive_kek(passphrase, &salt, &params)?;
        self.edit_slots(|meta| {
            let id = next_free_slot(meta)?;
            let record = SlotRecord::wrap(
                &self.id(),
                id,
                SlotKind::Passphrase { params, salt },
                &kek,
                &self.key,
            )?;
            meta.slots.insert(id, record);
            Ok(id)
        })
    }

    /// Adds a slot whose secret is a fresh random key stored in this
    /// handle's keyring; returns its id.
    ///
    /// # Errors
    /// [`Error::Keyring`] if the keyring refuses it; otherwise as
    /// [`EncryptedVault::add_passphrase_slot`].
    pub fn add_keyring_slot(&self) -> Result<u32> {
        let (account, secret) = new_keyring_secret(&self.keyring, &self.id())?;
        let added = self.edit_slots(|meta| {
            let id = next_free_slot(meta)?;
            let kind = SlotKind::Keyring {
                account: account.clone(),
            };
            meta.slots.insert(
                id,
                SlotRecord::wrap(&self.id(), id, kind, &secret, &self.key)?,
            );
            Ok(id)
        });
        if added.is_err() {
            self.keyring.forget(&account);
        }
        added
    }

    /// Removes a key slot (and its keyring entry, for a keyring slot).
    /// Afterwards the WAL is checkpointed and truncated so the removed slot
    /// does not linger; the [`KeyChange`] says whether that was done.
    ///
    /// # Errors
    /// [`Error::SlotNotFound`]; [`Error::LastSlot`] if no passphrase slot
    /// would remain (the keyring is never the only way in).
    pub fn remove_slot(&self, id: u32) -> Result<KeyChange> {
        let removed = self.edit_slots(|meta| {
            let removed = meta.slots.remove(&id).ok_or(Error::SlotNotFound { id })?;
            let passphrase_left = meta
                .slots
                .values()
                .any(|r| matches!(r.kind(), SlotKind::Passphrase { .. }));
            if !passphrase_left {
                return Err(Error::LastSlot);
            }
            Ok(removed)
        })?;
        if let SlotKind::Keyring { account } = removed.kind() {
            self.keyring.forget(account);
        }
        Ok(self.scrub_wal())
    }

    /// Changes the passphrase of slot `id` (usually
    /// [`unlocked_slot`](EncryptedVault::unlocked_slot)): the vault key is
    /// wrapped again under the new passphrase with a fresh salt. No entry is
    /// re-encrypted. Afterwards the WAL is checkpointed and truncated so the
    /// old wrapped key does not linger; the [`KeyChange`] says whether that
    /// was done (another connection can keep it from happening).
    ///
    /// # Errors
    /// [`Error::SlotNotFound`] if `id` is not a passphrase slot;
    /// [`Error::KdfParams`]; [`Error::Integrity`] for tampered metadata.
    pub fn change_passphrase(
        &self,
        id: u32,
        new: &Passphrase,
        params: KdfParams,
    ) -> Result<KeyChange> {
        let salt = slot::new_salt()?;
        let kek = kdf::derive_kek(new, &salt, &params)?;
        self.edit_slots(|meta| {
            match meta.slots.get(&id).map(SlotRecord::kind) {
                Some(SlotKind::Passphrase { .. }) => {}
                _ => return Err(Error::SlotNotFound { id }),
            }
            let record = SlotRecord::wrap(
                &self.id(),
                id,
                SlotKind::Passphrase { params, salt },
                &kek,
                &self.key,
            )?;
            meta.slots.insert(id, record);
            Ok(())
        })?;
        Ok(self.scrub_wal())
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

    /// Reads the metadata and checks it against this handle's keys.
    pub(crate) fn read_meta(&self, rows: &Rows<'_>) -> Result<Meta> {
        let meta = Meta::read(rows)?;
        meta.verify(self.sealer.keys(), &self.id())?;
        Ok(meta)
    }

    /// Changes the slots in one write transaction: the metadata is read and
    /// authenticated first (so a tampered slot is never signed by us), then
    /// `edit` runs, then everything is written back under a new MAC.
    fn edit_slots<R>(&self, edit: impl FnOnce(&mut Meta) -> Result<R>) -> Result<R> {
        self.with_rows(Mode::Write, |rows| {
            let mut meta = self.read_meta(rows)?;
            let out = edit(&mut meta)?;
            meta.write(rows, self.sealer.keys(), &self.id())?;
            Ok(out)
        })
    }

    pub(crate) fn replace_keys(&mut self, key: VaultKey, sealer: Sealer) {
        self.key = key;
        self.sealer = sealer;
    }
}

/// The id of a new slot, unless the vault already holds [`MAX_SLOTS`].
fn next_free_slot(meta: &Meta) -> Result<u32> {
    if meta.slots.len() >= MAX_SLOTS {
        return Err(Error::TooManySlots { max: MAX_SLOTS });
    }
    meta.next_slot_id()
}

/// The keyring accounts of `slots`.
fn keyring_accounts(slots: &[SlotInfo]) -> Vec<String> {
    slots
        .iter()
        .filter_map(|s| match s {
            SlotInfo::Keyring { account, .. } => Some(account.clone()),
            SlotInfo::Passphrase { .. } => None,
        })
        .collect()
}

/// A fresh 32-byte secret stored in `keyring` under a fresh account name.
pub(crate) fn new_keyring_secret(
    keyring: &Keyring,
    vault_id: &[u8; 16],
) -> Result<(String, Box<Zeroizing<[u8; 32]>>)> {
    let mut secret = Box::new(Zeroizing::new([0u8; 32]));
    super::random::fill_secret(secret.as_mut_slice())?;
    let mut tag = [0u8; 6];
    super::random::fill_secret(&mut tag)?;
    let account = format!("{}-{}", hex(vault_id), hex(&tag));
    keyring.store_secret(&account, &secret)?;
    Ok((account, secret))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Backend for EncryptedVault {
    type Env = Sealer;

    fn env(&self) -> &Sealer {
        &self.sealer
    }

    fn now_ms(&self) -> i64 {
        Backend::now_ms(&self.vault)
    }

    fn with_rows<R>(&self, mode: Mode, f: impl FnOnce(&Rows<'_>) -> Result<R>) -> Result<R> {
        // Every write checks, under the write lock, that no other handle
        // rotated the key: a write under old keys would be unreadable.
        let mode = match mode {
            Mode::Single => Mode::Write,
            other => other,
        };
        self.vault.run(mode, |rows| {
            if mode == Mode::Write {
                self.sealer.check_current(rows)?;
            }
            f(rows)
        })
    }
}

impl Store for EncryptedVault {}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

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
