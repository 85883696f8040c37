//! How values become bytes: CBOR through serde and ciborium.
//!
//! Encoding counts the output first and allocates it once, so a secret value is
//! never copied into a buffer that grows and leaves old copies behind. Decoding
//! is depth-limited, so a hostile file cannot overflow the stack, and
//! item-limited: a walk over the item heads, before serde builds anything,
//! refuses a value of more than [`MAX_ITEMS`] items. Without it a 16 MiB array
//! of one-byte items decoded into 16 Mi `ciborium::Value`s of 32 bytes each,
//! and `vaults get` used 1 GB.

use std::io;

use serde::Serialize;
use serde::de::DeserializeOwned;
use zeroize::Zeroizing;

pub(crate) use crate::limits::{MAX_STORED_LEN, MAX_VALUE_LEN};
use crate::{Error, Result};

/// Deepest nesting of arrays and maps a decoded value may have.
pub(crate) const RECURSION_LIMIT: usize = 128;

/// Most CBOR items (every head: integers, strings, arrays, map keys and
/// values, tags) a value may hold, so that decoding into a dynamic type
/// (`ciborium::Value`, `serde_json::Value`: 32 bytes an item) stays within
/// tens of MiB. Large binary data belongs in a byte string (one item).
pub const MAX_ITEMS: usize = 1 << 20;

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
    // Refuse to store what `decode` would refuse to read back.
    if let Err(Error::Decode { reason }) = walk(&buf) {
        return Err(Error::Encode { reason });
    }
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
    check_len(bytes.len())?;
    walk(bytes)?;
    ciborium::de::from_reader_with_recursion_limit(bytes, RECURSION_LIMIT).map_err(|e| {
        use ciborium::de::Error as De;
        let reason = match e {
            De::Io(_) => TRUNCATED.to_owned(),
            De::Syntax(at) => format!("{ILL_FORMED} (at byte {at})"),
            De::Semantic(_, msg) => scrub(&msg),
            De::RecursionLimitExceeded => {
                format!("nested deeper than {RECURSION_LIMIT} levels")
            }
        };
        Error::Decode { reason }
    })
}

