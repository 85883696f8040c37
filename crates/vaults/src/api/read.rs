//! Reads and removals: one entry by name, several by name, or all of them.

use serde::de::DeserializeOwned;
use zeroize::Zeroizing;

use super::op::{Op, Scope};
use super::parallel;
use super::write::check_name;
use crate::codec::{Codec, Plaintext, StoredKey, cbor};
use crate::engine::Mode;
use crate::row::RowRef;
use crate::{Error, Integrity, Result};

/// Reads the live row under `name` and opens its value with `f`: the walk
/// of a `get` (stored key, one point read, one open).
pub(crate) fn read<R>(
    s: Scope<'_>,
    name: &str,
    f: impl FnOnce(Plaintext<'_>) -> Result<R>,
) -> Result<Option<R>> {
    check_name(name)?;
    let key = s.codec().stored_key(name);
    s.run(Mode::Read, |op| {
        op.confirm(op.rows.get(&key, |row| f(op.open_value(&row)?))?)
    })
}

/// The value under `name`, decoded.
pub(crate) fn get<T: DeserializeOwned>(s: Scope<'_>, name: &str) -> Result<Option<T>> {
    read(s, name, |plain| cbor::decode(&plain))
}

/// The raw bytes under `name`, in a buffer wiped on drop.
pub(crate) fn get_bytes(s: Scope<'_>, name: &str) -> Result<Option<Zeroizing<Vec<u8>>>> {
    read(s, name, |plain| Ok(plain.into_owned()))
}

/// Removes the entry under `name`; whether a live one was there.
pub(crate) fn remove(s: Scope<'_>, name: &str) -> Result<bool> {
    check_name(name)?;
    let key = s.codec().stored_key(name);
    s.run(Mode::Single, |op| {
        Ok(op.confirm(op.rows.take(&key, |_| Ok(()))?)?.is_some())
    })
}

/// Removes the entry under `name` and returns its value.
pub(crate) fn pop<T: DeserializeOwned>(s: Scope<'_>, name: &str) -> Result<Option<T>> {
    check_name(name)?;
    let key = s.codec().stored_key(name);
    s.run(Mode::Write, |op| {
        pop_row(op, &key, |plain| cbor::decode(plain))
    })
}

/// Deletes the live row under `key` and returns its value through `f`.
/// Run inside a write transaction, so an `f` that fails puts the row back.
pub(crate) fn pop_row<R>(
    op: &Op<'_>,
    key: &StoredKey<'_>,
    f: impl FnOnce(&[u8]) -> Result<R>,
) -> Result<Option<R>> {
    op.confirm(op.rows.take(key, |row| f(&op.open_value(&row)?))?)
}

/// The values under each of `names`, read from one snapshot.
pub(crate) fn get_many<T, N, I>(s: Scope<'_>, names: I) -> Result<Vec<Option<T>>>
where
    T: DeserializeOwned,
    I: IntoIterator<Item = N>,
    N: AsRef<str>,
{
    let codec = s.codec();
    s.run(Mode::Snapshot, |op| {
        let mut missed = false;
        let mut out = Vec::new();
        for name in names {
            let name = name.as_ref();
            check_name(name)?;
            let key = codec.stored_key(name);
            let value = op
                .rows
                .get(&key, |row| cbor::decode(&op.open_value(&row)?))?;
            missed |= value.is_none();
            out.push(value);
        }
        if missed {
            op.confirm_current()?;
        }
        Ok(out)
    })
}

/// Removes each of `names` and returns their values, in one transaction.
pub(crate) fn pop_many<T, N, I>(s: Scope<'_>, names: I) -> Result<Vec<Option<T>>>
where
    T: DeserializeOwned,
    I: IntoIterator<Item = N>,
    N: AsRef<str>,
{
    let codec = s.codec();
    s.run(Mode::Write, |op| {
        let mut out = Vec::new();
        for name in names {
            let name = name.as_ref();
            check_name(name)?;
            out.push(pop_row(op, &codec.stored_key(name), |plain| {
                cbor::decode(plain)
            })?);
        }
        Ok(out)
    })
}

/// Whether every one of `names` has a live entry.
pub(crate) fn has_keys<N, I>(s: Scope<'_>, names: I) -> Result<bool>
where
    I: IntoIterator<Item = N>,
    N: AsRef<str>,
{
    let codec = s.codec();
    s.run(Mode::Snapshot, |op| {
        for name in names {
            let name = name.as_ref();
            check_name(name)?;
            if super::ttl::live_expiry(op, &codec.stored_key(name))?.is_none() {
                return Ok(false);
            }
        }
        Ok(true)
    })
}

/// Removes and returns the most recently inserted live entry.
pub(crate) fn pop_item<T: DeserializeOwned>(s: Scope<'_>) -> Result<Option<(String, T)>> {
    s.run(Mode::Write, |op| {
        let Some(key) = op.rows.last_key()? else {
            return Ok(None);
        };
        op.rows.take(&key, |row| {
            Ok((op.open_name(&row)?, cbor::decode(&op.open_value(&row)?)?))
        })
    })
}

/// Removes every entry.
pub(crate) fn clear(s: Scope<'_>) -> Result<()> {
    s.run(Mode::Single, |op| op.rows.clear().map(drop))
}

/// Number of live entries.
pub(crate) fn len(s: Scope<'_>) -> Result<u64> {
    s.run(Mode::Read, |op| op.rows.count())
}

/// The names of all live entries, sorted.
pub(crate) fn keys(s: Scope<'_>) -> Result<Vec<String>> {
    let codec = s.codec();
    let mut names = match codec {
        Codec::Plain => s.run(Mode::Read, |op| {
            let mut names = Vec::new();
            scan_live(op, false, |row| {
                names.push(op.open_name(&row)?);
                Ok(())
            })?;
            Ok(names)
        })?,
        // The scan copies the sealed names out (checking each one's
        // generation, which may need the storage) in batches, each opened
        // on every core once full: the memory a listing takes beyond its
        // names is one batch.
        Codec::Sealed(_) => s.run(Mode::Read, |op| {
            let mut names = Vec::new();
            let mut batch = SealedNames::default();
            let open = |batch: &mut SealedNames, names: &mut Vec<String>| -> Result<()> {
                names.extend(parallel::map(&batch.rows, |r| {
                    codec.open_name(&batch.row(r))
                })?);
                batch.clear();
                Ok(())
            };
            scan_live(op, false, |row| {
                let name = row.name.ok_or(Error::Integrity(Integrity::Name))?;
                op.check_name_generation(name)?;
                batch.push(&row, name);
                match batch.rows.len() >= LISTING_BATCH {
                    true => open(&mut batch, &mut names),
                    false => Ok(()),
                }
            })?;
            open(&mut batch, &mut names)?;
            Ok(names)
        })?,
    };
    names.sort_unstable();
    Ok(names)
}

/// Sealed names a listing copies out before opening them (~1 MiB).
const LISTING_BATCH: usize = 8_192;

/// Sealed names of a listing, copied out of the storage into one buffer:
/// two allocations for a batch instead of two a row.
#[derive(Default)]
struct SealedNames {
    bytes: Vec<u8>,
    rows: Vec<SealedName>,
}

/// Where one row's key and sealed name sit in [`SealedNames::bytes`].
struct SealedName {
    start: usize,
    key_len: usize,
    name_len: usize,
    expires_at: Option<i64>,
}

impl SealedNames {
    fn push(&mut self, row: &RowRef<'_>, name: &[u8]) {
        self.rows.push(SealedName {
            start: self.bytes.len(),
            key_len: row.key.len(),
            name_len: name.len(),
            expires_at: row.expires_at,
        });
        self.bytes.extend_from_slice(row.key);
        self.bytes.extend_from_slice(name);
    }

    fn clear(&mut self) {
        self.bytes.clear();
        self.rows.clear();
    }

    fn row(&self, r: &SealedName) -> RowRef<'_> {
        let key_end = r.start + r.key_len;
        RowRef {
            key: self.bytes.get(r.start..key_end).unwrap_or_default(),
            name: self.bytes.get(key_end..key_end + r.name_len),
            expires_at: r.expires_at,
            value: &[],
        }
    }
}

/// Every live entry, sorted by name.
pub(crate) fn items<T: DeserializeOwned>(s: Scope<'_>) -> Result<Vec<(String, T)>> {
    let mut items = s.run(Mode::Read, |op| {
        let mut items = Vec::new();
        scan_live(op, true, |row| {
            let name = op.open_name(&row)?;
            let value = cbor::decode(&op.open_value(&row)?)?;
            items.push((name, value));
            Ok(())
        })?;
        Ok(items)
    })?;
    items.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    Ok(items)
}

/// Hands every live row to `f`, for a listing sorted afterwards: in key
/// order where keys sort as names (the sort is then a pass over sorted
/// names), else in table order, which reads pages in sequence instead of
/// jumping from the index to the table at every row.
fn scan_live(op: &Op<'_>, values: bool, mut f: impl FnMut(RowRef<'_>) -> Result<()>) -> Result<()> {
    match op.codec().keys_sort_as_names() {
        true => op.rows.scan(None, None, values, &mut f).map(drop),
        false => op.rows.scan_all(values, &mut f),
    }
}
