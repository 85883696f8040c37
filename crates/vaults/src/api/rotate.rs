//! Rotating the vault key: every entry re-encrypted under a new generation,
//! every name re-hashed, every slot re-wrapped — in one transaction, so a
//! crash at any point leaves either the old vault or the new one, whole.

use std::collections::BTreeMap;

use super::encrypted::EncryptedVault;
use super::key_change::KeyChange;
use super::meta_io;
use super::repair::{self, UnreadableRow};
use super::slots::new_keyring_secret;
use crate::codec::{Codec, Sealer};
use crate::crypto::kdf::{self, Passphrase};
use crate::crypto::keys::{SubKeys, VaultKey};
use crate::crypto::meta::Meta;
use crate::crypto::slot::{self, SlotKind, SlotRecord};
use crate::engine::Mode;
use crate::row::RowRef;
use crate::{Error, Integrity, Result};

/// Rows re-encrypted per step (and per progress report).
const BATCH: usize = 512;

/// How far a [`rotate`](EncryptedVault::rotate) has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Entries re-encrypted so far.
    pub done: u64,
    /// Entries to re-encrypt in all.
    pub total: u64,
}

/// A row copied out of the table for re-encryption.
struct Copied {
    rowid: i64,
    key: Vec<u8>,
    name: Option<Vec<u8>>,
    expires_at: Option<i64>,
    value: Vec<u8>,
}

impl EncryptedVault {
    /// Replaces the vault key: every entry is re-encrypted under a new key
    /// generation, every name re-hashed, and every key slot wrapped again.
    /// Do it after a suspected compromise (after changing the passphrase).
    ///
    /// `passphrases` gives the passphrase of every passphrase slot, by slot
    /// id; each is checked against its slot before anything changes, and gets
    /// a fresh salt. Keyring slots get a fresh secret in the keyring. Expired
    /// entries are deleted on the way.
    ///
    /// It all happens in one transaction: killed at any point, the vault
    /// reopens as it was before or as it is after, never in between. Then the
    /// WAL is checkpointed and truncated; with `secure_delete` on, the old
    /// ciphertexts are not left in free pages. The [`KeyChange`] says whether
    /// the truncation was done (another connection can keep it from
    /// happening). Other handles on the vault get
    /// [`Error::KeyRotated`] and must be reopened.
    ///
    /// ```
    /// use vaults::{EncryptedVault, KdfParams, Passphrase, Store};
    ///
    /// let pass = Passphrase::new("correct horse battery staple")?;
    /// let mut vault = EncryptedVault::create_in_memory(&pass, KdfParams::MIN)?;
    /// vault.put("token", "abc")?;
    /// let slot = vault.unlocked_slot();
    /// let change = vault.rotate(&[(slot, &pass)], |p| println!("{}/{}", p.done, p.total))?;
    /// assert!(!change.old_material_may_remain()); // in memory: nothing on disk
    /// assert_eq!(vault.generation(), 2);
    /// assert_eq!(vault.get::<String>("token")?.as_deref(), Some("abc"));
    /// # Ok::<(), vaults::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::SlotSecretMissing`] if a passphrase slot has no passphrase in
    /// `passphrases` (remove the slot first if it is no longer wanted);
    /// [`Error::WrongPassphrase`] if one does not open its slot;
    /// [`Error::Keyring`]; [`Error::Integrity`] if an entry or the metadata
    /// fails to open (nothing is changed then); [`Error::Busy`] if another
    /// handle changed the key slots meanwhile.
    pub fn rotate(
        &mut self,
        passphrases: &[(u32, &Passphrase)],
        progress: impl FnMut(Progress),
    ) -> Result<KeyChange> {
        self.rotate_inner(passphrases, false, progress)
            .map(|(change, _)| change)
    }

