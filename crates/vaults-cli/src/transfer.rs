//! `export` and `import`: our JSON document (plain, or encrypted for stock
//! `age`/`rage` with a passphrase) and `.env` files.

use std::cell::{Cell, RefCell};
use std::io::{Read, Write};
use std::path::Path;
use std::rc::Rc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{self, SerializeSeq, Serializer};
use serde_json::Value as Json;
use vaults::{Store, Ttl};
use zeroize::{Zeroize, Zeroizing};

use crate::bounded_json::{self, BoundedValue};
use crate::error::{CliError, CliResult};
use crate::names;
use crate::values::{self, Bytes, Encoding, Stored};

/// The `format` field of our export document.
const FORMAT: &str = "vaults-export";

/// One entry of an export (read by [`EntrySeed`]).
#[derive(Serialize)]
pub struct Entry {
    name: String,
    encoding: Encoding,
    value: Json,
    /// Unix milliseconds; absent or null for never.
    expires_at: Option<i64>,
}

/// An entry parsed from any import format.
pub struct Item {
    pub name: String,
    pub value: Stored,
    pub expires_at: Option<i64>,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The largest scrypt work factor (log2 of N) an age file may ask for on
/// import: 2^20 takes 1 GiB of memory and seconds of work. A file asking for
/// more is refused before any work (a 200-byte file could otherwise cost
/// gigabytes).
pub const MAX_WORK_FACTOR: u8 = 20;

/// The scrypt work factor of our exports: 2^18, 256 MiB and about half a
/// second. Fixed, rather than age's "a second on this machine", so that an
/// export made on a fast machine still imports under [`MAX_WORK_FACTOR`]
/// everywhere.
pub const EXPORT_WORK_FACTOR: u8 = 18;

/// The most JSON text one entry of an export may take: twice the value
/// limit, which leaves room for base64 (4/3) and escapes.
pub const ENTRY_TEXT_MAX: u64 = 2 * vaults::MAX_VALUE_LEN as u64;

/// The largest `.env` file `import` reads (it is read whole).
pub const ENV_FILE_MAX: usize = vaults::MAX_VALUE_LEN;

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
    items: RefCell<Option<Box<dyn Iterator<Item = CliResult<Entry>> + 'a>>>,
    /// Why the stream stopped, when it was not the writer.
    failure: &'a RefCell<Option<CliError>>,
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
pub fn write_export<S: Store>(store: &S, out: &mut dyn Write) -> CliResult<()> {
    let failure = RefCell::new(None);
    let stopped = |e: CliError, failure: &RefCell<Option<CliError>>| {
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
            entry.map_err(CliError::from).transpose()
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
                stopped(why.unwrap_or_else(|| write_error(&e)), &failure)
            })
    });
    match done {
        Ok(()) => Ok(()),
        Err(e) => Err(failure.borrow_mut().take().unwrap_or_else(|| e.into())),
    }
}

/// A failed write of the export; a reader that went away (`| head`) is not
/// an error.
fn write_error(e: &std::io::Error) -> CliError {
    match e.kind() {
        std::io::ErrorKind::BrokenPipe => CliError::new(0, ""),
        _ => CliError::failure(format!("cannot write the export: {e}")),
    }
}

/// Runs `write` into an age encryption (passphrase, ASCII armor) of `out`,
/// as `age -d` decrypts: plaintext goes through in chunks, never whole.
pub fn age_encrypt(
    passphrase: &str,
    out: &mut dyn Write,
    write: impl FnOnce(&mut dyn Write) -> CliResult<()>,
) -> CliResult<()> {
    let secret = age::secrecy::SecretString::from(passphrase.to_owned());
    let mut recipient = age::scrypt::Recipient::new(secret);
    recipient.set_work_factor(EXPORT_WORK_FACTOR);
    let encryptor =
        age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
            .map_err(|e| CliError::failure(format!("cannot encrypt the export: {e}")))?;
    let fail = |e: std::io::Error| write_error(&e);
    let armored = age::armor::ArmoredWriter::wrap_output(out, age::armor::Format::AsciiArmor)
        .map_err(fail)?;
    let mut writer = encryptor.wrap_output(armored).map_err(fail)?;
    write(&mut writer)?;
    writer
        .finish()
        .and_then(|armor| armor.finish())
        .map_err(fail)?;
    Ok(())
}

