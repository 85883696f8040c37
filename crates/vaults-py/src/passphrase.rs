//! A passphrase from Python (`str`, `bytes` or `bytearray`), copied once
//! into the library's wiped buffer; the intermediate copy is wiped too.
//! (The caller's own `str`/`bytes` objects are immutable and outside our
//! reach; the Python layer zeroes a `bytearray` after the call.)

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyString};
use vaults::Passphrase;
use zeroize::Zeroize;

use crate::errors::{Class, OrRaise};

pub(crate) fn passphrase_from(obj: &Bound<'_, PyAny>) -> PyResult<Passphrase> {
    let text = if let Ok(s) = obj.cast::<PyString>() {
        s.to_cow()?.into_owned()
    } else {
        let bytes = if let Ok(b) = obj.cast::<PyBytes>() {
            b.as_bytes().to_vec()
        } else if let Ok(b) = obj.cast::<PyByteArray>() {
            b.to_vec()
        } else {
            return Err(PyTypeError::new_err(
                "a passphrase must be str, bytes or bytearray",
            ));
        };
        String::from_utf8(bytes).map_err(|e| {
            e.into_bytes().zeroize();
            Class::InvalidInput.err("the passphrase bytes are not UTF-8")
        })?
    };
    Passphrase::new(text).or_raise()
}
