//! How values become bytes: CBOR through serde and ciborium.
//!
//! Encoding counts the output first and allocates it once, so a secret value is
//! never copied into a buffer that grows and leaves old copies behind. Decoding
//! is depth-limited, so a hostile file cannot overflow the stack.

use std::io;

use serde::Serialize;
use serde::de::DeserializeOwned;
use zeroize::Zeroizing;

use crate::{Error, Result};

/// Deepest nesting of arrays and maps a decoded value may have.
pub(crate) const RECURSION_LIMIT: usize = 128;

/// Largest encoded value a vault stores (64 MiB).
pub(crate) const MAX_VALUE_LEN: usize = 64 << 20;

/// A writer that only counts.
struct Counter(usize);

impl io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 = self.0.saturating_add(buf.len());
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Encodes `value` as CBOR into an exactly sized, zeroizing buffer.
pub(crate) fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Zeroizing<Vec<u8>>> {
    let mut counter = Counter(0);
    ciborium::into_writer(value, &mut counter).map_err(encode_error)?;
    check_len(counter.0)?;
    let mut buf = Zeroizing::new(Vec::with_capacity(counter.0));
    ciborium::into_writer(value, &mut *buf).map_err(encode_error)?;
    Ok(buf)
}

/// Refuses values larger than [`MAX_VALUE_LEN`].
pub(crate) fn check_len(len: usize) -> Result<()> {
    if len > MAX_VALUE_LEN {
        return Err(Error::ValueTooLarge {
            len,
            limit: MAX_VALUE_LEN,
        });
    }
    Ok(())
}

/// Decodes CBOR bytes as a `T`.
///
/// # Errors
/// [`Error::Decode`] when the bytes are not CBOR or not a `T`; the message
/// keeps serde's "expected …" part (from the type) and drops whatever quotes
/// the stored data.
pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    ciborium::de::from_reader_with_recursion_limit(bytes, RECURSION_LIMIT).map_err(|e| {
        use ciborium::de::Error as De;
        let reason = match e {
            De::Io(_) => "the stored bytes end early".to_owned(),
            De::Syntax(at) => format!("not valid CBOR (at byte {at})"),
            De::Semantic(_, msg) => scrub(&msg),
            De::RecursionLimitExceeded => {
                format!("nested deeper than {RECURSION_LIMIT} levels")
            }
        };
        Error::Decode { reason }
    })
}

/// Keeps only the parts of a serde message that come from the target type.
///
/// serde writes "invalid type: string \"hunter2\", expected u32": the first
/// half quotes the data, which may be a secret. Only serde's standard shapes
/// are recognised; for those that quote data (invalid type, value or length,
/// unknown variant or field) the data is dropped and the type's "expected …"
/// is kept; anything else gets a generic message.
fn scrub(msg: &str) -> String {
    // "expected …" always comes last and from the type, so the last
    // separator is the real one even if the data contains the same words.
    let expected = || msg.rfind(", expected ").and_then(|at| msg.get(at + 2..));
    let quoting = [
        ("invalid type", "invalid type: "),
        ("invalid value", "invalid value: "),
        ("invalid length", "invalid length "),
        ("unknown variant", "unknown variant `"),
        ("unknown field", "unknown field `"),
    ];
    for (label, prefix) in quoting {
        if msg.starts_with(prefix) {
            return match expected() {
                Some(e) if label != "unknown field" => format!("{label}, {e}"),
                _ => label.to_owned(),
            };
        }
    }
    // These name a field of the target type, never data.
    if msg.starts_with("missing field `") || msg.starts_with("duplicate field `") {
        return msg.to_owned();
    }
    "the stored value has another type or shape".to_owned()
}

fn encode_error<E: std::fmt::Debug>(e: ciborium::ser::Error<E>) -> Error {
    let reason = match e {
        ciborium::ser::Error::Io(_) => "write failed".to_owned(),
        ciborium::ser::Error::Value(msg) => scrub(&msg),
    };
    Error::Encode { reason }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn encoding_is_exactly_sized() {
        let v: BTreeMap<String, Vec<u32>> = [("a".into(), vec![1, 2, 3])].into();
        let buf = encode(&v).unwrap();
        assert_eq!(buf.len(), buf.capacity());
        assert_eq!(decode::<BTreeMap<String, Vec<u32>>>(&buf).unwrap(), v);
    }

    #[test]
    fn tuples_come_back_as_sequences() {
        let buf = encode(&(1u8, "two", 3.5f64)).unwrap();
        let back: ciborium::Value = decode(&buf).unwrap();
        assert!(back.is_array());
        let seq: Vec<ciborium::Value> = decode(&buf).unwrap();
        assert_eq!(seq.len(), 3);
    }

    #[test]
    fn decode_error_never_quotes_the_value() {
        let buf = encode("hunter2-secret").unwrap();
        let err = decode::<u32>(&buf).unwrap_err().to_string();
        assert!(!err.contains("hunter2"), "{err}");
        assert!(err.contains("expected"), "{err}");
    }

    #[test]
    fn scrub_keeps_only_what_the_type_says() {
        let cases = [
            (
                "invalid type: string \"s3cret, expected x\", expected u32",
                "invalid type, expected u32",
            ),
            (
                "invalid length 3, expected a tuple of size 2",
                "invalid length, expected a tuple of size 2",
            ),
            (
                "unknown field `hunter2 expected x`, there are no fields",
                "unknown field",
            ),
            (
                "unknown variant `leak`, expected one of `A`, `B`",
                "unknown variant, expected one of `A`, `B`",
            ),
            ("missing field `user`", "missing field `user`"),
            (
                "custom message with hunter2",
                "the stored value has another type or shape",
            ),
        ];
        for (raw, want) in cases {
            assert_eq!(scrub(raw), want);
        }
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        // 100,000 nested one-element arrays: 0x81 repeated.
        let mut bytes = vec![0x81u8; 100_000];
        bytes.push(0x00);
        let err = decode::<ciborium::Value>(&bytes).unwrap_err();
        assert!(matches!(err, Error::Decode { .. }));
    }

    #[test]
    fn huge_declared_lengths_fail_cleanly() {
        // A byte string claiming 2^63 bytes, and an array claiming 2^63 items.
        for head in [0x5bu8, 0x9b] {
            let mut bytes = vec![head, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
            bytes.extend_from_slice(&[0u8; 8]);
            assert!(decode::<ciborium::Value>(&bytes).is_err());
        }
    }

    #[test]
    fn garbage_and_truncation_give_typed_errors() {
        let buf = encode(&vec!["alpha".to_owned(), "beta".to_owned()]).unwrap();
        for cut in 0..buf.len() {
            assert!(decode::<Vec<String>>(&buf[..cut]).is_err());
        }
        assert!(decode::<String>(&[0xff, 0xfe, 0xfd]).is_err());
    }
}
