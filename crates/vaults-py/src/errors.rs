//! Rust errors as Python exceptions.
//!
//! The exception classes are defined in Python (`vaults/_errors.py`), so that
//! `InvalidInput` can be both a `VaultError` and a `ValueError`; they are
//! looked up once and kept. Messages are the library's, which name no entry
//! name, value or passphrase.

use pyo3::exceptions::{PyRuntimeError, PyTypeError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;
use vaults::Error;

/// The Python exception classes this module raises.
#[derive(Clone, Copy)]
pub(crate) enum Class {
    VaultError,
    WrongPassphrase,
    IntegrityError,
    LegacyFormatError,
    VaultClosed,
    VaultBusy,
    InvalidInput,
    VaultUnavailable,
    AccessDenied,
}

impl Class {
    fn name(self) -> &'static str {
        match self {
            Class::VaultError => "VaultError",
            Class::WrongPassphrase => "WrongPassphrase",
            Class::IntegrityError => "IntegrityError",
            Class::LegacyFormatError => "LegacyFormatError",
            Class::VaultClosed => "VaultClosed",
            Class::VaultBusy => "VaultBusy",
            Class::InvalidInput => "InvalidInput",
            Class::VaultUnavailable => "VaultUnavailable",
            Class::AccessDenied => "AccessDenied",
        }
    }

    fn cell(self) -> &'static PyOnceLock<Py<PyType>> {
        static CELLS: [PyOnceLock<Py<PyType>>; 9] = [
            PyOnceLock::new(),
            PyOnceLock::new(),
            PyOnceLock::new(),
            PyOnceLock::new(),
            PyOnceLock::new(),
            PyOnceLock::new(),
            PyOnceLock::new(),
            PyOnceLock::new(),
            PyOnceLock::new(),
        ];
        &CELLS[self as usize]
    }

    /// A new exception of this class with `message`.
    pub(crate) fn err(self, message: impl Into<String>) -> PyErr {
        let message = message.into();
        Python::attach(
            |py| match self.cell().import(py, "vaults._errors", self.name()) {
                Ok(class) => PyErr::from_type(class.clone(), message),
                // Only if the package is broken: still an exception, never a panic.
                Err(_) => PyRuntimeError::new_err(message),
            },
        )
    }
}

/// The exception for a library error.
pub(crate) fn to_py(e: Error) -> PyErr {
    let class = match &e {
        Error::WrongPassphrase => Class::WrongPassphrase,
        Error::Integrity(_) | Error::Corrupt { .. } => Class::IntegrityError,
        Error::LegacyFormat { .. } | Error::LegacyUnsupported { .. } => Class::LegacyFormatError,
        Error::Busy => Class::VaultBusy,
        Error::Unavailable { .. } => Class::VaultUnavailable,
        Error::AccessDenied { .. } => Class::AccessDenied,
        Error::InvalidName { .. }
        | Error::ValueTooLarge { .. }
        | Error::EmptyPassphrase
        | Error::InvalidUrl { .. }
        | Error::Unsupported { .. }
        | Error::Encode { .. } => Class::InvalidInput,
        _ => Class::VaultError,
    };
    class.err(e.to_string())
}

/// `TypeError` naming the type of `obj`, never its contents.
pub(crate) fn unsupported_type(obj: &Bound<'_, PyAny>, what: &str) -> PyErr {
    let type_name = obj
        .get_type()
        .qualname()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".to_owned());
    PyTypeError::new_err(format!(
        "vaults cannot store {what} of type '{type_name}' (it stores None, bool, int, float, \
         str, bytes, and lists, tuples and dicts of these)"
    ))
}

/// Extension for results of library calls.
pub(crate) trait OrRaise<T> {
    fn or_raise(self) -> PyResult<T>;
}

impl<T> OrRaise<T> for vaults::Result<T> {
    fn or_raise(self) -> PyResult<T> {
        self.map_err(to_py)
    }
}
