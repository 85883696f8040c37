//! [`Keyring`]: where keyring slots keep their secrets (through keyring-core).

use std::fmt;
use std::sync::Arc;

use keyring_core::{CredentialStore, Entry};
use zeroize::Zeroizing;

use crate::{Error, Result};

/// The keyring service name every entry of this crate is filed under.
const SERVICE: &str = "vaults";

/// A handle on an OS keyring, for key slots whose secret lives there.
///
/// The library never picks a keyring by itself: pass
/// [`Keyring::default_store`] after setting keyring-core's default store (the
/// `vaults` CLI sets the Linux kernel keyutils store), or a store of your own
/// with [`Keyring::with_store`] (keyring-core's mock store in tests).
///
/// ```
/// use vaults::Keyring;
/// let keyring = Keyring::with_store(keyring_core::mock::Store::new()?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Default)]
pub struct Keyring {
    store: Option<Arc<CredentialStore>>,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let store = self.store.as_ref().map(|s| s.vendor());
        f.debug_struct("Keyring").field("store", &store).finish()
    }
}

impl Keyring {
    /// keyring-core's process-wide default store, as set by the application
    /// with `keyring_core::set_default_store`.
    ///
    /// The store is looked up when a keyring slot is used, not here.
    ///
    /// ```
    /// use vaults::{EncryptedVault, KdfParams, Keyring, Passphrase};
    ///
    /// let pass = Passphrase::new("correct horse battery staple")?;
    /// let mut vault = EncryptedVault::create_in_memory(&pass, KdfParams::MIN)?;
    /// vault.set_keyring(Keyring::default_store());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn default_store() -> Self {
        Self { store: None }
    }

    /// A specific store.
    ///
    /// ```
    /// use vaults::{EncryptedVault, KdfParams, Keyring, LockedVault, Passphrase};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("secrets.db");
    /// let pass = Passphrase::new("correct horse battery staple")?;
    /// let keyring = Keyring::with_store(keyring_core::mock::Store::new()?);
    /// let mut vault = EncryptedVault::create(&path, &pass, KdfParams::MIN)?;
    /// vault.set_keyring(keyring.clone());
    /// let slot = vault.add_keyring_slot()?;
    /// vault.close()?;
    /// let vault = LockedVault::open(&path)?.unlock_with_keyring(&keyring)?;
    /// assert_eq!(vault.unlocked_slot(), slot);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_store(store: Arc<CredentialStore>) -> Self {
        Self { store: Some(store) }
    }

    fn entry(&self, account: &str) -> Result<Entry> {
        match &self.store {
            Some(store) => Entry::new_in_store(store, SERVICE, account),
            None => Entry::new(SERVICE, account),
        }
        .map_err(keyring_error)
    }

    /// Stores a slot's 32-byte secret under `account`.
    pub(crate) fn store_secret(&self, account: &str, secret: &[u8; 32]) -> Result<()> {
        self.entry(account)?
            .set_secret(secret)
            .map_err(keyring_error)
    }

    /// The secret under `account`, or `None` if the keyring has no such entry.
    pub(crate) fn load_secret(&self, account: &str) -> Result<Option<Box<Zeroizing<[u8; 32]>>>> {
        match self.entry(account)?.get_secret() {
            Ok(bytes) => {
                let bytes = Zeroizing::new(bytes);
                if bytes.len() != 32 {
                    return Err(Error::Keyring {
                        reason: "the stored secret has the wrong length".into(),
                    });
                }
                // Copied heap to heap: no array of the secret on the stack.
                let mut secret = Box::new(Zeroizing::new([0u8; 32]));
                secret.copy_from_slice(&bytes);
                Ok(Some(secret))
            }
            Err(keyring_core::Error::NoEntry) => Ok(None),
            Err(e) => Err(keyring_error(e)),
        }
    }

    /// Deletes the entry under `account`; a missing entry is not an error.
    pub(crate) fn delete(&self, account: &str) -> Result<()> {
        match self.entry(account)?.delete_credential() {
            Ok(()) | Err(keyring_core::Error::NoEntry) => Ok(()),
            Err(e) => Err(keyring_error(e)),
        }
    }

    /// Deletes, logging instead of failing: for cleanup after the vault has
    /// already let go of the slot.
    pub(crate) fn forget(&self, account: &str) {
        if let Err(e) = self.delete(account) {
            tracing::warn!(error = %e, "could not delete a keyring entry");
        }
    }
}

/// Converts keyring-core's error without ever printing the bytes some of its
/// variants carry.
fn keyring_error(e: keyring_core::Error) -> Error {
    use keyring_core::Error as K;
    let reason = match e {
        K::PlatformFailure(p) => format!("platform failure: {p}"),
        K::NoStorageAccess(p) => format!("no access to the keyring: {p}"),
        K::NoEntry => "no such entry".to_owned(),
        K::BadEncoding(_) | K::BadDataFormat(..) => "the stored secret is malformed".to_owned(),
        K::NoDefaultStore => "no keyring store is set up".to_owned(),
        other => other.to_string(),
    };
    Error::Keyring { reason }
}
