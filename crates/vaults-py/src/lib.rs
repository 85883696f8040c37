//! `vaults._native`: the Rust core of the Python package `vaults`.
//!
//! The package's public classes (`vaults.Vault`, `vaults.EncryptedVault`)
//! are written in Python (`python/vaults/__init__.py`), with the original
//! module's exact interface, over the `Store` class here. Values become CBOR
//! here (`convert.rs`), errors become the package's exceptions (`errors.rs`),
//! and every storage and crypto call runs with the GIL released.

mod clock;
mod convert;
mod errors;
mod handle;
mod keyring;
mod legacy;
mod ops;
mod passphrase;
mod transaction;

use pyo3::prelude::*;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<handle::Store>()?;
    m.add_class::<clock::ManualClock>()?;
    m.add_function(wrap_pyfunction!(legacy::migrate_legacy, m)?)?;
    m.add_function(wrap_pyfunction!(legacy::is_legacy, m)?)?;
    m.add_function(wrap_pyfunction!(is_vault_url, m)?)?;
    m.add_function(wrap_pyfunction!(redact_url, m)?)?;
    m.add("MAX_VALUE_LEN", vaults::MAX_VALUE_LEN)?;
    m.add("MAX_NAME_LEN", vaults::MAX_NAME_LEN)?;
    Ok(())
}

/// Whether `location` is a server URL (`postgres://`, `postgresql://`)
/// rather than a file path.
#[pyfunction]
fn is_vault_url(location: &str) -> bool {
    vaults::is_vault_url(location)
}

/// `url` with its password replaced by `***`, for messages and logs.
#[pyfunction]
fn redact_url(url: &str) -> String {
    vaults::redact_url(url)
}
