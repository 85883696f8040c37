//! [`Snapshot`]: a read-only view of a vault at one instant.

use std::fmt;

use serde::de::DeserializeOwned;
use zeroize::Zeroizing;

use super::transaction::Transaction;
use crate::{Result, Store, Ttl};

/// A read transaction, handed to the closure of
/// [`Store::snapshot`]: every read through it sees
/// the vault as it was at its first read, whatever other handles commit
/// meanwhile.
///
/// It offers reads only. It takes no lock: writers (other handles, other
/// processes) go on committing while it is open, so a long read, such as an
/// export streaming into a slow pipe, blocks nobody. Time stands still in
/// it, as in a [`Transaction`].
pub struct Snapshot<'a> {
    /// The rows, read inside `BEGIN DEFERRED`; only its read methods are used.
    tx: Transaction<'a>,
}

impl fmt::Debug for Snapshot<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Snapshot").finish_non_exhaustive()
    }
}

impl<'a> Snapshot<'a> {
    pub(crate) fn new(tx: Transaction<'a>) -> Self {
        Self { tx }
    }

    /// As [`Store::get`].
    ///
    /// # Errors
    /// As [`Store::get`].
    pub fn get<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>> {
        self.tx.get(name)
    }

    /// As [`Store::get_bytes`].
    ///
    /// # Errors
    /// As [`Store::get_bytes`].
    pub fn get_bytes(&self, name: &str) -> Result<Option<Zeroizing<Vec<u8>>>> {
        self.tx.get_bytes(name)
    }

    /// As [`Store::contains`].
    ///
    /// # Errors
    /// As [`Store::contains`].
    pub fn contains(&self, name: &str) -> Result<bool> {
        self.tx.contains(name)
    }

    /// As [`Store::ttl`].
    ///
    /// # Errors
    /// As [`Store::ttl`].
    pub fn ttl(&self, name: &str) -> Result<Option<Ttl>> {
        self.tx.ttl(name)
    }

    /// As [`Store::keys`].
    ///
    /// # Errors
    /// As [`Store::keys`].
    pub fn keys(&self) -> Result<Vec<String>> {
        self.tx.keys()
    }

    /// As [`Store::len`].
    ///
    /// # Errors
    /// As [`Store::len`].
    pub fn len(&self) -> Result<u64> {
        self.tx.len()
    }

    /// As [`Store::is_empty`].
    ///
    /// # Errors
    /// As [`Store::is_empty`].
    pub fn is_empty(&self) -> Result<bool> {
        self.tx.is_empty()
    }
}
