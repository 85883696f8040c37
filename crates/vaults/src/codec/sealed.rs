//! [`Sealer`]: the codec of an encrypted vault. Names become a keyed blind
//! index plus a sealed copy; values are sealed with their place (vault,
//! generation, stored key, expiry) as associated data.

use std::fmt;

use zeroize::{Zeroize, Zeroizing};

use super::cbor;
use crate::crypto::aead::{self, Ad, Domain};
use crate::crypto::keys::{SubKeys, VAULT_ID_LEN};
use crate::row::RowRef;
use crate::{Error, Integrity, Result};

/// The keys of one unlocked encrypted vault at one key generation.
pub(crate) struct Sealer {
    /// Boxed: the ciphers and keyed MAC states are large, and a handle
    /// moves its sealer around.
    keys: Box<SubKeys>,
    vault_id: [u8; VAULT_ID_LEN],
    generation: u32,
}

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sealer([redacted])")
    }
}

impl Sealer {
    pub(crate) fn new(keys: SubKeys, vault_id: [u8; VAULT_ID_LEN], generation: u32) -> Self {
        Self {
            keys: Box::new(keys),
            vault_id,
            generation,
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

    /// The stored key of `name`: its blind index.
    pub(super) fn blind_index(&self, name: &str) -> [u8; 32] {
        self.keys.blind_index(name.as_bytes())
    }

    /// Whether a sealed column claims another key generation than ours.
    pub(super) fn other_generation(&self, sealed: &[u8], what: Integrity) -> Result<bool> {
        let found = aead::generation(sealed).map_err(|_| Error::Integrity(what))?;
        Ok(found != self.generation)
    }

    pub(super) fn seal_name(
        &self,
        key: &[u8],
        name: &str,
        expires_at: Option<i64>,
    ) -> Result<Vec<u8>> {
        let ad = self.ad(Domain::Name, key, expires_at);
        aead::seal(self.keys.name_cipher(), &ad, name.as_bytes())
    }

    pub(super) fn open_name(&self, row: &RowRef<'_>) -> Result<String> {
        let sealed = row.name.ok_or(Error::Integrity(Integrity::Name))?;
        let ad = self.ad(Domain::Name, row.key, row.expires_at);
        let mut plain = aead::open(self.keys.name_cipher(), &ad, sealed)?;
        // The name leaves as a `String`, which is not wiped (names are
        // handed to the caller so); taking the opened buffer saves a copy.
        String::from_utf8(std::mem::take(&mut *plain)).map_err(|e| {
            e.into_bytes().zeroize();
            Error::Integrity(Integrity::Name)
        })
    }

    pub(super) fn seal_value(
        &self,
        key: &[u8],
        plaintext: &[u8],
        expires_at: Option<i64>,
    ) -> Result<Vec<u8>> {
        let ad = self.ad(Domain::Value, key, expires_at);
        aead::seal(self.keys.value_cipher(), &ad, plaintext)
    }

    /// Opens a row's value into the buffer it was decrypted into: no second
    /// copy to wipe.
    pub(super) fn open_value(&self, row: &RowRef<'_>) -> Result<Zeroizing<Vec<u8>>> {
        // A planted value longer than any sealed value `put` makes is
        // refused before it is copied and opened.
        if row.value.len() > cbor::MAX_STORED_LEN {
            return Err(Error::ValueTooLarge {
                len: row.value.len(),
                limit: cbor::MAX_STORED_LEN,
            });
        }
        let ad = self.ad(Domain::Value, row.key, row.expires_at);
        let plain = aead::open(self.keys.value_cipher(), &ad, row.value)?;
        cbor::check_len(plain.len())?;
        Ok(plain)
    }
}
