//! [`LockedVault`]: an encrypted vault opened without its key, and the
//! ways to unlock it; [`UnlockedKey`], a cached unlock.

use std::fmt;
use std::path::Path;

use secrecy::{ExposeSecret, SecretBox};
use zeroize::Zeroizing;

use super::encrypted::EncryptedVault;
use super::keyring::Keyring;
use super::meta_io;
use super::options::OpenOptions;
use super::slots::{SlotInfo, keyring_accounts};
use super::vault::Vault;
use crate::codec::{Codec, Sealer};
use crate::crypto::kdf::{self, KdfCeiling, Passphrase};
use crate::crypto::keys::{SubKeys, VaultKey};
use crate::crypto::meta::Meta;
use crate::crypto::slot::SlotKind;
use crate::crypto::unlock_plan::{self, SkipReason, SkippedSlot};
use crate::engine::{Engine, Mode};
use crate::{Error, Kind, Result};

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
    ///
    /// ```
    /// use vaults::{EncryptedVault, KdfParams, Passphrase, Store, UnlockedKey};
    /// use zeroize::Zeroizing;
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("secrets.db");
    /// let pass = Passphrase::new("correct horse battery staple")?;
    /// let vault = EncryptedVault::create(&path, &pass, KdfParams::MIN)?;
    /// vault.put("k", "v")?;
    /// // What a cache kept, read back into a buffer wiped on drop.
    /// let cached = Zeroizing::new(*vault.unlocked_key().as_bytes());
    /// vault.close()?;
    ///
    /// let key = UnlockedKey::from_bytes(cached);
    /// let vault = vaults::LockedVault::open(&path)?.unlock_with_key(&key)?;
    /// assert_eq!(vault.get::<String>("k")?.as_deref(), Some("v"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
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

    pub(super) fn copy_of(bytes: &[u8; 32]) -> Self {
        Self(SecretBox::init_with_mut(|key: &mut [u8; 32]| {
            key.copy_from_slice(bytes)
        }))
    }

    /// The key's bytes, for a cache to store.
    ///
    /// ```
    /// use vaults::{EncryptedVault, KdfParams, Passphrase, UnlockedKey};
    ///
    /// let pass = Passphrase::new("correct horse battery staple")?;
    /// let vault = EncryptedVault::create_in_memory(&pass, KdfParams::MIN)?;
    /// let key = vault.unlocked_key();
    /// let copy = UnlockedKey::from_slice(key.as_bytes()).expect("32 bytes");
    /// assert_eq!(copy.as_bytes(), key.as_bytes());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
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
    engine: Box<dyn Engine>,
    meta: Meta,
    keyring: Keyring,
    ceiling: KdfCeiling,
}

