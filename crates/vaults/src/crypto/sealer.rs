//! [`Sealer`]: the envelope of an encrypted vault. Names become a keyed
//! blind index plus a sealed copy; values are sealed with their place
//! (vault, generation, stored key, expiry) as associated data.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use zeroize::Zeroizing;

use super::envelope::{self, Ad, Domain};
use super::keys::{SubKeys, VAULT_ID_LEN};
use super::meta::{META_GENERATION, parse_generation};
use crate::codec;
use crate::storage::{Envelope, RowRef, Rows, StoredKey};
use crate::{Error, Integrity, Result};

/// The keys of one unlocked encrypted vault at one key generation.
///
/// Appears only as the type parameter of an encrypted vault's
/// [`Transaction`](crate::Transaction); it has no methods of its own.
pub struct Sealer {
    keys: Arc<SubKeys>,
    vault_id: [u8; VAULT_ID_LEN],
    generation: u32,
    /// The connection's data version (see [`Rows::data_version`]) at which
    /// the file last held this generation, or [`UNCONFIRMED`]. While the data
    /// version stays the same nothing committed since, so the generation
    /// record needs no new read.
    confirmed: AtomicU64,
}

/// No data version confirmed yet.
const UNCONFIRMED: u64 = u64::MAX;

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sealer([redacted])")
    }
}

impl Sealer {
    pub(crate) fn new(keys: SubKeys, vault_id: [u8; VAULT_ID_LEN], generation: u32) -> Self {
        Self {
            keys: Arc::new(keys),
            vault_id,
            generation,
            confirmed: AtomicU64::new(UNCONFIRMED),
        }
    }

    pub(crate) fn keys(&self) -> &SubKeys {
        &self.keys
    }

    pub(crate) fn generation(&self) -> u32 {
        self.generation
    }

    fn ad<'a>(&'a self, domain: Domain, key: &'a [u8], expires_at: Option<i64>) -> Ad<'a> {
        Ad {
            domain,
            vault_id: &self.vault_id,
            generation: self.generation,
            key,
            expires_at,
        }
    }

    /// Before opening: a blob from another generation means either that
    /// another handle rotated the key (say so) or that the blob was
    /// relabelled (let the open fail as tampering).
    fn check_generation(&self, rows: &Rows<'_>, sealed: &[u8], what: Integrity) -> Result<()> {
        let found = envelope::generation(sealed).map_err(|_| Error::Integrity(what))?;
        if found != self.generation {
            self.check_current(rows)?;
        }
        Ok(())
    }
}

impl Envelope for Sealer {
    const BINDS_EXPIRY: bool = true;
    const KEYS_SORT_AS_NAMES: bool = false;

    fn stored_key<'n>(&self, name: &'n str) -> StoredKey<'n> {
        StoredKey::Hash(self.keys.blind_index(name.as_bytes()))
    }

    fn seal_name(
        &self,
        key: &[u8],
        name: &str,
        expires_at: Option<i64>,
    ) -> Result<Option<Vec<u8>>> {
        let ad = self.ad(Domain::Name, key, expires_at);
        envelope::seal(self.keys.name_cipher(), &ad, name.as_bytes()).map(Some)
    }

    fn open_name(&self, rows: &Rows<'_>, row: &RowRef<'_>) -> Result<String> {
        let sealed = row.name.ok_or(Error::Integrity(Integrity::Name))?;
        self.check_generation(rows, sealed, Integrity::Name)?;
        let ad = self.ad(Domain::Name, row.key, row.expires_at);
        let plain = envelope::open(self.keys.name_cipher(), &ad, sealed)?;
        String::from_utf8(plain.to_vec()).map_err(|_| Error::Integrity(Integrity::Name))
    }

    fn seal_value<'p>(
        &self,
        key: &[u8],
        plaintext: &'p [u8],
        expires_at: Option<i64>,
    ) -> Result<Cow<'p, [u8]>> {
        let ad = self.ad(Domain::Value, key, expires_at);
        envelope::seal(self.keys.value_cipher(), &ad, plaintext).map(Cow::Owned)
    }

    fn open_value<R>(
        &self,
        rows: &Rows<'_>,
        row: &RowRef<'_>,
        f: impl FnOnce(&[u8]) -> Result<R>,
    ) -> Result<R> {
        f(&self.open_value_owned(rows, row)?)
    }

    /// The buffer the plaintext was opened into: no second copy to wipe.
    fn open_value_owned(&self, rows: &Rows<'_>, row: &RowRef<'_>) -> Result<Zeroizing<Vec<u8>>> {
        self.check_generation(rows, row.value, Integrity::Entry)?;
        // A planted value longer than any sealed value `put` makes is
        // refused before it is copied and opened.
        if row.value.len() > codec::MAX_STORED_LEN {
            return Err(Error::ValueTooLarge {
                len: row.value.len(),
                limit: codec::MAX_STORED_LEN,
            });
        }
        let ad = self.ad(Domain::Value, row.key, row.expires_at);
        let plain = envelope::open(self.keys.value_cipher(), &ad, row.value)?;
        codec::check_len(plain.len())?;
        Ok(plain)
    }

    fn check_expiry(&self, rows: &Rows<'_>, row: &RowRef<'_>) -> Result<()> {
        self.open_name(rows, row).map(drop)
    }

    /// Reads the generation record only when a transaction has committed
    /// since the last time it matched (on any connection: SQLite's data
    /// version for this connection tells). That makes a miss cost one
    /// lookup. It stays sound when the check runs as a statement of its own
    /// after the lookup it confirms: generations only grow, and this handle's
    /// was the file's before that lookup began, so a later snapshot that
    /// still holds it proves the lookup's snapshot held it too.
    fn check_current(&self, rows: &Rows<'_>) -> Result<()> {
        let seen = u64::from(rows.data_version()?);
        if self.confirmed.load(Ordering::Acquire) == seen {
            return Ok(());
        }
        let record = rows.meta_get(META_GENERATION)?;
        if parse_generation(record.as_deref())? != self.generation {
            return Err(Error::KeyRotated);
        }
        // The version that statement's snapshot carries (no other statement
        // runs on this connection in between).
        let confirmed = u64::from(rows.data_version()?);
        self.confirmed.store(confirmed, Ordering::Release);
        Ok(())
    }
}
