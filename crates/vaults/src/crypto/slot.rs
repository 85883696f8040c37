//! Key slots: the vault key wrapped under a key-encryption key (KEK).
//!
//! A KEK comes from a passphrase through Argon2id, or is a random 32-byte
//! secret held in the OS keyring. Record layout (big-endian), no trailing
//! bytes:
//!
//! ```text
//! u8  slot record version = 1
//! u8  kind: 1 = passphrase, 2 = keyring
//! kind 1: u32 memory_kib, u32 iterations, u32 parallelism, [16] salt
//! kind 2: u8 length L (1..=255), L bytes UTF-8 keyring account label
//! [24] nonce
//! [48] wrapped vault key (32 bytes ciphertext, 16 bytes tag)
//! ```
//!
//! The wrap's associated data ends with the record's header (everything
//! before the nonce), so editing the parameters, salt or label makes the
//! slot fail to open rather than silently derive another KEK.

use chacha20poly1305::{KeyInit, XChaCha20Poly1305};
use zeroize::Zeroizing;

use super::aead::{self, FORMAT_VERSION, TAG_LEN};
use super::kdf::{KEK_LEN, KdfParams, SALT_LEN};
use super::keys::{KEY_LEN, VAULT_ID_LEN, VaultKey};
use super::random::{self, NONCE_LEN};
use crate::{Error, Integrity, Result};

/// Slot record version written by this build, and the only one it reads.
pub(crate) const VERSION: u8 = 1;

/// Kind byte of a passphrase slot.
const KIND_PASSPHRASE: u8 = 1;

/// Kind byte of a keyring slot.
const KIND_KEYRING: u8 = 2;

/// Length of the wrapped key: ciphertext and tag.
pub(crate) const WRAPPED_LEN: usize = KEY_LEN + TAG_LEN;

/// Label that starts the wrap's associated data.
const AD_LABEL: &[u8] = b"vaults.slot";

/// Longest keyring account label: its length is one byte.
#[cfg(test)]
pub(crate) const MAX_ACCOUNT_LEN: usize = 255;

/// How a slot's KEK is obtained.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum SlotKind {
    /// Argon2id over a passphrase with these parameters and salt.
    Passphrase {
        /// Argon2id costs (check them before deriving: they come from a file).
        params: KdfParams,
        /// Argon2id salt, fresh at every wrap.
        salt: [u8; SALT_LEN],
    },
    /// A random 32-byte secret held in the OS keyring.
    Keyring {
        /// Which keyring entry holds the secret; not secret itself.
        account: String,
    },
}

/// A key slot as stored: how to get its KEK, and the vault key wrapped under it.
///
/// Holds no secret (the key inside is encrypted), so it may be cloned and
/// printed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SlotRecord {
    kind: SlotKind,
    /// The encoded version, kind and kind fields: bound into the wrap's
    /// associated data. Always the encoding of `kind`.
    header: Vec<u8>,
    nonce: [u8; NONCE_LEN],
    wrapped: [u8; WRAPPED_LEN],
}

impl SlotRecord {
    /// Wraps `key` under `kek` in slot `id` of vault `vault_id`.
    ///
    /// # Errors
    ///
    /// - [`Error::KdfParams`] when passphrase parameters are out of bounds;
    /// - [`Error::Keyring`] when the account label is empty or over 255 bytes;
    /// - [`Error::Rng`] when no nonce can be drawn.
    pub(crate) fn wrap(
        vault_id: &[u8; VAULT_ID_LEN],
        id: u32,
        kind: SlotKind,
        kek: &[u8; KEK_LEN],
        key: &VaultKey,
    ) -> Result<SlotRecord> {
        if let SlotKind::Passphrase { params, .. } = &kind {
            params.check()?;
        }
        Self::wrap_with_nonce(vault_id, id, kind, kek, key, random::nonce()?)
    }

    /// [`SlotRecord::wrap`] under a given nonce: the fixed-nonce test vectors
    /// go through it.
    fn wrap_with_nonce(
        vault_id: &[u8; VAULT_ID_LEN],
        id: u32,
        kind: SlotKind,
        kek: &[u8; KEK_LEN],
        key: &VaultKey,
        nonce: [u8; NONCE_LEN],
    ) -> Result<SlotRecord> {
        let header = encode_header(&kind).ok_or_else(|| Error::Keyring {
            reason: "the keyring account label must be 1 to 255 bytes".into(),
        })?;
        let ad = associated_data(vault_id, id, &header);

        // Copied from the key's buffer into a wiped one; `Zeroizing::new(*key)`
        // would leave an unwiped temporary on the stack.
        let mut buf = Zeroizing::new([0u8; KEY_LEN]);
        buf.copy_from_slice(key.expose());
        // The AEAD refuses only messages over 256 GiB: this error cannot occur.
        let tag = aead::seal_detached(&cipher(kek), &nonce, &ad, buf.as_mut_slice())
            .map_err(|_| Error::Integrity(Integrity::Slot))?;
        let mut wrapped = [0u8; WRAPPED_LEN];
        let (ciphertext, tag_out) = wrapped.split_at_mut(KEY_LEN);
        ciphertext.copy_from_slice(buf.as_slice());
        tag_out.copy_from_slice(&tag);
        Ok(SlotRecord {
            kind,
            header,
            nonce,
            wrapped,
        })
    }