impl fmt::Debug for LockedVault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockedVault")
            .field("path", &self.engine.path())
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

    /// [`LockedVault::open`] with settings (durability, busy timeout, size
    /// cap, clock).
    ///
    /// ```
    /// use std::time::Duration;
    /// use vaults::{EncryptedVault, KdfParams, LockedVault, OpenOptions, Passphrase};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("secrets.db");
    /// let pass = Passphrase::new("correct horse battery staple")?;
    /// EncryptedVault::create(&path, &pass, KdfParams::MIN)?;
    /// let options = OpenOptions::new().busy_timeout(Duration::from_secs(1));
    /// let locked = LockedVault::open_with(&options, &path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// As [`LockedVault::open`].
    pub fn open_with(options: &OpenOptions, path: impl AsRef<Path>) -> Result<LockedVault> {
        let engine = options.engine(Some(path.as_ref()), Kind::Encrypted, None, false)?;
        let meta = engine.with(Mode::Snapshot, meta_io::read)?;
        Ok(LockedVault {
            engine,
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
    /// ```
    /// use vaults::{EncryptedVault, KdfParams, LockedVault, Passphrase};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("secrets.db");
    /// let pass = Passphrase::new("correct horse battery staple")?;
    /// EncryptedVault::create(&path, &pass, KdfParams::MIN)?;
    /// // Every slot is within the default floor and ceiling.
    /// assert!(LockedVault::open(&path)?.skipped_slots()?.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::TooManySlots`] for a file with more than [`MAX_SLOTS`](crate::MAX_SLOTS) slots.
    pub fn skipped_slots(&self) -> Result<Vec<SkippedSlot>> {
        Ok(unlock_plan::plan(&self.meta, &self.ceiling, None)?.skipped)
    }

    /// The keyring that keyring slots use from now on (default:
    /// [`Keyring::default_store`]).
    ///
    /// ```
    /// use vaults::{EncryptedVault, KdfParams, Keyring, LockedVault, Passphrase};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("secrets.db");
    /// let pass = Passphrase::new("correct horse battery staple")?;
    /// // A keyring of this process only (keyring-core's mock store).
    /// let keyring = Keyring::with_store(keyring_core::mock::Store::new()?);
    /// EncryptedVault::create(&path, &pass, KdfParams::MIN)?;
    ///
    /// // The unlocked handle adds keyring slots to this keyring.
    /// let vault = LockedVault::open(&path)?.with_keyring(keyring.clone()).unlock(&pass)?;
    /// vault.add_keyring_slot()?;
    /// vault.close()?;
    /// LockedVault::open(&path)?.unlock_with_keyring(&keyring)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_keyring(mut self, keyring: Keyring) -> Self {
        self.keyring = keyring;
        self
    }

    /// The vault's random 16-byte id.
    ///
    /// ```
    /// use vaults::{EncryptedVault, KdfParams, LockedVault, Passphrase};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("secrets.db");
    /// let pass = Passphrase::new("correct horse battery staple")?;
    /// let id = EncryptedVault::create(&path, &pass, KdfParams::MIN)?.id();
    /// assert_eq!(LockedVault::open(&path)?.id(), id);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn id(&self) -> [u8; 16] {
        self.engine.vault_id()
    }

    /// The file behind this vault.
    ///
    /// ```
    /// use vaults::{EncryptedVault, KdfParams, LockedVault, Passphrase};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("secrets.db");
    /// let pass = Passphrase::new("correct horse battery staple")?;
    /// EncryptedVault::create(&path, &pass, KdfParams::MIN)?;
    /// assert_eq!(LockedVault::open(&path)?.path(), Some(path.as_path()));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn path(&self) -> Option<&Path> {
        self.engine.path()
    }

    /// The key slots, by id (read when the vault was opened; not yet
    /// authenticated, since that needs the key).
    ///
    /// ```
    /// use vaults::{EncryptedVault, KdfParams, LockedVault, Passphrase, SlotInfo};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("secrets.db");
    /// let pass = Passphrase::new("correct horse battery staple")?;
    /// EncryptedVault::create(&path, &pass, KdfParams::MIN)?;
    /// let slots = LockedVault::open(&path)?.slots();
    /// assert_eq!(
    ///     slots,
    ///     [SlotInfo::Passphrase { id: 1, params: KdfParams::MIN }]
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
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
        let n = self
            .engine
            .with(Mode::Single, |rows| rows.delete_expired())?;
        tracing::debug!(deleted = n, "cleaned up expired entries");
        Ok(n)
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
        self.engine.destroy()?;
        for account in accounts {
            keyring.forget(&account);
        }
        Ok(())
    }

    /// Whether a keyring slot's secret unwraps this vault's key and the
    /// metadata MAC holds under it.
    fn proven_by_keyring(&self) -> bool {
        let vault_id = self.engine.vault_id();
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
    /// [`Error::TooManySlots`] for a file with more than [`MAX_SLOTS`](crate::MAX_SLOTS) slots;
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
        let vault_id = self.engine.vault_id();
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
        let vault_id = self.engine.vault_id();
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
        let vault_id = self.engine.vault_id();
        let keys = SubKeys::derive(&key, &vault_id);
        self.meta.verify(&keys, &vault_id)?;
        tracing::debug!("unlocked an encrypted vault");
        let sealer = Sealer::new(keys, vault_id, self.meta.generation);
        Ok(EncryptedVault {
            vault: Vault::from_parts(self.engine, Codec::Sealed(sealer)),
            key,
            unlocked_by,
            keyring: self.keyring,
            ceiling: self.ceiling,
        })
    }
}
