//! How stored values meet the outside: text, raw bytes, JSON, environment
//! variables, and the export format.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ciborium::Value;
use serde::{Serialize, Serializer};
use serde_json::{Map, Number, Value as Json};
use zeroize::{Zeroize, Zeroizing};

/// Raw bytes that serialize as a CBOR byte string.
pub struct Bytes<'a>(pub &'a [u8]);

impl Serialize for Bytes<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(self.0)
    }
}

/// How a value is written in JSON (`get --json`, exports).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    /// A text string, as a JSON string.
    Text,
    /// A structured value, as JSON.
    Json,
    /// A byte string, as base64.
    Base64,
    /// Anything JSON cannot hold exactly (CBOR tags, non-string map keys,
    /// big integers, raw non-CBOR bytes): the stored bytes, as base64.
    Cbor,
}

/// A stored value decoded for printing.
pub enum Shown {
    Text(String),
    Bytes(Vec<u8>),
    Json(Json),
}

/// Decodes stored bytes (CBOR, or raw bytes from another program) for output.
pub fn show(stored: &[u8]) -> (Shown, Encoding) {
    // Bytes beyond the decoding limits (a planted array of millions of
    // items) would take gigabytes as `Value`s: shown raw, like non-CBOR.
    if !matches!(vaults::check_cbor(stored), Ok(true)) {
        return (Shown::Bytes(stored.to_vec()), Encoding::Cbor);
    }
    match ciborium::de::from_reader_with_recursion_limit::<Value, _>(stored, 128) {
        Ok(Value::Text(t)) => (Shown::Text(t), Encoding::Text),
        Ok(Value::Bytes(b)) => (Shown::Bytes(b), Encoding::Base64),
        Ok(v) => {
            let json = to_json(&v);
            wipe_cbor(v);
            match json {
                Some(j) => (Shown::Json(j), Encoding::Json),
                None => (Shown::Bytes(stored.to_vec()), Encoding::Cbor),
            }
        }
        Err(_) => (Shown::Bytes(stored.to_vec()), Encoding::Cbor),
    }
}

/// The content of `stored` when it is exactly one definite-length CBOR
/// byte string, or text string holding UTF-8: what [`show`] would print,
/// as a slice of the stored bytes rather than a decoded copy.
pub fn string_payload(stored: &[u8]) -> Option<&[u8]> {
    let (&initial, rest) = stored.split_first()?;
    let (major, info) = (initial >> 5, initial & 0x1f);
    if major != 2 && major != 3 {
        return None;
    }
    let (len, payload) = match info {
        0..=23 => (u64::from(info), rest),
        24..=27 => {
            let (field, payload) = rest.split_at_checked(1 << (info - 24))?;
            let len = field.iter().fold(0u64, |n, &b| (n << 8) | u64::from(b));
            (len, payload)
        }
        _ => return None,
    };
    if u64::try_from(payload.len()).ok()? != len {
        return None;
    }
    (major == 2 || std::str::from_utf8(payload).is_ok()).then_some(payload)
}

/// Wipes every string and byte string of a decoded CBOR tree (the value of
/// an entry) as it is dropped.
fn wipe_cbor(v: Value) {
    match v {
        Value::Text(mut t) => t.zeroize(),
        Value::Bytes(mut b) => b.zeroize(),
        Value::Array(items) => items.into_iter().for_each(wipe_cbor),
        Value::Map(pairs) => pairs.into_iter().for_each(|(k, v)| {
            wipe_cbor(k);
            wipe_cbor(v);
        }),
        Value::Tag(_, inner) => wipe_cbor(*inner),
        _ => {}
    }
}

/// Wipes every string of a JSON tree (map keys too) as it is dropped.
pub fn wipe_json(j: Json) {
    match j {
        Json::String(mut s) => s.zeroize(),
        Json::Array(items) => items.into_iter().for_each(wipe_json),
        Json::Object(map) => map.into_iter().for_each(|(mut k, v)| {
            k.zeroize();
            wipe_json(v);
        }),
        _ => {}
    }
}

/// A writer that only counts, to size a buffer before writing into it.
struct Counter(usize);

impl std::io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 = self.0.saturating_add(buf.len());
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `value` as compact JSON in a buffer sized first, so that it never grows
/// and leaves copies behind, and wiped on drop.
pub fn to_json_bytes<T: Serialize>(value: &T) -> Zeroizing<Vec<u8>> {
    let mut counter = Counter(0);
    // Serializing a JSON tree into memory cannot fail.
    let _ = serde_json::to_writer(&mut counter, &value);
    let mut out = Zeroizing::new(Vec::with_capacity(counter.0));
    let _ = serde_json::to_writer(&mut *out, &value);
    out
}