/// The plaintext of an age file (armored or binary) encrypted with a
/// passphrase, as a stream: each chunk is checked as it is read, so a
/// modified file fails part-way (the import, one transaction, then stores
/// nothing).
pub fn age_decrypt<'a>(input: impl Read + 'a, passphrase: &str) -> CliResult<Box<dyn Read + 'a>> {
    let reader = age::armor::ArmoredReader::new(input);
    let decryptor = age::Decryptor::new_buffered(std::io::BufReader::new(reader))
        .map_err(|e| CliError::failure(format!("not an age file: {e}")))?;
    let mut identity =
        age::scrypt::Identity::new(age::secrecy::SecretString::from(passphrase.to_owned()));
    identity.set_max_work_factor(MAX_WORK_FACTOR);
    let stream = decryptor
        .decrypt(std::iter::once(&identity as &dyn age::Identity))
        .map_err(|e| match e {
            age::DecryptError::DecryptionFailed | age::DecryptError::NoMatchingKeys => {
                CliError::new(
                    crate::error::AUTH,
                    "wrong export passphrase, or the file was modified",
                )
            }
            age::DecryptError::ExcessiveWork { required, .. } => CliError::failure(format!(
                "the export asks for scrypt work factor {required}; vaults accepts at most \
                 {MAX_WORK_FACTOR} (1 GiB of memory), so it was not tried"
            )),
            other => CliError::failure(format!("cannot decrypt the export: {other}")),
        })?;
    Ok(Box::new(stream))
}

/// Whether `data` (the start of a file) looks like an age file.
pub fn is_age(data: &[u8]) -> bool {
    data.starts_with(b"-----BEGIN AGE ENCRYPTED FILE-----")
        || data.starts_with(b"age-encryption.org/")
}

/// Whether `data` (the start of a file) looks like a JSON document.
pub fn is_json(data: &[u8]) -> bool {
    data.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
}

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
type Sink<'a> = dyn FnMut(usize, Entry) -> CliResult<()> + 'a;

/// Parses our export document from a stream, handing each entry to the sink
/// as soon as it is read.
struct DocSeed<'a, 'b> {
    sink: &'b mut Sink<'a>,
    since_entry: Rc<Cell<u64>>,
    failure: &'b RefCell<Option<CliError>>,
}

