//! Writes of values: one entry ([`write()`]), many in one transaction
//! ([`put_all`]), or one only if missing ([`get_or_insert`]).

use serde::Serialize;
use serde::de::DeserializeOwned;
use zeroize::Zeroizing;

use super::op::Scope;
use super::parallel;
use crate::clock::duration_ms;
use crate::codec::{Codec, cbor};
use crate::engine::Mode;
use crate::expiry::Expiry;
use crate::row::RowRef;
use crate::{Error, MAX_NAME_LEN, Result};

/// Checks an entry name: not empty, at most [`MAX_NAME_LEN`] bytes.
pub(crate) fn check_name(name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(Error::InvalidName { reason: "empty" });
    }
    if name.len() > MAX_NAME_LEN {
        return Err(Error::InvalidName {
            reason: "longer than 1024 bytes",
        });
    }
    Ok(())
}

/// Checks the name of an entry being written: as [`check_name`], and no
/// control character (C0, DEL, C1: NUL, newline, escape...). Such a name
/// prints as something else (`a\nb` looks like two names, an escape code
/// rewrites the terminal) and a NUL cannot come back through a command line.
/// Reads and removals take any name, so entries written before this rule
/// stay reachable.
pub(crate) fn check_new_name(name: &str) -> Result<()> {
    check_name(name)?;
    if name.chars().any(char::is_control) {
        return Err(Error::InvalidName {
            reason: "has a control character (NUL, newline, escape...)",
        });
    }
    Ok(())
}

/// The shared body of every write of one value.
pub(crate) fn write(s: Scope<'_>, name: &str, plain: &[u8], expiry: Expiry) -> Result<()> {
    if matches!(expiry, Expiry::After(d) if d.is_zero()) {
        return super::read::remove(s, name).map(drop);
    }
    let codec = s.codec();
    let key = codec.stored_key(name);
    match expiry {
        Expiry::Never | Expiry::After(_) => {
            let at = match expiry {
                Expiry::After(d) => Some(s.now_ms().saturating_add(duration_ms(d))),
                _ => None,
            };
            // Sealed before the lock is taken: crypto never holds up other writers.
            let sealed_name = codec.seal_name(&key, name, at)?;
            let sealed = codec.seal_value(&key, plain, at)?;
            s.run(Mode::Single, |op| {
                if let Some(at) = at {
                    op.rows.check_new_expiry(at)?;
                }
                op.rows.upsert(&key, sealed_name.as_deref(), at, &sealed)
            })
        }
        // The kept expiry is read verified (the `expires_at` column alone is
        // not authenticated, and sealing under it would make an expiry edited
        // in the file genuine).
        Expiry::Keep => s.run(Mode::Write, |op| {
            let at = op.rows.head(&key, |row| {
                op.check_expiry(&row)?;
                Ok(row.expires_at)
            })?;
            let at = at.flatten();
            let sealed_name = codec.seal_name(&key, name, at)?;
            let sealed = codec.seal_value(&key, plain, at)?;
            op.rows.upsert(&key, sealed_name.as_deref(), at, &sealed)
        }),
    }
}

/// A step of a bulk put ends after this many rows, or once its sealed rows
/// hold [`BULK_STEP_BYTES`], whichever comes first.
const BULK_STEP_ROWS: usize = 65_536;

/// The bytes of rows a step of a bulk put holds at most (a little over, by
/// the last row), bounding its memory.
const BULK_STEP_BYTES: usize = 16 << 20;

/// The shared body of the bulk puts: in one write transaction, steps of
/// items (see [`BULK_STEP_ROWS`]) are sealed, sorted by stored key and
/// written. In key order, the inserts walk the key index once per step
/// instead of landing on a random page each (the keys of an encrypted vault
/// are hashes), so the larger the step, the fewer pages each row dirties;
/// the sort is stable, so of two values for one name the later still wins.
pub(crate) fn put_all<N, B>(s: Scope<'_>, items: impl Iterator<Item = Result<(N, B)>>) -> Result<()>
where
    N: AsRef<str>,
    B: AsRef<[u8]>,
{
    let codec = s.codec();
    // One row of a step: the stored key, the `name` column, the `value` column.
    let seal = |&(name, plain): &(&str, &[u8])| -> Result<SealedRow> {
        let key = codec.stored_key(name);
        let sealed_name = codec.seal_name(&key, name, None)?;
        let sealed = Zeroizing::new(codec.seal_value(&key, plain, None)?.into_owned());
        Ok((key.to_vec(), sealed_name, sealed))
    };
    s.run(Mode::Write, |op| {
        let mut items = items.peekable();
        let mut gathered: Vec<(N, B)> = Vec::new();
        while items.peek().is_some() {
            gathered.clear();
            let mut bytes = 0;
            while gathered.len() < BULK_STEP_ROWS && bytes < BULK_STEP_BYTES {
                let Some(item) = items.next() else { break };
                let (name, plain) = item?;
                check_new_name(name.as_ref())?;
                bytes += name.as_ref().len() + plain.as_ref().len() + ROW_OVERHEAD;
                gathered.push((name, plain));
            }
            let refs: Vec<(&str, &[u8])> = gathered
                .iter()
                .map(|(name, plain)| (name.as_ref(), plain.as_ref()))
                .collect();
            // Sealing is the costly part of an encrypted row and needs no
            // storage: spread it over the cores. A plain row is a copy.
            let mut step = match codec {
                Codec::Sealed(_) => parallel::map(&refs, seal)?,
                Codec::Plain => refs.iter().map(seal).collect::<Result<Vec<_>>>()?,
            };
            step.sort_by(|a, b| a.0.cmp(&b.0));
            let rows: Vec<RowRef<'_>> = step
                .iter()
                .map(|(key, name, value)| RowRef {
                    key,
                    name: name.as_deref(),
                    expires_at: None,
                    value,
                })
                .collect();
            op.rows.upsert_many(&rows)?;
        }
        Ok(())
    })
}

/// A row of a bulk put, sealed: stored key, `name` column, `value` column.
type SealedRow = (Vec<u8>, Option<Vec<u8>>, Zeroizing<Vec<u8>>);

/// What a sealed row adds to its name and value, about (a blind index, two
/// nonces and tags, padding): for [`BULK_STEP_BYTES`].
const ROW_OVERHEAD: usize = 128;

/// The value under `name`, after storing `default` there if it was missing.
pub(crate) fn get_or_insert<T: Serialize + DeserializeOwned>(
    s: Scope<'_>,
    name: &str,
    default: T,
) -> Result<T> {
    check_new_name(name)?;
    let plain = cbor::encode(&default)?;
    let codec = s.codec();
    let key = codec.stored_key(name);
    s.run(Mode::Write, |op| {
        if let Some(v) = op
            .rows
            .get(&key, |row| cbor::decode(&op.open_value(&row)?))?
        {
            return Ok(v);
        }
        let sealed_name = codec.seal_name(&key, name, None)?;
        let sealed = codec.seal_value(&key, &plain, None)?;
        op.rows
            .upsert(&key, sealed_name.as_deref(), None, &sealed)?;
        Ok(default)
    })
}
