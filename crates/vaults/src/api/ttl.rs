//! Expiry: reading it, moving it (sealing the row again when the codec
//! binds it), and deleting what has expired.

use std::time::Duration;

use serde::de::DeserializeOwned;

use super::op::{Op, Scope};
use super::read::pop_row;
use super::write::check_name;
use crate::Result;
use crate::clock::duration_ms;
use crate::codec::cbor;
use crate::engine::Mode;
use crate::expiry::{ExpireIf, Ttl};
use crate::row::{Resealed, RowRef};

/// Reads the value under `name` and moves its expiry to `ttl` from now.
pub(crate) fn get_ex<T: DeserializeOwned>(
    s: Scope<'_>,
    name: &str,
    ttl: Duration,
) -> Result<Option<T>> {
    check_name(name)?;
    let key = s.codec().stored_key(name);
    s.run(Mode::Write, |op| {
        if ttl.is_zero() {
            return pop_row(op, &key, |plain| cbor::decode(plain));
        }
        let at = op.rows.clock().saturating_add(duration_ms(ttl));
        let read = op.rows.get(&key, |row| {
            reseal(op, &row, Some(at), |plain| cbor::decode(plain))
        })?;
        let Some((value, resealed)) = op.confirm(read)? else {
            return Ok(None);
        };
        op.rows.check_new_expiry(at)?;
        op.rows.set_expiry(&key, Some(at), resealed.as_ref())?;
        Ok(Some(value))
    })
}

/// The time to live of the entry under `name`.
pub(crate) fn ttl(s: Scope<'_>, name: &str) -> Result<Option<Ttl>> {
    check_name(name)?;
    let key = s.codec().stored_key(name);
    s.run(Mode::Read, |op| {
        let found = live_expiry(op, &key)?;
        Ok(found.map(|at| Ttl::at(at, op.rows.now())))
    })
}

/// Sets the entry's expiry to `ttl` from now if `cond` allows.
pub(crate) fn expire(s: Scope<'_>, name: &str, ttl: Duration, cond: ExpireIf) -> Result<bool> {
    check_name(name)?;
    let key = s.codec().stored_key(name);
    s.run(Mode::Write, |op| {
        let Some(current) = live_expiry(op, &key)? else {
            return Ok(false);
        };
        let at = op.rows.clock().saturating_add(duration_ms(ttl));
        if !cond.allows(current, at) {
            return Ok(false);
        }
        if ttl.is_zero() {
            op.rows.take(&key, |_| Ok(()))?;
        } else {
            op.rows.check_new_expiry(at)?;
            set_expiry(op, &key, Some(at))?;
        }
        Ok(true)
    })
}

/// Removes the entry's expiry; whether it had one.
pub(crate) fn persist(s: Scope<'_>, name: &str) -> Result<bool> {
    check_name(name)?;
    let key = s.codec().stored_key(name);
    s.run(Mode::Write, |op| match live_expiry(op, &key)? {
        Some(Some(_)) => {
            set_expiry(op, &key, None)?;
            Ok(true)
        }
        Some(None) | None => Ok(false),
    })
}

/// Deletes every expired entry; returns how many.
pub(crate) fn cleanup_expired(s: Scope<'_>) -> Result<u64> {
    let n = s.run(Mode::Single, |op| op.rows.delete_expired())?;
    tracing::debug!(deleted = n, "cleaned up expired entries");
    Ok(n)
}

/// The expiry of the live row under `key`, verified by the codec: `None`
/// when there is no live row (a miss confirmed under current keys),
/// `Some(None)` when it never expires.
pub(crate) fn live_expiry(op: &Op<'_>, key: &[u8]) -> Result<Option<Option<i64>>> {
    let found = op.rows.head(key, |row| {
        op.check_expiry(&row)?;
        Ok(row.expires_at)
    })?;
    op.confirm(found)
}

/// Opens a row's value through `f` and, when the codec binds the expiry,
/// seals its name and value again for the new expiry `at`.
fn reseal<R>(
    op: &Op<'_>,
    row: &RowRef<'_>,
    at: Option<i64>,
    f: impl FnOnce(&[u8]) -> Result<R>,
) -> Result<(R, Option<Resealed>)> {
    let plain = op.open_value(row)?;
    let out = f(&plain)?;
    let codec = op.codec();
    if !codec.binds_expiry() {
        return Ok((out, None));
    }
    let name = op.open_name(row)?;
    let resealed = Resealed {
        name: codec.seal_name(row.key, &name, at)?,
        value: codec.seal_value(row.key, &plain, at)?.into_owned(),
    };
    Ok((out, Some(resealed)))
}

/// Moves the expiry of the live row under `key`, sealing its value again
/// when the codec binds the expiry.
fn set_expiry(op: &Op<'_>, key: &[u8], at: Option<i64>) -> Result<()> {
    if !op.codec().binds_expiry() {
        return op.rows.set_expiry(key, at, None);
    }
    if let Some(((), resealed)) = op.rows.get(key, |row| reseal(op, &row, at, |_| Ok(())))? {
        op.rows.set_expiry(key, at, resealed.as_ref())?;
    }
    Ok(())
}