impl DocSeed<'_, '_> {
    fn fail<E: de::Error>(&self, e: CliError) -> E {
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
                        return Err(self.fail(CliError::failure(
                            "not a vaults export (wrong `format` field)",
                        )));
                    }
                    format = true;
                }
                "version" => {
                    let v = map.next_value::<u32>()?;
                    if v != 1 {
                        return Err(self.fail(CliError::failure(format!(
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
                return Err(self.fail(CliError::failure(format!(
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
    failure: &'b RefCell<Option<CliError>>,
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
                    *self.failure.borrow_mut() = Some(CliError::failure(format!(
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
    sink: &mut dyn FnMut(usize, Item) -> CliResult<()>,
) -> CliResult<()> {
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
    let mut convert = |n: usize, entry: Entry| -> CliResult<()> {
        let value = values::from_json_field(entry.value, entry.encoding)
            .map_err(|why| CliError::failure(format!("entry {n} of the export: {why}")))?;
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
            CliError::failure(format!(
                "an entry of the export is larger than {} of JSON",
                crate::input::human_size(usize::try_from(ENTRY_TEXT_MAX).unwrap_or(0))
            ))
        } else if e.is_io() && encrypted {
            CliError::new(
                crate::error::AUTH,
                "the export fails its integrity check (it was modified or cut short)",
            )
        } else if e.is_io() {
            CliError::failure(format!("cannot read the export: {}", e.classify_text()))
        } else {
            CliError::failure(format!("not a vaults export: {}", e.classify_text()))
        }
    }))
}

/// Imports our JSON export from a stream ([`parse_export`]) in one
/// transaction: all or nothing. Returns (stored, skipped as expired).
pub fn import_json<S: Store>(
    store: &S,
    input: impl Read,
    encrypted: bool,
    mut tick: impl FnMut(),
) -> CliResult<(u64, u64)> {
    let failure = RefCell::new(None);
    let now = now_ms();
    let done = store.transaction(|tx| {
        let mut counts = (0, 0);
        let mut sink = |n: usize, item: Item| -> CliResult<()> {
            tick();
            match put_item(tx, &item, now) {
                Ok(true) => counts.0 += 1,
                Ok(false) => counts.1 += 1,
                Err(
                    e @ (vaults::Error::InvalidName { .. } | vaults::Error::ValueTooLarge { .. }),
                ) => {
                    let e = CliError::from(e);
                    return Err(CliError::new(
                        e.code,
                        format!("entry {n} of the export: {}", e.message),
                    ));
                }
                Err(e) => return Err(e.into()),
            }
            Ok(())
        };
        match parse_export(input, encrypted, &mut sink) {
            Ok(()) => Ok(counts),
            // Any error rolls the transaction back; the real one is kept.
            Err(e) => {
                *failure.borrow_mut() = Some(e);
                Err(vaults::Error::Io(std::io::Error::other(
                    "the import stopped",
                )))
            }
        }
    });
    match done {
        Ok(counts) => Ok(counts),
        Err(e) => Err(failure.into_inner().unwrap_or_else(|| e.into())),
    }
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

/// Parses a `.env` file: `KEY=VALUE` lines, `#` comments, an optional
/// `export ` prefix, values bare, 'single-quoted' (literal) or
/// "double-quoted" (with the escapes `vaults ls` writes names with:
/// `\n \t \r \0 \" \' \\ \u{...}`; any other is refused).
pub fn parse_env(data: &[u8]) -> CliResult<Vec<Item>> {
    let text =
        std::str::from_utf8(data).map_err(|_| CliError::failure("the .env file is not UTF-8"))?;
    let mut items = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let bad = |why: &str| CliError::failure(format!("line {} of the .env file: {why}", n + 1));
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").map_or(line, str::trim_start);
        let (key, raw) = line.split_once('=').ok_or_else(|| bad("no `=`"))?;
        let key = key.trim();
        if key.is_empty() || key.contains(char::is_whitespace) {
            return Err(bad("the name is empty or has spaces"));
        }
        let raw = raw.trim();
        let value = if let Some(rest) = raw.strip_prefix('"') {
            // What follows the closing quote is ignored, as before.
            let (value, _) = names::unescape_quoted(rest)
                .map_err(|e| bad(&format!("a double-quoted value with {e}")))?;
            value
        } else if let Some(rest) = raw.strip_prefix('\'') {
            let end = rest
                .find('\'')
                .ok_or_else(|| bad("unterminated single quote"))?;
            rest.get(..end).unwrap_or_default().to_owned()
        } else {
            // A bare value ends at an inline comment.
            let end = raw.find(" #").unwrap_or(raw.len());
            raw.get(..end).unwrap_or_default().trim_end().to_owned()
        };
        items.push(Item {
            name: key.to_owned(),
            value: Stored::Text(value),
            expires_at: None,
        });
    }
    Ok(items)
}

/// Stores `items` in one transaction, skipping those already expired;
/// returns (stored, skipped).
pub fn store<S: Store>(store: &S, items: &[Item], mut tick: impl FnMut()) -> CliResult<(u64, u64)> {
    let now = now_ms();
    let counts = store.transaction(|tx| {
        let (mut stored, mut skipped) = (0, 0);
        for item in items {
            tick();
            match put_item(tx, item, now)? {
                true => stored += 1,
                false => skipped += 1,
            }
        }
        Ok((stored, skipped))
    })?;
    Ok(counts)
}

/// Stores one imported item, unless it expired before `now`; whether it
/// was stored.
fn put_item<S: Store>(tx: &S, item: &Item, now: i64) -> vaults::Result<bool> {
    let ttl = match item.expires_at {
        None => None,
        Some(at) if at <= now => return Ok(false),
        Some(at) => Some(Duration::from_millis(u64::try_from(at - now).unwrap_or(0))),
    };
    let name = item.name.as_str();
    match (&item.value, ttl) {
        (Stored::Text(s), None) => tx.put(name, s)?,
        (Stored::Text(s), Some(t)) => tx.put_with_ttl(name, s, t)?,
        (Stored::Bytes(b), None) => tx.put(name, &Bytes(b))?,
        (Stored::Bytes(b), Some(t)) => tx.put_with_ttl(name, &Bytes(b), t)?,
        (Stored::Json(j), None) => tx.put(name, j)?,
        (Stored::Json(j), Some(t)) => tx.put_with_ttl(name, j, t)?,
        // Raw bytes go in as they are, as `get_bytes` gave them out. (Where
        // codec validation of stored CBOR lands, e.g. a `validate_cbor`, this
        // is the one place an import hands over bytes it did not encode.)
        (Stored::Raw(b), None) => tx.put_bytes(name, b)?,
        (Stored::Raw(b), Some(t)) => tx.put_bytes_with_ttl(name, b, t)?,
    }
    Ok(true)
}

/// An input file (or stdin for `-`), with its first bytes read ahead to
/// guess its format.
pub struct Input {
    pub head: Vec<u8>,
    rest: Box<dyn Read>,
}

impl Input {
    /// Opens `path` and reads its first bytes.
    pub fn open(path: &Path) -> CliResult<Input> {
        let cannot =
            |e: std::io::Error| CliError::failure(format!("cannot read {}: {e}", path.display()));
        let mut rest: Box<dyn Read> = if path.as_os_str() == "-" {
            Box::new(std::io::stdin())
        } else {
            Box::new(std::fs::File::open(path).map_err(cannot)?)
        };
        let mut head = Vec::with_capacity(4096);
        (&mut rest)
            .take(4096)
            .read_to_end(&mut head)
            .map_err(cannot)?;
        Ok(Input { head, rest })
    }

    /// All of the input, from its first byte.
    pub fn reader(self) -> impl Read {
        std::io::Cursor::new(self.head).chain(self.rest)
    }

    /// All of the input, which must be at most `cap` bytes, in a wiped-on-drop
    /// buffer.
    pub fn read_all(self, cap: usize) -> CliResult<Zeroizing<Vec<u8>>> {
        use crate::input::{ReadError, human_size, read_capped};
        match read_capped(&mut self.reader(), cap) {
            Ok(data) => Ok(data),
            Err(ReadError::TooLarge) => Err(CliError::failure(format!(
                "the file is larger than {}",
                human_size(cap)
            ))),
            Err(ReadError::OutOfMemory) => {
                Err(CliError::failure("cannot read the file: out of memory"))
            }
            Err(ReadError::Io(e)) => Err(CliError::failure(format!("cannot read the file: {e}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    fn text(item: &Item) -> &str {
        match &item.value {
            Stored::Text(s) => s,
            _ => panic!("not text"),
        }
    }

    #[test]
    fn env_files_parse() {
        let items = parse_env(
            b"# comment\nA=1\nexport B = two words # note\nC='lit $x \\n'\nD=\"a\\nb \\\"q\\\"\"\n\nE=\n",
        )
        .unwrap();
        let got: Vec<_> = items.iter().map(|i| (i.name.as_str(), text(i))).collect();
        assert_eq!(
            got,
            [
                ("A", "1"),
                ("B", "two words"),
                ("C", "lit $x \\n"),
                ("D", "a\nb \"q\""),
                ("E", "")
            ]
        );
    }

    #[test]
    fn env_errors_name_the_line_not_the_value() {
        let err = parse_env(b"A=1\nSECRETVALUE\n").err().unwrap();
        assert!(err.message.contains("line 2"), "{}", err.message);
        assert!(!err.message.contains("SECRETVALUE"));
        assert!(parse_env(b"A=\"open").is_err());
    }

    /// `.env` double quotes use the one unescaper of `vaults ls` names, and
    /// its errors name the line and what is wrong, never the value.
    #[test]
    fn env_double_quotes_take_name_escapes_and_refuse_others() {
        let items = parse_env(b"A=\"\\u{41}\\0\\\\\\'\" # note\n").unwrap();
        assert_eq!(text(&items[0]), "A\0\\'");
        // Regression: `\$` in a sourced `.env` file was refused by the shared
        // unescaper; it was imported as `$` before, and is again.
        let items = parse_env(b"P=\"pa\\$s \\`x\\`\"\n").unwrap();
        assert_eq!(text(&items[0]), "pa$s `x`");
        for (data, why) in [
            (&b"A=\"SECRET\\u{41\"\n"[..], "unterminated \\u{...} escape"),
            (b"A=\"SECRET\\q\"\n", "unknown escape"),
            (b"A=\"SECRET\\\"\n", "no closing quote"),
        ] {
            let err = parse_env(data).err().unwrap();
            assert!(err.message.contains("line 1"), "{}", err.message);
            assert!(err.message.contains(why), "{}", err.message);
            assert!(!err.message.contains("SECRET"), "{}", err.message);
        }
    }

    fn import(data: &[u8]) -> CliResult<(u64, u64)> {
        let vault = vaults::Vault::open_in_memory().unwrap();
        import_json(&vault, data, false, || ())
    }

    #[test]
    fn json_errors_do_not_quote_input() {
        let err =
            import(b"{\"format\": \"vaults-export\", \"version\": 1, \"entries\": [hunter2]}")
                .err()
                .unwrap();
        assert!(!err.message.contains("hunter2"), "{}", err.message);
        let err = import(b"{\"format\": \"vaults-export\", \"entries\": []}")
            .err()
            .unwrap();
        assert!(err.message.contains("no `version`"), "{}", err.message);
    }

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

    #[test]
    fn age_round_trip() {
        let mut sealed = Vec::new();
        age_encrypt("pw", &mut sealed, |w| {
            w.write_all(b"{\"x\":1}").map_err(|e| write_error(&e))
        })
        .unwrap();
        assert!(is_age(&sealed));
        let mut plain = Vec::new();
        age_decrypt(&sealed[..], "pw")
            .unwrap()
            .read_to_end(&mut plain)
            .unwrap();
        assert_eq!(plain, b"{\"x\":1}");
        assert_eq!(
            age_decrypt(&sealed[..], "nope").err().unwrap().code,
            crate::error::AUTH
        );
    }
}