/// Checks that `bytes` start with one CBOR item that a vault decodes: well
/// formed, at most [`MAX_ITEMS`] items, nested at most 128 levels deep.
///
/// Walks the item heads without building anything: time linear in the
/// length, memory linear in the depth. For programs that take CBOR from
/// elsewhere (the CLI's `import`, its `get`) before they decode it.
///
/// `Ok(true)`: one such item (bytes after it are not looked at).
/// `Ok(false)`: not CBOR (ill-formed or cut short): raw bytes, which vaults
/// stores and shows as they are.
///
/// ```
/// let mut many = vec![0x9a, 0x00, 0x20, 0x00, 0x00]; // an array of 2 Mi items
/// many.resize(5 + (2 << 20), 0x00);
/// assert!(vaults::check_cbor(&[0x83, 0x01, 0x02, 0x03])?); // [1, 2, 3]
/// assert!(!vaults::check_cbor(&[0x83, 0x01])?); // cut short
/// assert!(matches!(vaults::check_cbor(&many), Err(vaults::Error::Decode { .. })));
/// # Ok::<(), vaults::Error>(())
/// ```
///
/// # Errors
/// [`Error::Decode`] when the bytes are CBOR beyond those limits, which no
/// vault decodes.
pub fn check_cbor(bytes: &[u8]) -> Result<bool> {
    match walk(bytes) {
        Ok(()) => Ok(true),
        Err(Error::Decode { reason }) if reason == TRUNCATED || reason.starts_with(ILL_FORMED) => {
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

const TRUNCATED: &str = "the stored bytes end early";
const ILL_FORMED: &str = "not valid CBOR";

/// An open container, while its items are walked.
enum Open {
    /// A definite-length array or map (a map counts keys and values), or a
    /// tag (one item): this many items still to come.
    Items(u64),
    /// An indefinite-length array or map: items until a break.
    UntilBreak,
    /// An indefinite-length byte (2) or text (3) string: chunks of that
    /// major type until a break.
    Chunks(u8),
}

/// Walks the first CBOR item of `bytes` head by head (RFC 8949 §3), with no
/// recursion and no allocation beyond one entry per nesting level.
fn walk(bytes: &[u8]) -> Result<()> {
    let decode_error = |reason: String| Error::Decode { reason };
    let ill_formed = |at: usize| decode_error(format!("{ILL_FORMED} (at byte {at})"));
    let mut stack: Vec<Open> = Vec::new();
    let mut items = 0usize;
    let mut pos = 0usize;
    loop {
        let at = pos;
        let &initial = bytes
            .get(pos)
            .ok_or_else(|| decode_error(TRUNCATED.to_owned()))?;
        pos += 1;
        let (major, info) = (initial >> 5, initial & 0x1f);
        if initial == 0xff {
            // A break closes the innermost indefinite container.
            match stack.pop() {
                Some(Open::UntilBreak | Open::Chunks(_)) => {}
                _ => return Err(ill_formed(at)),
            }
        } else {
            if let Some(Open::Chunks(string)) = stack.last() {
                // A chunk of an indefinite string is a definite string of
                // the same type.
                if major != *string || info == 31 {
                    return Err(ill_formed(at));
                }
            }
            items += 1;
            if items > MAX_ITEMS {
                return Err(decode_error(format!("more than {MAX_ITEMS} items")));
            }
            let argument = match info {
                0..=23 => Some(u64::from(info)),
                24..=27 => {
                    let width = 1usize << (info - 24);
                    let field = bytes
                        .get(pos..pos + width)
                        .ok_or_else(|| decode_error(TRUNCATED.to_owned()))?;
                    pos += width;
                    Some(field.iter().fold(0u64, |n, &b| (n << 8) | u64::from(b)))
                }
                31 if matches!(major, 2..=5) => None,
                _ => return Err(ill_formed(at)),
            };
            let opened = match (major, argument) {
                (0 | 1 | 7, _) => None,
                (2 | 3, Some(len)) => {
                    let end = usize::try_from(len)
                        .ok()
                        .and_then(|len| pos.checked_add(len))
                        .filter(|&end| end <= bytes.len())
                        .ok_or_else(|| decode_error(TRUNCATED.to_owned()))?;
                    pos = end;
                    None
                }
                (2 | 3, None) => Some(Open::Chunks(major)),
                (4, Some(n)) => Some(Open::Items(n)),
                (5, Some(n)) => Some(Open::Items(n.checked_mul(2).ok_or_else(|| ill_formed(at))?)),
                (4 | 5, None) => Some(Open::UntilBreak),
                (6, Some(_)) => Some(Open::Items(1)),
                _ => return Err(ill_formed(at)),
            };
            match opened {
                Some(Open::Items(0)) | None => {}
                Some(open) => {
                    if stack.len() >= RECURSION_LIMIT {
                        return Err(decode_error(format!(
                            "nested deeper than {RECURSION_LIMIT} levels"
                        )));
                    }
                    stack.push(open);
                    continue;
                }
            }
        }
        // An item ended: count it against the definite containers it
        // completes, innermost first.
        loop {
            match stack.last_mut() {
                None => return Ok(()),
                Some(Open::Items(left)) => {
                    *left -= 1;
                    if *left > 0 {
                        break;
                    }
                    stack.pop();
                }
                Some(Open::UntilBreak | Open::Chunks(_)) => break,
            }
        }
    }
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
            assert!(matches!(
                decode::<ciborium::Value>(&bytes),
                Err(Error::Decode { .. })
            ));
        }
    }

    #[test]
    fn the_walk_accepts_what_ciborium_writes() {
        let v = ciborium::Value::Map(vec![
            (
                ciborium::Value::Text("a".into()),
                ciborium::Value::Array(vec![
                    ciborium::Value::Integer(1.into()),
                    ciborium::Value::Float(2.5),
                    ciborium::Value::Null,
                    ciborium::Value::Tag(32, Box::new(ciborium::Value::Bytes(vec![1, 2]))),
                ]),
            ),
            (
                ciborium::Value::Integer(7.into()),
                ciborium::Value::Map(vec![]),
            ),
        ]);
        let buf = encode(&v).unwrap();
        assert!(check_cbor(&buf).unwrap());
        for cut in 0..buf.len() {
            assert!(!check_cbor(&buf[..cut]).unwrap(), "cut at {cut}");
        }
        // Indefinite array [1, "ab" as two chunks], then a break.
        let indefinite = [0x9f, 0x01, 0x7f, 0x61, b'a', 0x61, b'b', 0xff, 0xff];
        assert!(check_cbor(&indefinite).unwrap());
        let back: Vec<ciborium::Value> = decode(&indefinite).unwrap();
        assert_eq!(back.len(), 2);
        // A chunk of another type, a stray break, a reserved head.
        for bad in [
            &[0x7f, 0x41, 0x00, 0xff][..],
            &[0xff],
            &[0x1c],
            &[0x9f, 0x01],
        ] {
            assert!(!check_cbor(bad).unwrap(), "{bad:x?}");
        }
    }

    #[test]
    fn items_beyond_the_limit_are_refused_before_decoding() {
        // An array head for MAX_ITEMS one-byte items: the array itself is
        // one item more than the limit.
        let mut bytes = vec![0x9a];
        bytes.extend_from_slice(&u32::try_from(MAX_ITEMS).unwrap().to_be_bytes());
        bytes.resize(5 + MAX_ITEMS, 0x00);
        let err = decode::<ciborium::Value>(&bytes).unwrap_err();
        assert!(err.to_string().contains("more than 1048576 items"), "{err}");
        assert!(matches!(check_cbor(&bytes), Err(Error::Decode { .. })));
        // One item fewer fits.
        bytes[1..5].copy_from_slice(&u32::try_from(MAX_ITEMS - 1).unwrap().to_be_bytes());
        bytes.pop();
        assert_eq!(decode::<Vec<u8>>(&bytes).unwrap().len(), MAX_ITEMS - 1);
        // Encoding refuses what decoding would (a Vec<u8> is an array).
        let big: Vec<u8> = vec![0; MAX_ITEMS];
        assert!(matches!(encode(&big), Err(Error::Encode { .. })));
        assert!(encode(&ByteBuf(&big)).is_ok());
        // A map counts its keys and its values.
        let mut map = vec![0xba];
        map.extend_from_slice(&u32::try_from(MAX_ITEMS / 2).unwrap().to_be_bytes());
        map.resize(5 + MAX_ITEMS, 0x00);
        assert!(matches!(check_cbor(&map), Err(Error::Decode { .. })));
    }

    /// Serializes as a CBOR byte string: one item whatever its length.
    struct ByteBuf<'a>(&'a [u8]);
    impl Serialize for ByteBuf<'_> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
            s.serialize_bytes(self.0)
        }
    }

    #[test]
    fn the_largest_sealed_row_fits_the_stored_length_limit() {
        use crate::crypto::aead::{HEADER_LEN, TAG_LEN, padded_len};
        let sealed = |n| HEADER_LEN + padded_len(n).unwrap() + TAG_LEN;
        // Value, sealed name, stored key, expiry and the record's headers.
        let row = sealed(MAX_VALUE_LEN) + sealed(crate::limits::MAX_NAME_LEN) + 32 + 8 + 64;
        assert!(row <= MAX_STORED_LEN, "{row} > {MAX_STORED_LEN}");
    }

    #[test]
    fn deep_nesting_is_refused_by_the_walk() {
        let mut bytes = vec![0x81u8; RECURSION_LIMIT + 1];
        bytes.push(0x00);
        assert!(matches!(check_cbor(&bytes), Err(Error::Decode { .. })));
        let mut fits = vec![0x81u8; RECURSION_LIMIT];
        fits.push(0x00);
        assert!(check_cbor(&fits).unwrap());
    }

    #[test]
    fn garbage_and_truncation_give_typed_errors() {
        let buf = encode(&vec!["alpha".to_owned(), "beta".to_owned()]).unwrap();
        for cut in 0..buf.len() {
            assert!(
                matches!(
                    decode::<Vec<String>>(&buf[..cut]),
                    Err(Error::Decode { .. })
                ),
                "cut at {cut}"
            );
        }
        assert!(matches!(
            decode::<String>(&[0xff, 0xfe, 0xfd]),
            Err(Error::Decode { .. })
        ));
    }
}
