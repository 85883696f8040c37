//! The row codec: how a name and a value become a stored row, and back.
//!
//! A plain vault stores names and values as they are ([`plain`]); an
//! encrypted one hides names behind a keyed blind index and seals names and
//! values, bound to their place ([`sealed`]). Values are CBOR ([`cbor`]).
//!
//! The codec is pure: it turns bytes into bytes and never reaches storage.
//! Where opening a sealed column needs to know more than the bytes tell (a
//! column sealed under another key generation: rotated by another handle,
//! or relabelled), it says so ([`Codec::other_generation`]) and the caller
//! asks storage.

pub(crate) mod cbor;
pub(crate) mod legacy;
mod plain;
mod sealed;

use std::borrow::Cow;
use std::fmt;
use std::ops::Deref;

use zeroize::Zeroizing;

pub(crate) use sealed::Sealer;

use crate::row::RowRef;
use crate::{Integrity, Result};

/// The key a name is stored under: the name itself, or a 32-byte hash of it.
#[derive(Debug)]
pub(crate) enum StoredKey<'n> {
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

/// An opened value: borrowed from the row when stored as it is, or in a
/// buffer of its own (wiped on drop) when it was sealed.
pub(crate) enum Plaintext<'r> {
    /// The row's own bytes (a plain vault).
    Borrowed(&'r [u8]),
    /// The opened plaintext (an encrypted vault).
    Owned(Zeroizing<Vec<u8>>),
}

impl Deref for Plaintext<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Plaintext::Borrowed(b) => b,
            Plaintext::Owned(o) => o,
        }
    }
}

impl Plaintext<'_> {
    /// The plaintext in a buffer of its own, wiped on drop (no second copy
    /// for a sealed value).
    pub(crate) fn into_owned(self) -> Zeroizing<Vec<u8>> {
        match self {
            Plaintext::Borrowed(b) => Zeroizing::new(b.to_vec()),
            Plaintext::Owned(o) => o,
        }
    }
}

/// How one vault's rows are encoded.
pub(crate) enum Codec {
    /// Names and values as they are.
    Plain,
    /// Names blind-indexed and sealed, values sealed.
    Sealed(Sealer),
}

impl fmt::Debug for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Codec::Plain => f.write_str("Plain"),
            Codec::Sealed(sealer) => fmt::Debug::fmt(sealer, f),
        }
    }
}

impl Codec {
    /// Whether a sealed value binds its expiry, so changing the expiry means
    /// sealing the value again.
    pub(crate) fn binds_expiry(&self) -> bool {
        matches!(self, Codec::Sealed(_))
    }

    /// Whether stored keys sort as names do (a plain vault's keys are the
    /// names), so that a scan in key order lists names sorted. When they do
    /// not, listings read the table in its own order and sort the names.
    pub(crate) fn keys_sort_as_names(&self) -> bool {
        matches!(self, Codec::Plain)
    }

    /// The sealer of an encrypted vault.
    pub(crate) fn sealer(&self) -> Option<&Sealer> {
        match self {
            Codec::Plain => None,
            Codec::Sealed(s) => Some(s),
        }
    }

    /// The stored key for `name`.
    pub(crate) fn stored_key<'n>(&self, name: &'n str) -> StoredKey<'n> {
        match self {
            Codec::Plain => StoredKey::Name(name.as_bytes()),
            Codec::Sealed(s) => StoredKey::Hash(s.blind_index(name)),
        }
    }

    /// The `name` column for `name` stored under `key` expiring at
    /// `expires_at` (`None` for plain).
    pub(crate) fn seal_name(
        &self,
        key: &[u8],
        name: &str,
        expires_at: Option<i64>,
    ) -> Result<Option<Vec<u8>>> {
        match self {
            Codec::Plain => Ok(None),
            Codec::Sealed(s) => s.seal_name(key, name, expires_at).map(Some),
        }
    }

    /// The `value` column for `plaintext` stored under `key` expiring at
    /// `expires_at`.
    pub(crate) fn seal_value<'p>(
        &self,
        key: &[u8],
        plaintext: &'p [u8],
        expires_at: Option<i64>,
    ) -> Result<Cow<'p, [u8]>> {
        match self {
            Codec::Plain => Ok(Cow::Borrowed(plaintext)),
            Codec::Sealed(s) => s.seal_value(key, plaintext, expires_at).map(Cow::Owned),
        }
    }

    /// Whether the sealed column `sealed` (a name when `what` is
    /// [`Integrity::Name`], else a value) claims a key generation other than
    /// this codec's: then either another handle rotated the key or the
    /// column was relabelled, and only storage can tell which. Never for a
    /// plain vault.
    ///
    /// # Errors
    /// [`Error::Integrity`](crate::Error::Integrity) with `what` when the
    /// column is too short to carry a generation.
    pub(crate) fn other_generation(&self, sealed: &[u8], what: Integrity) -> Result<bool> {
        match self {
            Codec::Plain => Ok(false),
            Codec::Sealed(s) => s.other_generation(sealed, what),
        }
    }

    /// The name of a stored row.
    pub(crate) fn open_name(&self, row: &RowRef<'_>) -> Result<String> {
        match self {
            Codec::Plain => plain::open_name(row),
            Codec::Sealed(s) => s.open_name(row),
        }
    }

    /// The value of a stored row.
    pub(crate) fn open_value<'r>(&self, row: &RowRef<'r>) -> Result<Plaintext<'r>> {
        match self {
            Codec::Plain => plain::open_value(row).map(Plaintext::Borrowed),
            Codec::Sealed(s) => s.open_value(row).map(Plaintext::Owned),
        }
    }
}
