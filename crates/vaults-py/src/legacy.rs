//! `vaults.migrate_legacy`: converting a file of the original module.
//!
//! msgpack items convert exactly (in the library). Pickled items are run
//! through Python's `pickle.loads` only when the caller passes
//! `allow_pickle=True`: a pickle executes code chosen by whoever wrote the
//! file. Everything is decoded and checked before anything is written.

use std::path::PathBuf;

use ciborium::value::Value;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use vaults::legacy::{self, LegacyItem};

use crate::convert::to_cbor;
use crate::errors::{Class, OrRaise};

fn refused(reason: impl Into<String>) -> PyErr {
    Class::LegacyFormatError.err(reason)
}

fn unpickle<'py>(py: Python<'py>, bytes: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    py.import("pickle")?
        .call_method1("loads", (PyBytes::new(py, bytes),))
        .map_err(|_| refused("a pickled item of the legacy file does not unpickle"))
}

/// Converts the legacy file at `path` in place; returns the number of
/// entries. The original is kept as `PATH.legacy`.
#[pyfunction]
#[pyo3(signature = (path, allow_pickle=false))]
pub(crate) fn migrate_legacy(py: Python<'_>, path: PathBuf, allow_pickle: bool) -> PyResult<usize> {
    let entries = py.detach(|| legacy::read(&path)).or_raise()?;
    let pickled = entries
        .iter()
        .filter(|e| {
            matches!(e.key, LegacyItem::Pickled(_)) || matches!(e.value, LegacyItem::Pickled(_))
        })
        .count();
    if pickled > 0 && !allow_pickle {
        return Err(refused(format!(
            "{pickled} of its {} entries are pickled; unpickling runs code from the file, so it \
             is refused unless you trust the file and pass allow_pickle=True",
            entries.len()
        )));
    }
    let mut converted: Vec<(String, Value)> = Vec::with_capacity(entries.len());
    for entry in entries {
        let name = match entry.key {
            LegacyItem::Value(Value::Text(s)) => s,
            LegacyItem::Pickled(bytes) => unpickle(py, &bytes)?
                .extract::<String>()
                .map_err(|_| refused("a key of the legacy file is not a str"))?,
            LegacyItem::Value(_) => return Err(refused("a key of the legacy file is not a str")),
        };
        let value = match entry.value {
            LegacyItem::Value(v) => v,
            LegacyItem::Pickled(bytes) => to_cbor(&unpickle(py, &bytes)?)
                .map_err(|e| refused(format!("a pickled value cannot be stored: {e}")))?,
        };
        converted.push((name, value));
    }
    let count = converted.len();
    py.detach(|| legacy::migrate(&path, converted)).or_raise()?;
    Ok(count)
}

/// Whether the file at `path` was written by the original module.
#[pyfunction]
pub(crate) fn is_legacy(py: Python<'_>, path: PathBuf) -> PyResult<bool> {
    py.detach(|| legacy::is_legacy(&path)).or_raise()
}
