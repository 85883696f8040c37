//! Key slots of an unlocked vault: listing them, adding a passphrase or a
//! keyring slot, removing one, changing a passphrase.

use zeroize::Zeroizing;

use super::encrypted::EncryptedVault;
use super::key_change::KeyChange;
use super::keyring::Keyring;
use super::meta_io;
use crate::crypto::kdf::{self, KdfParams, Passphrase};
use crate::crypto::meta::Meta;
use crate::crypto::random;
use crate::crypto::slot::{self, SlotKind, SlotRecord};
use crate::crypto::unlock_plan::MAX_SLOTS;
use crate::engine::{Mode, Rows};
use crate::{Error, Result};

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
    pub(super) fn of(id: u32, record: &SlotRecord) -> SlotInfo {
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
    ///
    /// ```
    /// use vaults::{EncryptedVault, KdfParams, Passphrase};
    ///
    /// let pass = Passphrase::new("correct horse battery staple")?;
    /// let vault = EncryptedVault::create_in_memory(&pass, KdfParams::MIN)?;
    /// let second = vault.add_passphrase_slot(&pass, KdfParams::MIN)?;
    /// let ids: Vec<u32> = vault.slots()?.iter().map(|s| s.id()).collect();
    /// assert_eq!(ids, [1, second]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn id(&self) -> u32 {
        match self {
            SlotInfo::Passphrase { id, .. } | SlotInfo::Keyring { id, .. } => *id,
        }
    }
}

impl EncryptedVault {
    /// The key slots, by id, as authenticated now.
    ///
    /// # Errors
    /// [`Error::Integrity`] if the metadata fails its MAC.
    pub fn slots(&self) -> Result<Vec<SlotInfo>> {
        let meta = self
            .vault
            .run(Mode::Snapshot, |op| self.read_meta(op.rows))?;
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
        let meta = self
            .vault
            .run(Mode::Snapshot, |op| self.read_meta(op.rows))?;
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

    /// Reads the metadata and checks it against this handle's keys.
    pub(crate) fn read_meta(&self, rows: &dyn Rows) -> Result<Meta> {
        let meta = meta_io::read(rows)?;
        meta.verify(self.sealer()?.keys(), &self.id())?;
        Ok(meta)
    }

    /// Changes the slots in one write transaction: the metadata is read and
    /// authenticated first (so a tampered slot is never signed by us), then
    /// `edit` runs, then everything is written back under a new MAC.
    fn edit_slots<R>(&self, edit: impl FnOnce(&mut Meta) -> Result<R>) -> Result<R> {
        self.vault.run(Mode::Write, |op| {
            let mut meta = self.read_meta(op.rows)?;
            let out = edit(&mut meta)?;
            meta_io::write(op.rows, &meta, self.sealer()?.keys(), &self.id())?;
            Ok(out)
        })
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
pub(super) fn keyring_accounts(slots: &[SlotInfo]) -> Vec<String> {
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
    random::fill_secret(secret.as_mut_slice())?;
    let mut tag = [0u8; 6];
    random::fill_secret(&mut tag)?;
    let account = format!("{}-{}", hex(vault_id), hex(&tag));
    keyring.store_secret(&account, &secret)?;
    Ok((account, secret))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