    /// [`EncryptedVault::rotate`], deleting on the way the rows that fail to
    /// open (see [`EncryptedVault::unreadable_rows`]) instead of failing on
    /// them; returns them beside the [`KeyChange`]. They go in the rotation's one transaction: killed
    /// at any point, the vault is as it was (rows included) or rotated
    /// without them.
    ///
    /// For incident response: after a compromise, a planted row must not
    /// block the rotation.
    ///
    /// ```
    /// use vaults::{EncryptedVault, KdfParams, Passphrase, Store};
    ///
    /// let pass = Passphrase::new("correct horse battery staple")?;
    /// let mut vault = EncryptedVault::create_in_memory(&pass, KdfParams::MIN)?;
    /// vault.put("token", "abc")?;
    /// let slot = vault.unlocked_slot();
    /// let (_change, dropped) = vault.rotate_dropping_unreadable(&[(slot, &pass)], |_| {})?;
    /// assert!(dropped.is_empty());
    /// # Ok::<(), vaults::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`EncryptedVault::rotate`], except for rows that fail to open.
    pub fn rotate_dropping_unreadable(
        &mut self,
        passphrases: &[(u32, &Passphrase)],
        progress: impl FnMut(Progress),
    ) -> Result<(KeyChange, Vec<UnreadableRow>)> {
        self.rotate_inner(passphrases, true, progress)
    }

    fn rotate_inner(
        &mut self,
        passphrases: &[(u32, &Passphrase)],
        drop_unreadable: bool,
        mut progress: impl FnMut(Progress),
    ) -> Result<(KeyChange, Vec<UnreadableRow>)> {
        let vault_id = self.id();
        let before = self
            .vault
            .run(Mode::Snapshot, |op| self.read_meta(op.rows))?;
        let generation = before.generation.checked_add(1).ok_or(Error::Corrupt {
            detail: "the key generation is exhausted",
        })?;
        let new_key = VaultKey::generate()?;
        let new_codec = Codec::Sealed(Sealer::new(
            SubKeys::derive(&new_key, &vault_id),
            vault_id,
            generation,
        ));

        // All Argon2 work, and the keyring, before the write lock.
        let mut new_accounts = Vec::new();
        let slots = rewrap_slots(self, &before, passphrases, &new_key, &mut new_accounts);
        let slots = match slots {
            Ok(s) => s,
            Err(e) => {
                new_accounts.iter().for_each(|a| self.keyring().forget(a));
                return Err(e);
            }
        };
        let mut after = Meta::new(slots);
        after.generation = generation;

        let rotated = self.vault.run(Mode::Write, |op| {
            let rows = op.rows;
            let current = self.read_meta(rows)?;
            if current.slots != before.slots {
                return Err(Error::Busy);
            }
            rows.delete_expired()?;
            let mut dropped = Vec::new();
            // The scan skips rows too long to read; they are deleted unread.
            for rowid in rows.too_long_ids()? {
                if !drop_unreadable {
                    return Err(Error::Integrity(Integrity::Entry));
                }
                rows.delete_id(rowid)?;
                dropped.push(UnreadableRow::too_large(rowid));
            }
            let total = rows.count_all()?;
            let mut done = 0;
            let mut last = 0;
            progress(Progress { done, total });
            loop {
                let mut batch = Vec::with_capacity(BATCH);
                rows.scan_ids(last, BATCH, &mut |rowid, r| {
                    batch.push(Copied {
                        rowid,
                        key: r.key.to_vec(),
                        name: r.name.map(<[u8]>::to_vec),
                        expires_at: r.expires_at,
                        value: r.value.to_vec(),
                    });
                    Ok(())
                })?;
                let Some(tail) = batch.last() else { break };
                last = tail.rowid;
                for row in &batch {
                    let view = RowRef {
                        key: &row.key,
                        name: row.name.as_deref(),
                        expires_at: row.expires_at,
                        value: &row.value,
                    };
                    // Only opening fails an integrity check; sealing and
                    // writing fail otherwise.
                    let rewritten = (|| {
                        let name = op.open_name(&view)?;
                        let key = new_codec.stored_key(&name);
                        let sealed_name = new_codec.seal_name(&key, &name, row.expires_at)?;
                        let plain = op.open_value(&view)?;
                        let value = new_codec.seal_value(&key, &plain, row.expires_at)?;
                        rows.rewrite(row.rowid, &key, sealed_name.as_deref(), &value)
                    })();
                    match rewritten {
                        Ok(()) => {}
                        Err(
                            e @ (Error::Integrity(Integrity::Name | Integrity::Entry)
                            | Error::ValueTooLarge { .. }),
                        ) if drop_unreadable => {
                            // Deleted only once examined as unreadable.
                            match repair::examine(op, row.rowid, &view)? {
                                Some(bad) => {
                                    rows.delete_id(row.rowid)?;
                                    dropped.push(bad);
                                }
                                None => return Err(e),
                            }
                        }
                        Err(e) => return Err(e),
                    }
                }
                done += batch.len() as u64;
                progress(Progress { done, total });
            }
            let new_keys = SubKeys::derive(&new_key, &vault_id);
            meta_io::write(rows, &after, &new_keys, &vault_id)?;
            Ok(dropped)
        });
        let dropped = match rotated {
            Ok(dropped) => dropped,
            Err(e) => {
                new_accounts.iter().for_each(|a| self.keyring().forget(a));
                return Err(e);
            }
        };
        for record in before.slots.values() {
            if let SlotKind::Keyring { account } = record.kind() {
                self.keyring().forget(account);
            }
        }
        self.replace_keys(new_key, new_codec);
        tracing::debug!(generation, dropped = dropped.len(), "rotated the vault key");
        Ok((self.scrub_wal(), dropped))
    }
}

