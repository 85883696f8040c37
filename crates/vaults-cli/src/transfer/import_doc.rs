//! Reading our JSON export document as a stream, one entry at a time,
//! within limits, with errors that quote nothing of the input.

use std::cell::{Cell, RefCell};
use std::io::Read;
use std::rc::Rc;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::bounded_json::{self, BoundedValue};
use crate::error::{Error, Result};
use crate::transfer::{ENTRY_TEXT_MAX, Entry, FORMAT, Item};
use crate::values::{self, Encoding};

/// Counts the bytes read since the last entry, and fails past
/// [`ENTRY_TEXT_MAX`]: the JSON parser holds an entry whole, so without
/// this one endless string would take all memory.
struct Metered<R> {
    inner: R,
    since_entry: Rc<Cell<u64>>,
    over: Rc<Cell<bool>>,
}

impl<R: Read> Read for Metered<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let total = self.since_entry.get().saturating_add(n as u64);
        self.since_entry.set(total);
        if total > ENTRY_TEXT_MAX {
            self.over.set(true);
            return Err(std::io::Error::other("an entry is too large"));
        }
        Ok(n)
    }
}

/// What the streaming parse hands each entry to, with its number (from 1).
type Sink<'a> = dyn FnMut(usize, Entry) -> Result<()> + 'a;

/// Parses our export document from a stream, handing each entry to the sink
/// as soon as it is read.
struct DocSeed<'a, 'b> {
    sink: &'b mut Sink<'a>,
    since_entry: Rc<Cell<u64>>,
    failure: &'b RefCell<Option<Error>>,
}

impl DocSeed<'_, '_> {
    fn fail<E: de::Error>(&self, e: Error) -> E {
        *self.failure.borrow_mut() = Some(e);
        E::custom("the import stopped")
    }
}

impl<'de> DeserializeSeed<'de> for DocSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for DocSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a vaults export")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let (mut format, mut version, mut entries) = (false, false, false);
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "format" => {
                    if map.next_value::<String>()? != FORMAT {
                        return Err(
                            self.fail(Error::other("not a vaults export (wrong `format` field)"))
                        );
                    }
                    format = true;
                }
                "version" => {
                    let v = map.next_value::<u32>()?;
                    if v != 1 {
                        return Err(self.fail(Error::other(format!(
                            "export version {v} is newer than this vaults reads (1)"
                        ))));
                    }
                    version = true;
                }
                "entries" => {
                    map.next_value_seed(EntriesSeed {
                        sink: &mut *self.sink,
                        since_entry: &self.since_entry,
                        failure: self.failure,
                    })?;
                    entries = true;
                }
                _ => {
                    map.next_value::<de::IgnoredAny>()?;
                }
            }
        }
        for (seen, field) in [
            (format, "format"),
            (version, "version"),
            (entries, "entries"),
        ] {
            if !seen {
                return Err(self.fail(Error::other(format!(
                    "not a vaults export (no `{field}` field)"
                ))));
            }
        }
        Ok(())
    }
}

/// The `entries` array, streamed into the sink.
struct EntriesSeed<'a, 'b> {
    sink: &'b mut Sink<'a>,
    since_entry: &'b Cell<u64>,
    failure: &'b RefCell<Option<Error>>,
}

impl<'de> DeserializeSeed<'de> for EntriesSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for EntriesSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a list of entries")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut n = 0;
        loop {
            let refused = Cell::new(false);
            let entry = match seq.next_element_seed(EntrySeed { refused: &refused }) {
                Ok(Some(entry)) => entry,
                Ok(None) => break,
                Err(e) if refused.get() => {
                    *self.failure.borrow_mut() = Some(Error::other(format!(
                        "entry {} of the export: {} ({} items)",
                        n + 1,
                        bounded_json::TOO_MANY_ITEMS,
                        vaults::MAX_ITEMS
                    )));
                    return Err(e);
                }
                Err(e) => return Err(e),
            };
            self.since_entry.set(0);
            n += 1;
            if let Err(e) = (self.sink)(n, entry) {
                *self.failure.borrow_mut() = Some(e);
                return Err(de::Error::custom("the import stopped"));
            }
        }
        Ok(())
    }
}

