//! `mv` and `cp`: an entry under a new name, with its value and expiry, in
//! one write transaction (nothing is half done when it fails).

use std::time::Duration;

use vaults::{Expiry, Store, Ttl};

use crate::error::{Error, Result};

/// What the transaction found.
enum Outcome {
    Done,
    Missing,
    Exists,
}

/// Copies `from` to `to` (and removes `from` when `remove`), keeping the
/// value as stored and the time left before it expires. `to` is replaced
/// only with `force`.
pub fn copy_entry<S: Store>(s: &S, from: &str, to: &str, force: bool, remove: bool) -> Result<()> {
    if from == to {
        return Err(Error::usage(format!(
            "{from:?} is both the entry and its new name: nothing to do"
        )));
    }
    let outcome = s.transaction(|t| {
        let Some(value) = t.get_bytes(from)? else {
            return Ok(Outcome::Missing);
        };
        let expiry = match t.ttl(from)? {
            None => return Ok(Outcome::Missing),
            Some(Ttl::Never) => Expiry::Never,
            // An entry about to expire keeps at least a millisecond: zero
            // would delete the copy instead.
            Some(Ttl::Remaining(left)) => Expiry::After(left.max(Duration::from_millis(1))),
        };
        if !force && t.contains(to)? {
            return Ok(Outcome::Exists);
        }
        t.put_bytes_with(to, &value, expiry)?;
        if remove {
            t.remove(from)?;
        }
        Ok(Outcome::Done)
    })?;
    match outcome {
        Outcome::Done => Ok(()),
        Outcome::Missing => Err(Error::no_entry(from)),
        Outcome::Exists => Err(Error::other(format!(
            "an entry named {to:?} exists; nothing changed (--force replaces it)"
        ))),
    }
}