/// Wraps `new_key` in a new record for every slot of `meta`, recording each
/// new keyring account in `new_accounts` (so a failure can remove them).
fn rewrap_slots(
    vault: &EncryptedVault,
    meta: &Meta,
    passphrases: &[(u32, &Passphrase)],
    new_key: &VaultKey,
    new_accounts: &mut Vec<String>,
) -> Result<BTreeMap<u32, SlotRecord>> {
    let vault_id = vault.id();
    // Check every slot is covered before spending seconds on Argon2.
    for (id, record) in &meta.slots {
        if let SlotKind::Passphrase { params, .. } = record.kind() {
            vault.kdf_ceiling().admit(params)?;
            if !passphrases.iter().any(|(i, _)| i == id) {
                return Err(Error::SlotSecretMissing { id: *id });
            }
        }
    }
    let mut slots = BTreeMap::new();
    for (&id, record) in &meta.slots {
        let new = match record.kind() {
            SlotKind::Passphrase { params, salt } => {
                let pass = passphrases
                    .iter()
                    .find(|(i, _)| *i == id)
                    .map(|(_, p)| *p)
                    .ok_or(Error::SlotSecretMissing { id })?;
                // A typo must not lock anyone out: the passphrase has to open
                // its slot as it is now.
                let current = kdf::derive_kek(pass, salt, params)?;
                record.unwrap(&vault_id, id, &current)?;
                let salt = slot::new_salt()?;
                let kek = kdf::derive_kek(pass, &salt, params)?;
                let kind = SlotKind::Passphrase {
                    params: *params,
                    salt,
                };
                SlotRecord::wrap(&vault_id, id, kind, &kek, new_key)?
            }
            SlotKind::Keyring { .. } => {
                let (account, secret) = new_keyring_secret(vault.keyring(), &vault_id)?;
                new_accounts.push(account.clone());
                SlotRecord::wrap(
                    &vault_id,
                    id,
                    SlotKind::Keyring { account },
                    &secret,
                    new_key,
                )?
            }
        };
        slots.insert(id, new);
    }
    Ok(slots)
}
