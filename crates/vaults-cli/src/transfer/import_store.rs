//! Storing what an import parsed: in one transaction, all or nothing,
//! skipping entries already expired.

use std::cell::RefCell;
use std::io::Read;
use std::time::Duration;

use vaults::{Expiry, Store};

use crate::error::{Error, Result};
use crate::transfer::{Item, now_ms, parse_export};
use crate::values::{Bytes, Stored};

/// Imports our JSON export from a stream ([`parse_export`]) in one
/// transaction: all or nothing. Returns (stored, skipped as expired).
pub fn import_json<S: Store>(
    store: &S,
    input: impl Read,
    encrypted: bool,
    mut tick: impl FnMut(),
) -> Result<(u64, u64)> {
    let failure = RefCell::new(None);
    let now = now_ms();
    let done = store.transaction(|tx| {
        let mut counts = (0, 0);
        let mut sink = |n: usize, item: Item| -> Result<()> {
            tick();
            match put_item(tx, &item, now) {
                Ok(true) => counts.0 += 1,
                Ok(false) => counts.1 += 1,
                Err(
                    e @ (vaults::Error::InvalidName { .. } | vaults::Error::ValueTooLarge { .. }),
                ) => {
                    return Err(Error::InEntry {
                        n,
                        source: Box::new(e.into()),
                    });
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

/// Stores `items` in one transaction, skipping those already expired;
/// returns (stored, skipped).
pub fn store<S: Store>(store: &S, items: &[Item], mut tick: impl FnMut()) -> Result<(u64, u64)> {
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
        (Stored::Raw(b), Some(t)) => tx.put_bytes_with(name, b, Expiry::After(t))?,
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    fn import(data: &[u8]) -> Result<(u64, u64)> {
        let vault = vaults::Vault::open_in_memory().unwrap();
        import_json(&vault, data, false, || ())
    }

    #[test]
    fn json_errors_do_not_quote_input() {
        let err =
            import(b"{\"format\": \"vaults-export\", \"version\": 1, \"entries\": [hunter2]}")
                .err()
                .unwrap();
        assert!(!err.to_string().contains("hunter2"), "{}", err.to_string());
        let err = import(b"{\"format\": \"vaults-export\", \"entries\": []}")
            .err()
            .unwrap();
        assert!(
            err.to_string().contains("no `version`"),
            "{}",
            err.to_string()
        );
    }
}
