//! Entry points for the fuzz targets in `fuzz/` (feature `fuzzing` only).
//!
//! They reach the crate's private decoders with fixed keys, so the fuzzer can
//! drive every parser of untrusted bytes. Not a stable API.

use chacha20poly1305::{KeyInit, XChaCha20Poly1305};
use zeroize::Zeroizing;

use crate::Result;
use crate::crypto::aead::{self, Ad, Domain};
use crate::crypto::keys::{SubKeys, VaultKey};
use crate::crypto::meta::Meta;
use crate::crypto::slot::SlotRecord;

const VAULT_ID: [u8; 16] = [7; 16];

fn cipher() -> XChaCha20Poly1305 {
    XChaCha20Poly1305::new(&[9u8; 32].into())
}

/// Opens `stored` as a value or name envelope, under a fixed key and the
/// associated data given by the other arguments.
pub fn open_envelope(
    stored: &[u8],
    name: bool,
    generation: u32,
    key: &[u8],
    expires_at: Option<i64>,
) -> Result<Vec<u8>> {
    let _ = aead::generation(stored);
    let ad = Ad {
        domain: if name { Domain::Name } else { Domain::Value },
        vault_id: &VAULT_ID,
        generation,
        key,
        expires_at,
    };
    aead::open(&cipher(), &ad, stored).map(|p| p.to_vec())
}

/// Seals `plaintext` and opens it again: `true` when it comes back the same.
pub fn seal_round_trip(
    plaintext: &[u8],
    generation: u32,
    key: &[u8],
    expires_at: Option<i64>,
) -> bool {
    let ad = Ad {
        domain: Domain::Value,
        vault_id: &VAULT_ID,
        generation,
        key,
        expires_at,
    };
    match aead::seal(&cipher(), &ad, plaintext) {
        Ok(sealed) => aead::open(&cipher(), &ad, &sealed).is_ok_and(|p| p.as_slice() == plaintext),
        // Only a key longer than the u16 prefix may be refused.
        Err(_) => key.len() > usize::from(u16::MAX),
    }
}

/// Decodes a key slot record; on success returns its re-encoding (which must
/// equal the input) after trying to unwrap it with a fixed KEK.
pub fn decode_slot(bytes: &[u8]) -> Result<Vec<u8>> {
    let record = SlotRecord::decode(bytes)?;
    let _ = record.unwrap(&VAULT_ID, 1, &[3u8; 32]);
    Ok(record.encode())
}

/// Parses meta records as an encrypted vault's metadata, and checks their
/// MAC under a fixed key.
pub fn parse_meta(records: &[(String, Vec<u8>)]) -> Result<()> {
    let meta = Meta::parse(records)?;
    let keys = SubKeys::derive(&VaultKey::from_bytes(Zeroizing::new([5u8; 32])), &VAULT_ID);
    meta.verify(&keys, &VAULT_ID)
}

/// Decodes bytes as the typed API does (depth-limited CBOR).
pub fn decode_cbor<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    crate::codec::cbor::decode(bytes)
}
