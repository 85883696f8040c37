//! Decoding the blobs of the original Python module: a marker byte, then
//! msgpack (`M`) or pickle (`P`). msgpack becomes the CBOR data model
//! losslessly; pickle is never run here: its bytes are handed back as they
//! are, for a caller that can unpickle and chose to.

use ciborium::value::{Integer, Value};

use super::cbor::RECURSION_LIMIT;
use crate::{Error, Result};

/// One stored key or value of a legacy file, decoded as far as is safe.
#[derive(Debug, Clone, PartialEq)]
pub enum LegacyItem {
    /// A msgpack item, in CBOR's data model (the same shapes, one for one).
    Value(Value),
    /// The bytes of a pickle, not run: unpickling executes code chosen by
    /// whoever wrote the file.
    Pickled(Vec<u8>),
}

/// Decodes one stored key or value of a legacy file.
///
/// # Errors
/// [`Error::LegacyUnsupported`] for an unknown marker, msgpack that does not
/// decode (or has bytes after its item, or an extension type), or text that
/// is not UTF-8.
pub(crate) fn decode_item(blob: &[u8]) -> Result<LegacyItem> {
    match blob.split_first() {
        // The original read an empty blob as None.
        None => Ok(LegacyItem::Value(Value::Null)),
        // (rmpv reads msgpack's reserved marker 0xc1 as nil, where
        // msgpack-python refuses it; no writer produces it.)
        Some((b'M', mut payload)) => {
            let value = rmpv::decode::read_value_with_max_depth(&mut payload, RECURSION_LIMIT)
                .map_err(|_| unsupported("a msgpack blob does not decode"))?;
            if !payload.is_empty() {
                return Err(unsupported("a msgpack blob has bytes after its value"));
            }
            Ok(LegacyItem::Value(to_cbor(value)?))
        }
        Some((b'P', payload)) => Ok(LegacyItem::Pickled(payload.to_vec())),
        Some(_) => Err(unsupported("a blob has an unknown format marker")),
    }
}

fn unsupported(reason: &str) -> Error {
    Error::LegacyUnsupported {
        reason: reason.to_owned(),
    }
}

/// msgpack's data model into CBOR's: the same shapes, one for one.
fn to_cbor(value: rmpv::Value) -> Result<Value> {
    use rmpv::Value as M;
    Ok(match value {
        M::Nil => Value::Null,
        M::Boolean(b) => Value::Bool(b),
        M::Integer(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => Value::Integer(Integer::from(u)),
            (None, Some(i)) => Value::Integer(Integer::from(i)),
            (None, None) => return Err(unsupported("a msgpack integer is out of range")),
        },
        M::F32(x) => Value::Float(f64::from(x)),
        M::F64(x) => Value::Float(x),
        M::String(s) => match s.into_str() {
            Some(s) => Value::Text(s),
            None => return Err(unsupported("a msgpack string is not UTF-8")),
        },
        M::Binary(b) => Value::Bytes(b),
        M::Array(items) => Value::Array(items.into_iter().map(to_cbor).collect::<Result<_>>()?),
        M::Map(pairs) => Value::Map(
            pairs
                .into_iter()
                .map(|(k, v)| Ok((to_cbor(k)?, to_cbor(v)?)))
                .collect::<Result<_>>()?,
        ),
        M::Ext(..) => return Err(unsupported("a msgpack extension type is not supported")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn msgpack_values_become_the_same_cbor_values() -> Result<()> {
        // {"a": [1, -2, 1.5, true, null, b"\x00"]} packed by msgpack-python.
        let blob = b"M\x81\xa1a\x96\x01\xfe\xcb?\xf8\x00\x00\x00\x00\x00\x00\xc3\xc0\xc4\x01\x00";
        let LegacyItem::Value(v) = decode_item(blob)? else {
            return Err(unsupported("expected a value"));
        };
        let expected = Value::Map(vec![(
            Value::Text("a".into()),
            Value::Array(vec![
                Value::Integer(1.into()),
                Value::Integer((-2).into()),
                Value::Float(1.5),
                Value::Bool(true),
                Value::Null,
                Value::Bytes(vec![0]),
            ]),
        )]);
        assert_eq!(v, expected);
        Ok(())
    }

    #[test]
    fn pickle_is_handed_back_unrun_and_bad_blobs_are_refused() -> Result<()> {
        assert!(
            matches!(decode_item(b"P\x80\x04K\x01.")?, LegacyItem::Pickled(p) if p == b"\x80\x04K\x01.")
        );
        assert!(matches!(decode_item(b"")?, LegacyItem::Value(Value::Null)));
        for bad in [
            &b"X1"[..],
            b"M",
            b"M\x01\x02",
            b"M\xd4\x01\x00",
            b"M\xa2\xff\xfe",
        ] {
            assert!(
                matches!(decode_item(bad), Err(Error::LegacyUnsupported { .. })),
                "{bad:?}"
            );
        }
        Ok(())
    }
}