/// The `get --json` document: `doc` with `value` added under "value",
/// written as by [`to_json_bytes`]; `value` is wiped afterwards.
pub fn json_with_value(mut doc: Json, value: Json) -> Zeroizing<Vec<u8>> {
    if let Json::Object(map) = &mut doc {
        map.insert("value".to_owned(), value);
    }
    let out = to_json_bytes(&doc);
    wipe_json(doc);
    out
}

/// The value as JSON plus its encoding, for `--json` and exports.
pub fn to_json_field(stored: &[u8]) -> (Json, Encoding) {
    match show(stored) {
        (Shown::Text(t), e) => (Json::String(t), e),
        (Shown::Json(j), e) => (j, e),
        (Shown::Bytes(b), e) => (Json::String(BASE64.encode(b)), e),
    }
}

/// CBOR as JSON when the conversion is exact; `None` otherwise.
fn to_json(v: &Value) -> Option<Json> {
    Some(match v {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Text(t) => Json::String(t.clone()),
        Value::Integer(i) => {
            let n = i128::from(*i);
            match (i64::try_from(n), u64::try_from(n)) {
                (Ok(n), _) => Json::Number(n.into()),
                (_, Ok(n)) => Json::Number(n.into()),
                _ => return None,
            }
        }
        Value::Float(f) => Json::Number(Number::from_f64(*f)?),
        Value::Array(items) => Json::Array(items.iter().map(to_json).collect::<Option<_>>()?),
        Value::Map(pairs) => {
            let mut map = Map::new();
            for (k, v) in pairs {
                let Value::Text(k) = k else { return None };
                if map.insert(k.clone(), to_json(v)?).is_some() {
                    return None;
                }
            }
            Json::Object(map)
        }
        // Bytes, tags and the rest have no exact JSON form.
        _ => return None,
    })
}

/// The value as one environment variable string (`exec`): text as is,
/// structured values as compact JSON, bytes only when UTF-8.
pub fn env_value(stored: &[u8]) -> Option<String> {
    let s = match show(stored).0 {
        Shown::Text(t) => t,
        Shown::Json(j) => j.to_string(),
        Shown::Bytes(b) => String::from_utf8(b).ok()?,
    };
    (!s.contains('\0')).then_some(s)
}

/// [`env_value`] for a value already decoded from CBOR (as the library's
/// iterator hands them out).
pub fn env_value_of(value: Value) -> Option<String> {
    let s = match value {
        Value::Text(t) => t,
        Value::Bytes(b) => String::from_utf8(b).ok()?,
        v => match to_json(&v) {
            Some(j) => j.to_string(),
            // As `show` does: no exact JSON, so the CBOR bytes themselves.
            None => {
                let mut cbor = Vec::new();
                ciborium::into_writer(&v, &mut cbor).ok()?;
                String::from_utf8(cbor).ok()?
            }
        },
    };
    (!s.contains('\0')).then_some(s)
}

/// The environment variable name for an entry: upper-cased, every character
/// that is not an ASCII letter or digit turned into `_`, after `prefix`.
pub fn env_name(prefix: &str, name: &str) -> String {
    let mut out = String::with_capacity(prefix.len() + name.len());
    out.push_str(prefix);
    out.extend(name.chars().map(|c| match c.is_ascii_alphanumeric() {
        true => c.to_ascii_uppercase(),
        false => '_',
    }));
    out
}

/// Bytes to store for a JSON field of an export, by its encoding.
pub fn from_json_field(value: Json, encoding: Encoding) -> Result<Stored, String> {
    // Taken by value: a value of up to 128 MiB of text is moved, not copied.
    match (encoding, value) {
        (Encoding::Text, Json::String(s)) => Ok(Stored::Text(s)),
        (Encoding::Json, v) => Ok(Stored::Json(v)),
        (Encoding::Base64, Json::String(s)) => BASE64
            .decode(s)
            .map(Stored::Bytes)
            .map_err(|_| "a base64 value does not decode".to_owned()),
        (Encoding::Cbor, Json::String(s)) => {
            let raw = BASE64
                .decode(s)
                .map_err(|_| "a cbor value does not decode".to_owned())?;
            check_raw(&raw)?;
            Ok(Stored::Raw(raw))
        }
        _ => Err(format!("a value does not match its encoding {encoding:?}")),
    }
}

