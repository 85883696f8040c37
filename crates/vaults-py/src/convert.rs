//! Python values to the vault's CBOR data model and back, losslessly for
//! every type the original module stored through msgpack.
//!
//! `None`, `bool`, `int` (beyond 64 bits as CBOR bignums, tags 2 and 3),
//! `float`, `str`, `bytes` (and `bytearray`, `memoryview`), `list`, `tuple`
//! (read back as a list, as the original did) and `dict` with keys of any of
//! these. A map key that is an array is read back as a tuple, so that it stays
//! hashable. Anything else is a `TypeError`; nothing is pickled.

use ciborium::value::{Integer, Value};
use num_bigint::{BigInt, Sign};
use pyo3::IntoPyObjectExt;
use pyo3::prelude::*;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyInt, PyList, PyMemoryView, PyString, PyTuple,
};

use crate::errors::{Class, unsupported_type};

/// Deeper than this is refused, on write and on read (the library's CBOR
/// decoder stops at the same depth).
pub(crate) const MAX_DEPTH: usize = 128;

/// CBOR tags of RFC 8949 §3.4.3: unsigned and negative bignums.
const TAG_POS_BIGNUM: u64 = 2;
const TAG_NEG_BIGNUM: u64 = 3;

/// A Python value as CBOR.
pub(crate) fn to_cbor(obj: &Bound<'_, PyAny>) -> PyResult<Value> {
    encode(obj, 0)
}

fn too_deep() -> PyErr {
    Class::InvalidInput.err(format!(
        "the value is nested deeper than {MAX_DEPTH} levels"
    ))
}

fn encode(obj: &Bound<'_, PyAny>, depth: usize) -> PyResult<Value> {
    if depth > MAX_DEPTH {
        return Err(too_deep());
    }
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Value::Text(s.to_cow()?.into_owned()));
    }
    if obj.is_instance_of::<PyInt>() {
        return encode_int(obj);
    }
    if let Ok(x) = obj.cast::<PyFloat>() {
        return Ok(Value::Float(x.value()));
    }
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(Value::Bytes(b.as_bytes().to_vec()));
    }
    if let Ok(b) = obj.cast::<PyByteArray>() {
        return Ok(Value::Bytes(b.to_vec()));
    }
    if obj.is_instance_of::<PyMemoryView>() {
        let bytes = obj.call_method0("tobytes")?;
        return Ok(Value::Bytes(bytes.cast::<PyBytes>()?.as_bytes().to_vec()));
    }
    if let Ok(list) = obj.cast::<PyList>() {
        return list
            .iter()
            .map(|item| encode(&item, depth + 1))
            .collect::<PyResult<_>>()
            .map(Value::Array);
    }
    if let Ok(tuple) = obj.cast::<PyTuple>() {
        return tuple
            .iter()
            .map(|item| encode(&item, depth + 1))
            .collect::<PyResult<_>>()
            .map(Value::Array);
    }
    if let Ok(dict) = obj.cast::<PyDict>() {
        return dict
            .iter()
            .map(|(k, v)| Ok((encode(&k, depth + 1)?, encode(&v, depth + 1)?)))
            .collect::<PyResult<_>>()
            .map(Value::Map);
    }
    Err(unsupported_type(obj, "a value"))
}

fn encode_int(obj: &Bound<'_, PyAny>) -> PyResult<Value> {
    if let Ok(n) = obj.extract::<i64>() {
        return Ok(Value::Integer(Integer::from(n)));
    }
    if let Ok(n) = obj.extract::<u64>() {
        return Ok(Value::Integer(Integer::from(n)));
    }
    let n: BigInt = obj.extract()?;
    // CBOR's own integers reach from -2^64 to 2^64 - 1.
    if let Some(i) = i128::try_from(&n)
        .ok()
        .and_then(|n| Integer::try_from(n).ok())
    {
        return Ok(Value::Integer(i));
    }
    let (tag, magnitude) = match n.sign() {
        Sign::Minus => (TAG_NEG_BIGNUM, -n - 1),
        _ => (TAG_POS_BIGNUM, n),
    };
    let (_, bytes) = magnitude.to_bytes_be();
    Ok(Value::Tag(tag, Box::new(Value::Bytes(bytes))))
}

/// A CBOR value as Python.
pub(crate) fn to_py<'py>(py: Python<'py>, value: Value) -> PyResult<Bound<'py, PyAny>> {
    decode(py, value, 0, false)
}

fn decode<'py>(
    py: Python<'py>,
    value: Value,
    depth: usize,
    key: bool,
) -> PyResult<Bound<'py, PyAny>> {
    if depth > MAX_DEPTH {
        return Err(too_deep());
    }
    match value {
        Value::Null => Ok(py.None().into_bound(py)),
        Value::Bool(b) => b.into_bound_py_any(py),
        Value::Integer(n) => i128::from(n).into_bound_py_any(py),
        Value::Float(x) => x.into_bound_py_any(py),
        Value::Text(s) => s.into_bound_py_any(py),
        Value::Bytes(b) => Ok(PyBytes::new(py, &b).into_any()),
        Value::Array(items) => {
            let items = items
                .into_iter()
                .map(|item| decode(py, item, depth + 1, key))
                .collect::<PyResult<Vec<_>>>()?;
            if key {
                Ok(PyTuple::new(py, items)?.into_any())
            } else {
                Ok(PyList::new(py, items)?.into_any())
            }
        }
        Value::Map(pairs) => {
            if key {
                return Err(Class::VaultError
                    .err("a stored map has a map as a key, which Python cannot hash"));
            }
            let dict = PyDict::new(py);
            for (k, v) in pairs {
                dict.set_item(
                    decode(py, k, depth + 1, true)?,
                    decode(py, v, depth + 1, false)?,
                )?;
            }
            Ok(dict.into_any())
        }
        Value::Tag(tag, inner) => match (tag, *inner) {
            (TAG_POS_BIGNUM, Value::Bytes(b)) => {
                BigInt::from_bytes_be(Sign::Plus, &b).into_bound_py_any(py)
            }
            (TAG_NEG_BIGNUM, Value::Bytes(b)) => {
                (-BigInt::from_bytes_be(Sign::Plus, &b) - BigInt::from(1u8)).into_bound_py_any(py)
            }
            // A tag Python has no type for (written from Rust): its content.
            (_, inner) => decode(py, inner, depth + 1, key),
        },
        // `Value` is non-exhaustive; every CBOR major type is handled above.
        _ => Err(Class::VaultError.err("a stored value has a CBOR type Python cannot represent")),
    }
}

/// An entry name from Python: a `str`, or a `TypeError` naming the type.
pub(crate) struct Name(pub(crate) String);

impl FromPyObject<'_, '_> for Name {
    type Error = PyErr;

    fn extract(ob: pyo3::Borrowed<'_, '_, PyAny>) -> PyResult<Self> {
        match ob.cast::<PyString>() {
            Ok(s) => Ok(Name(s.to_cow()?.into_owned())),
            Err(_) => {
                let type_name = ob
                    .get_type()
                    .qualname()
                    .map(|n| n.to_string())
                    .unwrap_or_else(|_| "?".to_owned());
                Err(pyo3::exceptions::PyTypeError::new_err(format!(
                    "vault keys must be str, not '{type_name}'"
                )))
            }
        }
    }
}
