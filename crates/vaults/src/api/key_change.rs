//! [`KeyChange`]: what a change of keys left behind in the vault's files.

use super::encrypted::EncryptedVault;

/// The outcome of [`EncryptedVault::change_passphrase`],
/// [`EncryptedVault::remove_slot`] and [`EncryptedVault::rotate`], once the
/// change is committed: whether the old key material (the old wrapped key,
/// the removed slot, the ciphertexts under the old key) could be purged from
/// the vault's files.
///
/// After the change the WAL is checkpointed into the main file and
/// truncated. Another connection's read transaction blocks that; it is
/// retried for up to the busy timeout ([`OpenOptions::busy_timeout`], 5 s
/// by default). If the other connection keeps reading past that, the old
/// material stays: a copy of the `.db` file taken meanwhile still opens with
/// the old passphrase (or, after a rotation, under the old key). SQLite
/// completes the checkpoint when the last connection closes the vault.
///
/// ```
/// use vaults::{EncryptedVault, KdfParams, Passphrase};
///
/// let dir = tempfile::tempdir()?;
/// let pass = Passphrase::new("correct horse battery staple")?;
/// let vault = EncryptedVault::create(dir.path().join("v.db"), &pass, KdfParams::MIN)?;
/// let new = Passphrase::new("a brand new passphrase")?;
/// let change = vault.change_passphrase(vault.unlocked_slot(), &new, KdfParams::MIN)?;
/// if change.old_material_may_remain() {
///     eprintln!("another process has the vault open: the old passphrase may still open a copy of it");
/// }
/// assert!(!change.old_material_may_remain()); // no other connection here
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// [`OpenOptions::busy_timeout`]: crate::OpenOptions::busy_timeout
#[must_use = "old key material may remain in the vault's files: check `old_material_may_remain`"]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyChange {
    purged: bool,
}

impl KeyChange {
    /// Whether the old key material may still be in the vault's files,
    /// because another connection held the vault while the WAL was to be
    /// truncated (or the truncation failed). The change itself is committed
    /// either way.
    ///
    /// ```
    /// use vaults::{EncryptedVault, KdfParams, Passphrase};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let pass = Passphrase::new("correct horse battery staple")?;
    /// let vault = EncryptedVault::create(dir.path().join("v.db"), &pass, KdfParams::MIN)?;
    /// let second = vault.add_passphrase_slot(&pass, KdfParams::MIN)?;
    /// let change = vault.remove_slot(second)?;
    /// assert!(!change.old_material_may_remain()); // nobody else has the vault open
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn old_material_may_remain(&self) -> bool {
        !self.purged
    }
}

impl EncryptedVault {
    /// Checkpoints and truncates the WAL after key material changed, and
    /// says whether that was done. A failure is not an error: the change is
    /// committed, and the caller learns that old material may remain.
    pub(crate) fn scrub_wal(&self) -> KeyChange {
        let purged = match self.vault.engine.purge_old_versions() {
            Ok(true) => true,
            Ok(false) => {
                tracing::warn!(
                    "another connection kept the WAL from being truncated after a key change"
                );
                false
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not truncate the WAL after a key change");
                false
            }
        };
        KeyChange { purged }
    }
}
