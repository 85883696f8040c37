//! How a name and a value become a stored row, and back.
//!
//! Every operation is written once (in `store.rs`) against this trait; a plain
//! vault stores names and values as they are, an encrypted one (in `crypto`)
//! hides names behind a keyed index and seals everything.

use std::borrow::Cow;
use std::ops::Deref;

use zeroize::Zeroizing;

use super::rows::{RowRef, Rows};
use crate::{Error, Result};

/// The key a name is stored under: the name itself, or a 32-byte hash of it.
#[derive(Debug)]
pub enum StoredKey<'n> {
    /// A plain vault stores the name's bytes.
    Name(&'n [u8]),
    /// An encrypted vault stores a keyed hash of the name.
    Hash([u8; 32]),
}

impl Deref for StoredKey<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            StoredKey::Name(n) => n,
            StoredKey::Hash(h) => h,
        }
    }
}

/// Turns names and values into row contents and back.
pub trait Envelope: Send + Sync {
    /// Whether a sealed value binds its expiry, so changing the expiry means
    /// sealing the value again.
    const BINDS_EXPIRY: bool;

    /// Whether stored keys sort as names do (a plain vault's keys are the
    /// names), so that a scan in key order lists names sorted. When they do
    /// not, listings read the table in its own order and sort the names.
    const KEYS_SORT_AS_NAMES: bool;

    /// The stored key for `name`.
    fn stored_key<'n>(&self, name: &'n str) -> StoredKey<'n>;

    /// The `name` column for `name` stored under `key` expiring at
    /// `expires_at` (`None` for plain).
    fn seal_name(&self, key: &[u8], name: &str, expires_at: Option<i64>)
    -> Result<Option<Vec<u8>>>;

    /// The name of a stored row read through `rows`.
    fn open_name(&self, rows: &Rows<'_>, row: &RowRef<'_>) -> Result<String>;

    /// The `value` column for `plaintext` stored under `key` expiring at `expires_at`.
    fn seal_value<'p>(
        &self,
        key: &[u8],
        plaintext: &'p [u8],
        expires_at: Option<i64>,
    ) -> Result<Cow<'p, [u8]>>;

    /// Opens the value of a row read through `rows` and hands the plaintext to `f`.
    fn open_value<R>(
        &self,
        rows: &Rows<'_>,
        row: &RowRef<'_>,
        f: impl FnOnce(&[u8]) -> Result<R>,
    ) -> Result<R>;

    /// Opens the value of a row read through `rows` into a buffer of its own,
    /// wiped on drop.
    fn open_value_owned(&self, rows: &Rows<'_>, row: &RowRef<'_>) -> Result<Zeroizing<Vec<u8>>> {
        self.open_value(rows, row, |plain| Ok(Zeroizing::new(plain.to_vec())))
    }

    /// Checks that a row's `expires_at` column is genuine, for reads that
    /// look at the expiry without opening the value (`ttl`, `contains`):
    /// an encrypted vault opens the small sealed name, which binds it.
    fn check_expiry(&self, _rows: &Rows<'_>, _row: &RowRef<'_>) -> Result<()> {
        Ok(())
    }

    /// Checks that this handle's keys still match the file. Called in every
    /// write transaction and after a lookup misses, since a miss cannot tell
    /// "absent" from "stored under another key".
    fn check_current(&self, _rows: &Rows<'_>) -> Result<()> {
        Ok(())
    }
}

/// The envelope of a plain vault: names and values as they are.
#[derive(Debug, Clone, Copy, Default)]
pub struct Plain;

impl Envelope for Plain {
    const BINDS_EXPIRY: bool = false;
    const KEYS_SORT_AS_NAMES: bool = true;

    fn stored_key<'n>(&self, name: &'n str) -> StoredKey<'n> {
        StoredKey::Name(name.as_bytes())
    }

    fn seal_name(
        &self,
        _key: &[u8],
        _name: &str,
        _expires_at: Option<i64>,
    ) -> Result<Option<Vec<u8>>> {
        Ok(None)
    }

    fn open_name(&self, _rows: &Rows<'_>, row: &RowRef<'_>) -> Result<String> {
        std::str::from_utf8(row.key)
            .map(str::to_owned)
            .map_err(|_| Error::Corrupt {
                detail: "a stored name is not UTF-8",
            })
    }

    fn seal_value<'p>(
        &self,
        _key: &[u8],
        plaintext: &'p [u8],
        _expires_at: Option<i64>,
    ) -> Result<Cow<'p, [u8]>> {
        Ok(Cow::Borrowed(plaintext))
    }

    fn open_value<R>(
        &self,
        _rows: &Rows<'_>,
        row: &RowRef<'_>,
        f: impl FnOnce(&[u8]) -> Result<R>,
    ) -> Result<R> {
        // A value planted in the file may exceed what `put` accepts.
        crate::codec::check_len(row.value.len())?;
        f(row.value)
    }
}