/// Refuses raw bytes that are CBOR beyond the limits no vault decodes
/// (non-CBOR bytes are stored and shown as they are): every raw value that
/// enters from outside passes here.
pub fn check_raw(raw: &[u8]) -> Result<(), String> {
    match vaults::check_cbor(raw) {
        Ok(_) => Ok(()),
        Err(vaults::Error::Decode { reason }) => Err(format!("a cbor value is refused: {reason}")),
        Err(e) => Err(format!("a cbor value is refused: {e}")),
    }
}

/// A value on its way into a vault.
pub enum Stored {
    Text(String),
    Bytes(Vec<u8>),
    Json(Json),
    /// Stored bytes as they are.
    Raw(Vec<u8>),
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    fn cbor<T: Serialize>(v: &T) -> Vec<u8> {
        let mut out = Vec::new();
        ciborium::into_writer(v, &mut out).unwrap();
        out
    }

    #[test]
    fn string_payloads_match_what_show_prints() {
        let long = "x".repeat(300);
        for stored in [
            cbor(&"hi"),
            cbor(&long),
            cbor(&Bytes(b"\x00\xff")),
            cbor(&""),
        ] {
            let shown = match show(&stored).0 {
                Shown::Text(t) => t.into_bytes(),
                Shown::Bytes(b) => b,
                Shown::Json(_) => panic!("not a string"),
            };
            assert_eq!(string_payload(&stored), Some(&shown[..]));
        }
        // Structures, trailing bytes, cut strings, bad UTF-8: decoded instead.
        let mut trailing = cbor(&"hi");
        trailing.push(0);
        for stored in [cbor(&[1, 2]), trailing, vec![0x63, b'a'], vec![0x61, 0xff]] {
            assert_eq!(string_payload(&stored), None, "{stored:x?}");
        }
    }

    #[test]
    fn env_names_are_upper_snake() {
        assert_eq!(env_name("", "db/password"), "DB_PASSWORD");
        assert_eq!(env_name("APP_", "api-token.v2"), "APP_API_TOKEN_V2");
        assert_eq!(env_name("", "ключ"), "____");
    }

    #[test]
    fn values_show_by_kind() {
        assert!(matches!(show(&cbor(&"hi")), (Shown::Text(t), Encoding::Text) if t == "hi"));
        assert!(
            matches!(show(&cbor(&Bytes(b"\x00\xff"))), (Shown::Bytes(b), Encoding::Base64) if b == b"\x00\xff")
        );
        let (j, e) = to_json_field(&cbor(&serde_json::json!({"a": [1, 2.5, null]})));
        assert_eq!(e, Encoding::Json);
        assert_eq!(j, serde_json::json!({"a": [1, 2.5, null]}));
        // Not CBOR at all: shown raw.
        assert!(matches!(
            show(&[0xff, 0xff]),
            (Shown::Bytes(_), Encoding::Cbor)
        ));
    }

    #[test]
    fn inexact_json_falls_back_to_cbor() {
        let map = Value::Map(vec![(Value::Integer(1.into()), Value::Text("x".into()))]);
        let (_, e) = to_json_field(&cbor(&map));
        assert_eq!(e, Encoding::Cbor);
    }

    #[test]
    fn env_values_are_the_same_decoded_or_not() {
        let cases = [
            cbor(&"text"),
            cbor(&"a\0b"),
            cbor(&Bytes(b"utf-8 bytes")),
            cbor(&Bytes(b"\xff")),
            cbor(&serde_json::json!({"a": [1, 2.5, null]})),
            cbor(&Value::Map(vec![(
                Value::Integer(1.into()),
                Value::Text("x".into()),
            )])),
            cbor(&Value::Tag(2, Box::new(Value::Bytes(vec![1])))),
        ];
        for stored in cases {
            let value: Value = ciborium::from_reader(stored.as_slice()).unwrap();
            assert_eq!(env_value_of(value), env_value(&stored), "{stored:02x?}");
        }
    }

    #[test]
    fn env_values_refuse_nul() {
        assert_eq!(env_value(&cbor(&"a\0b")), None);
        assert_eq!(
            env_value(&cbor(&serde_json::json!([1]))).as_deref(),
            Some("[1]")
        );
    }
}