/// One entry of the `entries` array. Its value is read within the item
/// limit of a stored value ([`BoundedValue`]); `refused` says when that
/// limit stopped it. Unknown fields are ignored, as they always were.
struct EntrySeed<'b> {
    refused: &'b Cell<bool>,
}

impl<'de> DeserializeSeed<'de> for EntrySeed<'_> {
    type Value = Entry;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Entry, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for EntrySeed<'_> {
    type Value = Entry;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an entry")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entry, A::Error> {
        let (mut name, mut encoding, mut value, mut expires_at) = (None, None, None, None);
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "name" if name.is_none() => name = Some(map.next_value::<String>()?),
                "encoding" if encoding.is_none() => {
                    encoding = Some(map.next_value::<Encoding>()?);
                }
                "value" if value.is_none() => {
                    let left = Cell::new(vaults::MAX_ITEMS);
                    value = Some(map.next_value_seed(BoundedValue {
                        left: &left,
                        refused: self.refused,
                    })?);
                }
                "expires_at" if expires_at.is_none() => {
                    expires_at = Some(map.next_value::<Option<i64>>()?);
                }
                "name" | "encoding" | "value" | "expires_at" => {
                    return Err(de::Error::custom("a field is repeated"));
                }
                _ => {
                    map.next_value::<de::IgnoredAny>()?;
                }
            }
        }
        Ok(Entry {
            name: name.ok_or_else(|| de::Error::missing_field("name"))?,
            encoding: encoding.ok_or_else(|| de::Error::missing_field("encoding"))?,
            value: value.ok_or_else(|| de::Error::missing_field("value"))?,
            expires_at: expires_at.flatten(),
        })
    }
}

/// Parses our export document from a stream, handing each entry (numbered
/// from 1) to `sink` as soon as it is read: memory holds one entry, whatever
/// their number. `encrypted` says the stream is an age decryption, whose
/// read errors mean a modified file. Fails with the sink's own error, or
/// with one that quotes nothing of the input.
pub fn parse_export(
    input: impl Read,
    encrypted: bool,
    sink: &mut dyn FnMut(usize, Item) -> Result<()>,
) -> Result<()> {
    let failure = RefCell::new(None);
    let since_entry = Rc::new(Cell::new(0));
    let over = Rc::new(Cell::new(false));
    let reader = std::io::BufReader::with_capacity(
        64 << 10,
        Metered {
            inner: input,
            since_entry: since_entry.clone(),
            over: over.clone(),
        },
    );
    let mut convert = |n: usize, entry: Entry| -> Result<()> {
        let value = values::from_json_field(entry.value, entry.encoding)
            .map_err(|why| Error::other(format!("entry {n} of the export: {why}")))?;
        let item = Item {
            name: entry.name,
            value,
            expires_at: entry.expires_at,
        };
        sink(n, item)
    };
    let mut de = serde_json::Deserializer::from_reader(reader);
    let parsed = DocSeed {
        sink: &mut convert,
        since_entry,
        failure: &failure,
    }
    .deserialize(&mut de)
    // Trailing bytes are an error, and reading to the end makes an age
    // stream check its last chunk before anything commits.
    .and_then(|()| de.end());
    let Err(e) = parsed else { return Ok(()) };
    Err(failure.into_inner().unwrap_or_else(|| {
        if over.get() {
            Error::other(format!(
                "an entry of the export is larger than {} of JSON",
                crate::input::human_size(usize::try_from(ENTRY_TEXT_MAX).unwrap_or(0))
            ))
        } else if e.is_io() && encrypted {
            Error::auth("the export fails its integrity check (it was modified or cut short)")
        } else if e.is_io() {
            Error::other(format!("cannot read the export: {}", e.classify_text()))
        } else {
            Error::other(format!("not a vaults export: {}", e.classify_text()))
        }
    }))
}

/// Explains a JSON error by its class and position only: the text around it
/// may be a secret.
trait Classify {
    fn classify_text(&self) -> String;
}

impl Classify for serde_json::Error {
    fn classify_text(&self) -> String {
        let what = match self.classify() {
            serde_json::error::Category::Io => "read error",
            serde_json::error::Category::Syntax => "syntax error",
            serde_json::error::Category::Data => "unexpected structure",
            serde_json::error::Category::Eof => "unexpected end",
        };
        format!("{what} at line {} column {}", self.line(), self.column())
    }
}
