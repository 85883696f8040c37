//! The encrypted vault's metadata records — format version, key generation,
//! key slots — and the MAC that authenticates them together.
//!
//! Records in the `meta` table (besides storage's `vault_id` and `kind`):
//!
//! | name | value |
//! |---|---|
//! | `crypto` | u16 BE crypto format version (1) |
//! | `generation` | u32 BE current key generation (starts at 1) |
//! | `slot.NNNNNNNNNN` | a key slot record; the id is the zero-padded decimal u32 |
//! | `mac` | HMAC-SHA256 under the meta sub-key of [`Meta::mac_input`] |

use std::collections::BTreeMap;

use super::keys::{SubKeys, VAULT_ID_LEN};
use super::slot::SlotRecord;
use crate::{Error, Integrity, Result};

/// The crypto format version this build writes and reads.
pub(crate) const CRYPTO_VERSION: u16 = 1;

const META_CRYPTO: &str = "crypto";
pub(crate) const META_GENERATION: &str = "generation";
const META_MAC: &str = "mac";
/// The name prefix of every slot record.
pub(crate) const SLOT_PREFIX: &str = "slot.";
const MAC_LABEL: &[u8] = b"vaults.meta";

/// The authenticated metadata of an encrypted vault.
#[derive(Debug, Clone)]
pub(crate) struct Meta {
    pub(crate) generation: u32,
    pub(crate) slots: BTreeMap<u32, SlotRecord>,
    mac: Vec<u8>,
}

fn tampered() -> Error {
    Error::Integrity(Integrity::Metadata)
}

/// The meta record name of slot `id`.
fn slot_name(id: u32) -> String {
    format!("{SLOT_PREFIX}{id:010}")
}

impl Meta {
    /// Metadata of a new vault: generation 1 and the given slots (its MAC is
    /// computed by [`Meta::records`]).
    pub(crate) fn new(slots: BTreeMap<u32, SlotRecord>) -> Meta {
        Meta {
            generation: 1,
            slots,
            mac: Vec::new(),
        }
    }

    /// Parses the crypto records out of every meta record (others are
    /// ignored: storage reads `vault_id` and `kind` itself).
    ///
    /// Structure is checked here; authenticity only by [`Meta::verify`],
    /// once a key is at hand.
    ///
    /// # Errors
    /// [`Error::UnsupportedVersion`] for a newer crypto format;
    /// [`Error::Integrity`] for missing or malformed records.
    pub(crate) fn parse(records: &[(String, Vec<u8>)]) -> Result<Meta> {
        let find = |name: &str| {
            records
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_slice())
        };
        let version = find(META_CRYPTO).ok_or_else(tampered)?;
        let version = u16::from_be_bytes(version.try_into().map_err(|_| tampered())?);
        if version != CRYPTO_VERSION {
            return Err(Error::UnsupportedVersion {
                found: i64::from(version),
                supported: i64::from(CRYPTO_VERSION),
            });
        }
        let generation = parse_generation(find(META_GENERATION))?;
        let mac = find(META_MAC).ok_or_else(tampered)?.to_vec();
        let mut slots = BTreeMap::new();
        for (name, bytes) in records.iter().filter(|(n, _)| n.starts_with(SLOT_PREFIX)) {
            let id = name
                .strip_prefix(SLOT_PREFIX)
                .filter(|digits| digits.len() == 10 && digits.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|digits| digits.parse::<u32>().ok())
                .ok_or_else(tampered)?;
            if slots.insert(id, SlotRecord::decode(bytes)?).is_some() {
                return Err(tampered());
            }
        }
        if slots.is_empty() {
            return Err(tampered());
        }
        Ok(Meta {
            generation,
            slots,
            mac,
        })
    }

    /// The bytes the MAC covers, in a fixed layout (big-endian):
    ///
    /// ```text
    /// u8 label length, b"vaults.meta"
    /// u16 crypto format version
    /// [16] vault id
    /// u32 generation
    /// u32 number of slots
    /// per slot, by ascending id: u32 id, u32 record length, record
    /// ```
    fn mac_input(&self, vault_id: &[u8; VAULT_ID_LEN]) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.slots.len() * 128);
        out.push(MAC_LABEL.len() as u8);
        out.extend_from_slice(MAC_LABEL);
        out.extend_from_slice(&CRYPTO_VERSION.to_be_bytes());
        out.extend_from_slice(vault_id);
        out.extend_from_slice(&self.generation.to_be_bytes());
        out.extend_from_slice(&(self.slots.len() as u32).to_be_bytes());
        for (id, slot) in &self.slots {
            let record = slot.encode();
            out.extend_from_slice(&id.to_be_bytes());
            out.extend_from_slice(&(record.len() as u32).to_be_bytes());
            out.extend_from_slice(&record);
        }
        out
    }

    /// Checks the MAC: an inserted, removed, edited or downgraded slot, or a
    /// changed generation, fails here.
    ///
    /// # Errors
    /// [`Error::Integrity`] (`Metadata`) when the MAC does not match.
    pub(crate) fn verify(&self, keys: &SubKeys, vault_id: &[u8; VAULT_ID_LEN]) -> Result<()> {
        if keys.verify_meta_mac(&self.mac_input(vault_id), &self.mac) {
            Ok(())
        } else {
            Err(tampered())
        }
    }

    /// Every record to store, MAC included, computed with `keys`.
    pub(crate) fn records(
        &self,
        keys: &SubKeys,
        vault_id: &[u8; VAULT_ID_LEN],
    ) -> Vec<(String, Vec<u8>)> {
        let mac = keys.meta_mac(&self.mac_input(vault_id));
        let mut records = vec![
            (
                META_CRYPTO.to_owned(),
                CRYPTO_VERSION.to_be_bytes().to_vec(),
            ),
            (
                META_GENERATION.to_owned(),
                self.generation.to_be_bytes().to_vec(),
            ),
            (META_MAC.to_owned(), mac.to_vec()),
        ];
        records.extend(
            self.slots
                .iter()
                .map(|(id, s)| (slot_name(*id), s.encode())),
        );
        records
    }

    /// The lowest id no slot uses.
    pub(crate) fn next_slot_id(&self) -> Result<u32> {
        match self.slots.keys().next_back() {
            None => Ok(1),
            Some(last) => last.checked_add(1).ok_or(Error::Corrupt {
                detail: "no free key slot id",
            }),
        }
    }
}

/// Parses the current key generation record (read alone, it is the cheap
/// check a handle makes to learn whether another one rotated the key).
pub(crate) fn parse_generation(bytes: Option<&[u8]>) -> Result<u32> {
    let bytes = bytes.ok_or_else(tampered)?;
    Ok(u32::from_be_bytes(
        bytes.try_into().map_err(|_| tampered())?,
    ))
}