    /// Unwraps the vault key with `kek`, as slot `id` of vault `vault_id`.
    ///
    /// # Errors
    ///
    /// [`Error::WrongPassphrase`] when the tag fails: a wrong passphrase or
    /// keyring secret, or a slot moved to another id or vault, or edited.
    pub(crate) fn unwrap(
        &self,
        vault_id: &[u8; VAULT_ID_LEN],
        id: u32,
        kek: &[u8; KEK_LEN],
    ) -> Result<VaultKey> {
        let ad = associated_data(vault_id, id, &self.header);
        let (ciphertext, tag) = self
            .wrapped
            .split_last_chunk::<TAG_LEN>()
            .ok_or(Error::Integrity(Integrity::Slot))?;
        // Opened in place, in the key's own heap buffer.
        VaultKey::fill_with(|key| {
            aead::open_detached(
                &cipher(kek),
                &self.nonce,
                &ad,
                ciphertext,
                tag,
                key.as_mut_slice(),
            )
            .map_err(|_| Error::WrongPassphrase)
        })
    }

    /// How this slot's KEK is obtained.
    pub(crate) fn kind(&self) -> &SlotKind {
        &self.kind
    }

    /// The stored bytes of this record.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.header.len() + NONCE_LEN + WRAPPED_LEN);
        out.extend_from_slice(&self.header);
        out.extend_from_slice(&self.nonce);
        out.extend_from_slice(&self.wrapped);
        out
    }

    /// Parses a stored record. KDF parameters are not checked here: call
    /// [`KdfParams::check`] before deriving with them.
    ///
    /// # Errors
    ///
    /// [`Error::Integrity`]`(`[`Integrity::Slot`]`)` for anything malformed:
    /// short, unknown version or kind, empty or non-UTF-8 label, trailing
    /// bytes.
    pub(crate) fn decode(bytes: &[u8]) -> Result<SlotRecord> {
        decode_inner(bytes).ok_or(Error::Integrity(Integrity::Slot))
    }
}

/// A fresh Argon2id salt for a passphrase slot.
///
/// # Errors
///
/// [`Error::Rng`] when the OS generator fails.
pub(crate) fn new_salt() -> Result<[u8; SALT_LEN]> {
    let mut salt = [0u8; SALT_LEN];
    random::fill_secret(&mut salt)?;
    Ok(salt)
}

/// The AEAD keyed with a KEK.
fn cipher(kek: &[u8; KEK_LEN]) -> XChaCha20Poly1305 {
    XChaCha20Poly1305::new(kek.into())
}

/// Version, kind and kind fields; `None` for an account label of a length
/// the format cannot hold.
fn encode_header(kind: &SlotKind) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(2 + 12 + SALT_LEN);
    out.push(VERSION);
    match kind {
        SlotKind::Passphrase { params, salt } => {
            out.push(KIND_PASSPHRASE);
            out.extend_from_slice(&params.memory_kib().to_be_bytes());
            out.extend_from_slice(&params.iterations().to_be_bytes());
            out.extend_from_slice(&params.parallelism().to_be_bytes());
            out.extend_from_slice(salt);
        }
        SlotKind::Keyring { account } => {
            let len = u8::try_from(account.len()).ok().filter(|&len| len > 0)?;
            out.push(KIND_KEYRING);
            out.push(len);
            out.extend_from_slice(account.as_bytes());
        }
    }
    Some(out)
}

/// The wrap's associated data: label, format version, vault id, slot id,
/// record header.
fn associated_data(vault_id: &[u8; VAULT_ID_LEN], id: u32, header: &[u8]) -> Vec<u8> {
    let mut ad = Vec::with_capacity(1 + AD_LABEL.len() + 2 + VAULT_ID_LEN + 4 + header.len());
    // The label is a constant of 11 bytes.
    ad.push(AD_LABEL.len() as u8);
    ad.extend_from_slice(AD_LABEL);
    ad.extend_from_slice(&FORMAT_VERSION.to_be_bytes());
    ad.extend_from_slice(vault_id);
    ad.extend_from_slice(&id.to_be_bytes());
    ad.extend_from_slice(header);
    ad
}

/// [`SlotRecord::decode`], with every failure collapsed to `None`.
fn decode_inner(bytes: &[u8]) -> Option<SlotRecord> {
    let (&version, rest) = bytes.split_first()?;
    if version != VERSION {
        return None;
    }
    let (&kind_byte, rest) = rest.split_first()?;
    let (kind, rest) = match kind_byte {
        KIND_PASSPHRASE => {
            let (memory, rest) = rest.split_first_chunk::<4>()?;
            let (iterations, rest) = rest.split_first_chunk::<4>()?;
            let (parallelism, rest) = rest.split_first_chunk::<4>()?;
            let (salt, rest) = rest.split_first_chunk::<SALT_LEN>()?;
            let params = KdfParams::from_stored(
                u32::from_be_bytes(*memory),
                u32::from_be_bytes(*iterations),
                u32::from_be_bytes(*parallelism),
            );
            (
                SlotKind::Passphrase {
                    params,
                    salt: *salt,
                },
                rest,
            )
        }
        KIND_KEYRING => {
            let (&len, rest) = rest.split_first()?;
            if len == 0 {
                return None;
            }
            let (account, rest) = rest.split_at_checked(usize::from(len))?;
            let account = std::str::from_utf8(account).ok()?.to_owned();
            (SlotKind::Keyring { account }, rest)
        }
        _ => return None,
    };
    let header_len = bytes.len().checked_sub(rest.len())?;
    let header = bytes.get(..header_len)?.to_vec();
    let (nonce, rest) = rest.split_first_chunk::<NONCE_LEN>()?;
    let (wrapped, rest) = rest.split_first_chunk::<WRAPPED_LEN>()?;
    if !rest.is_empty() {
        return None;
    }
    Some(SlotRecord {
        kind,
        header,
        nonce: *nonce,
        wrapped: *wrapped,
    })
}

#[cfg(test)]
mod tests;
