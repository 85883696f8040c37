//! The OS keyring for keyring slots: the kernel's keyutils store, whose
//! keys live in the session keyring of the process (and its login session).

use std::sync::{Arc, OnceLock};

use pyo3::PyResult;
use vaults::Keyring;

use crate::errors::Class;

/// The keyring, set up once per process.
pub(crate) fn os_keyring() -> PyResult<Keyring> {
    static RING: OnceLock<Result<Keyring, String>> = OnceLock::new();
    RING.get_or_init(|| {
        linux_keyutils_keyring_store::Store::new()
            .map(|store| {
                let store: Arc<keyring_core::CredentialStore> = store;
                Keyring::with_store(store)
            })
            .map_err(|e| format!("no usable OS keyring here: {e}"))
    })
    .clone()
    .map_err(|e| Class::VaultError.err(e))
}
