//! Writing our JSON export document, streamed from the vault.

use std::cell::RefCell;
use std::io::Write;

use serde::Serialize;
use serde::ser::{self, SerializeSeq, Serializer};
use vaults::{Store, Ttl};
use zeroize::{Zeroize, Zeroizing};

use crate::error::{Error, Result};
use crate::transfer::{Entry, FORMAT, now_ms};
use crate::values;

/// Our export document as it is written (`docs/format.md`): `format`,
/// `version`, then the entries, streamed from the vault.
#[derive(Serialize)]
struct Streamed<'a> {
    format: &'static str,
    version: u32,
    entries: StreamedEntries<'a>,
}

/// The entries of an export, written one at a time as the vault is read.
struct StreamedEntries<'a> {
    items: RefCell<Option<Box<dyn Iterator<Item = Result<Entry>> + 'a>>>,
    /// Why the stream stopped, when it was not the writer.
    failure: &'a RefCell<Option<Error>>,
}

impl Serialize for StreamedEntries<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let items = self
            .items
            .borrow_mut()
            .take()
            .ok_or_else(|| ser::Error::custom("the entries were written twice"))?;
        let mut seq = s.serialize_seq(None)?;
        for item in items {
            match item {
                Ok(entry) => seq.serialize_element(&entry)?,
                Err(e) => {
                    *self.failure.borrow_mut() = Some(e);
                    return Err(ser::Error::custom("the export stopped"));
                }
            }
        }
        seq.end()
    }
}

/// A write buffer that is wiped when dropped (the export's plaintext passes
/// through it).
struct WipedBuf<W: Write> {
    inner: W,
    buf: Zeroizing<Vec<u8>>,
}

impl<W: Write> WipedBuf<W> {
    const SIZE: usize = 64 << 10;

    fn new(inner: W) -> Self {
        Self {
            inner,
            buf: Zeroizing::new(Vec::with_capacity(Self::SIZE)),
        }
    }

    fn drain(&mut self) -> std::io::Result<()> {
        self.inner.write_all(&self.buf)?;
        // `clear` keeps the allocation: the next bytes overwrite these.
        self.buf.zeroize();
        self.buf.clear();
        Ok(())
    }
}

impl<W: Write> Write for WipedBuf<W> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if self.buf.len() + data.len() > Self::SIZE {
            self.drain()?;
        }
        if data.len() >= Self::SIZE {
            return self.inner.write(data);
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.drain()?;
        self.inner.flush()
    }
}

/// Writes every live entry of `store`, read in one snapshot (a read
/// transaction: writers are not held up however slowly `out` drains), to `out` as
/// our JSON document, one entry at a time: memory holds the sorted names
/// and one value, never the document. The bytes are those `serde_json::to_vec_pretty`
/// gives for the whole document, plus a newline (as before it streamed).
pub fn write_export<S: Store>(store: &S, out: &mut dyn Write) -> Result<()> {
    let failure = RefCell::new(None);
    let stopped = |e: Error, failure: &RefCell<Option<Error>>| {
        *failure.borrow_mut() = Some(e);
        vaults::Error::Io(std::io::Error::other("the export stopped"))
    };
    let done = store.snapshot(|snap| {
        let now = now_ms();
        // Names sorted, as exports always were (diffable backups): the names
        // are held, the values are read one at a time.
        let names = snap.keys()?;
        let items = names.into_iter().filter_map(move |name| {
            let entry = (|| -> vaults::Result<Option<Entry>> {
                let (Some(stored), Some(ttl)) = (snap.get_bytes(&name)?, snap.ttl(&name)?) else {
                    return Ok(None);
                };
                let (value, encoding) = values::to_json_field(&stored);
                let expires_at = match ttl {
                    Ttl::Never => None,
                    Ttl::Remaining(d) => {
                        Some(now.saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)))
                    }
                };
                Ok(Some(Entry {
                    name,
                    encoding,
                    value,
                    expires_at,
                }))
            })();
            entry.map_err(Error::from).transpose()
        });
        let doc = Streamed {
            format: FORMAT,
            version: 1,
            entries: StreamedEntries {
                items: RefCell::new(Some(Box::new(items))),
                failure: &failure,
            },
        };
        let mut buf = WipedBuf::new(&mut *out);
        serde_json::to_writer_pretty(&mut buf, &doc)
            .map_err(|e| match e.io_error_kind() {
                Some(kind) => std::io::Error::from(kind),
                None => std::io::Error::other("the export stopped"),
            })
            .and_then(|()| buf.write_all(b"\n"))
            .and_then(|()| buf.flush())
            .map_err(|e| {
                let why = failure.borrow_mut().take();
                stopped(why.unwrap_or_else(|| write_error(e)), &failure)
            })
    });
    match done {
        Ok(()) => Ok(()),
        Err(e) => Err(failure.borrow_mut().take().unwrap_or_else(|| e.into())),
    }
}

/// A failed write of the export. A reader that went away (`| head`) is
/// not an error: `main` finds the broken pipe in it.
pub(crate) fn write_error(e: std::io::Error) -> Error {
    Error::io("cannot write the export", e)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;
    use crate::values::Encoding;
    use serde_json::Value as Json;

    /// The whole document as `serde_json` wrote it before the export streamed.
    #[derive(Serialize)]
    struct Document {
        format: String,
        version: u32,
        entries: Vec<Entry>,
    }

    #[test]
    fn the_streamed_export_is_the_document_it_always_was() {
        let vault = vaults::Vault::open_in_memory().unwrap();
        let mut out = Vec::new();
        write_export(&vault, &mut out).unwrap();
        let mut expected = serde_json::to_vec_pretty(&Document {
            format: FORMAT.into(),
            version: 1,
            entries: Vec::new(),
        })
        .unwrap();
        expected.push(b'\n');
        assert_eq!(out, expected);

        vault.put("a", "x").unwrap();
        vault.put_bytes("b", &[0xff]).unwrap();
        let mut out = Vec::new();
        write_export(&vault, &mut out).unwrap();
        let entry = |name: &str, encoding, value: Json| Entry {
            name: name.into(),
            encoding,
            value,
            expires_at: None,
        };
        let mut expected = serde_json::to_vec_pretty(&Document {
            format: FORMAT.into(),
            version: 1,
            entries: vec![
                entry("a", Encoding::Text, Json::String("x".into())),
                entry("b", Encoding::Cbor, Json::String("/w==".into())),
            ],
        })
        .unwrap();
        expected.push(b'\n');
        assert_eq!(
            String::from_utf8(out).unwrap(),
            String::from_utf8(expected).unwrap()
        );
    }
}
