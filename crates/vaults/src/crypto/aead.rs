//! Sealed values and names: the envelope format of version 1.
//!
//! ```text
//! offset 0   u8   envelope version = 1
//! offset 1   u32  key generation (big-endian)
//! offset 5   [24] nonce
//! offset 29  ...  XChaCha20-Poly1305 ciphertext of the padded plaintext,
//!                 then its 16-byte Poly1305 tag
//! ```
//!
//! The padded plaintext is `u32 BE n || plaintext (n bytes) || zero bytes`,
//! [`padded_len`]`(n)` bytes in all, so a stored value shows its length only
//! to within its padding bucket. The associated data ([`Ad`]) binds the
//! ciphertext to its vault, key generation, stored key and expiry, so moving
//! or editing any of them makes it fail to open.

use chacha20poly1305::{AeadInOut, XChaCha20Poly1305};
use zeroize::Zeroizing;

use super::keys::VAULT_ID_LEN;
use super::random::{self, NONCE_LEN};
use crate::{Error, Integrity, Result};

/// Envelope version written by this build, and the only one it opens.
pub(crate) const VERSION: u8 = 1;

/// Format version bound into the associated data.
pub(crate) const FORMAT_VERSION: u16 = 1;

/// Length of a Poly1305 tag.
pub(crate) const TAG_LEN: usize = 16;

/// Bytes before the ciphertext: version, generation, nonce.
pub(crate) const HEADER_LEN: usize = 1 + 4 + NONCE_LEN;

/// Length of the plaintext length prefix inside the padded plaintext.
const LEN_PREFIX: usize = 4;

/// Smallest padded plaintext: every length up to 28 bytes pads to 32.
const MIN_PADDED: usize = 32;

/// Bytes a sealed value adds to its plaintext besides padding: header,
/// length prefix and tag.
#[cfg(test)]
pub(crate) const OVERHEAD: usize = HEADER_LEN + LEN_PREFIX + TAG_LEN;

/// Shortest well-formed envelope (an empty plaintext).
pub(crate) const MIN_STORED_LEN: usize = HEADER_LEN + MIN_PADDED + TAG_LEN;

/// Longest plaintext that can be sealed: its length must fit the `u32` prefix.
pub(crate) const MAX_PLAINTEXT: usize = u32::MAX as usize;

/// Length of the padded plaintext for an `n`-byte plaintext: the larger of
/// the next multiple of 32 and the Padmé bucket of `n + 4` bytes.
///
/// Padmé (Nikitin et al., "Reducing Metadata Leakage from Encrypted Files
/// and Communication with PURBs", 2019) leaks O(log log L) bits of a length
/// L for at most 12% overhead: with E = ⌊log2 L⌋ and S = ⌊log2 E⌋ + 1, L is
/// rounded up to a multiple of 2^(E − S). The multiple of 32 dominates below
/// about 1 KiB, Padmé above.
///
/// | plaintext `n` | `n + 4` | multiple of 32 | Padmé | padded |
/// |---:|---:|---:|---:|---:|
/// | 0 | 4 | 32 | 4 | 32 |
/// | 28 | 32 | 32 | 32 | 32 |
/// | 29 | 33 | 64 | 36 | 64 |
/// | 100 | 104 | 128 | 104 | 128 |
/// | 200 | 204 | 224 | 208 | 224 |
/// | 1000 | 1004 | 1024 | 1024 | 1024 |
/// | 1100 | 1104 | 1120 | 1152 | 1152 |
/// | 4096 | 4100 | 4128 | 4352 | 4352 |
/// | 100 000 | 100 004 | 100 032 | 100 352 | 100 352 |
/// | 1 000 000 | 1 000 004 | 1 000 032 | 1 015 808 | 1 015 808 |
///
/// `None` when `n` exceeds [`MAX_PLAINTEXT`] (or the result exceeds `usize`).
pub(crate) fn padded_len(n: usize) -> Option<usize> {
    if n > MAX_PLAINTEXT {
        return None;
    }
    // u64 throughout: the Padmé bucket of a length near u32::MAX exceeds it.
    let len = u64::try_from(n).ok()?.checked_add(LEN_PREFIX as u64)?;
    let to_32 = len.div_ceil(32).checked_mul(32)?;
    let exponent = len.checked_ilog2()?;
    let mantissa_bits = exponent.checked_ilog2()? + 1;
    let last_bits = exponent.checked_sub(mantissa_bits)?;
    let mask = (1u64 << last_bits) - 1;
    let padme = len.checked_add(mask)? & !mask;
    usize::try_from(to_32.max(padme)).ok()
}

/// What a sealed blob holds: the domain label keeps a sealed name from ever
/// opening as a value and the other way round.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Domain {
    /// An entry's value.
    Value,
    /// An entry's name.
    Name,
}

impl Domain {
    /// The label that starts the associated data.
    fn label(self) -> &'static [u8] {
        match self {
            Domain::Value => b"vaults.value",
            Domain::Name => b"vaults.name",
        }
    }

    /// The error reported when a blob of this domain fails to open.
    fn integrity_error(self) -> Error {
        Error::Integrity(match self {
            Domain::Value => Integrity::Entry,
            Domain::Name => Integrity::Name,
        })
    }
}

/// The associated data of a sealed value or name: where it belongs.
///
/// Encoded in a fixed, length-prefixed layout (big-endian):
///
/// ```text
/// u8 label length, label           b"vaults.value" | b"vaults.name"
/// u16 format version = 1
/// [16] vault id
/// u32 key generation
/// u16 key length, key              the stored key (the name's blind index)
/// u8 0 | 1, i64 expires_at (ms)    0 and 0 when there is no expiry
/// ```
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ad<'a> {
    /// Value or name.
    pub(crate) domain: Domain,
    /// The vault the blob belongs to.
    pub(crate) vault_id: &'a [u8; VAULT_ID_LEN],
    /// The key generation that sealed it, also written in the header.
    pub(crate) generation: u32,
    /// The stored key of its row.
    pub(crate) key: &'a [u8],
    /// The row's expiry in Unix milliseconds, `None` for never.
    pub(crate) expires_at: Option<i64>,
}

impl Ad<'_> {
    /// The encoded associated data; `None` when the key is longer than a
    /// `u16` length prefix allows.
    fn encode(&self) -> Option<AdBytes> {
        let label = self.domain.label();
        let label_len = u8::try_from(label.len()).ok()?;
        let key_len = u16::try_from(self.key.len()).ok()?;
        let (flag, expires_at) = match self.expires_at {
            Some(at) => (1u8, at),
            None => (0u8, 0),
        };
        let parts: [&[u8]; 9] = [
            &[label_len],
            label,
            &FORMAT_VERSION.to_be_bytes(),
            self.vault_id,
            &self.generation.to_be_bytes(),
            &key_len.to_be_bytes(),
            self.key,
            &[flag],
            &expires_at.to_be_bytes(),
        ];
        let len = parts.iter().map(|p| p.len()).sum();
        let mut out = match len <= AD_INLINE {
            true => AdBytes::Inline([0; AD_INLINE], 0),
            false => AdBytes::Heap(Vec::with_capacity(len)),
        };
        for part in parts {
            out.extend(part);
        }
        Some(out)
    }
}

/// Room for associated data kept on the stack: enough for the 32-byte
/// stored keys of an encrypted vault (a seal or an open then allocates only
/// its output).
const AD_INLINE: usize = 96;

/// Encoded associated data ([`Ad::encode`]), on the stack when it fits.
enum AdBytes {
    Inline([u8; AD_INLINE], usize),
    Heap(Vec<u8>),
}

impl AdBytes {
    /// Appends `bytes`; the caller sized an inline buffer for all of them.
    fn extend(&mut self, bytes: &[u8]) {
        match self {
            AdBytes::Inline(buf, len) => {
                let end = *len + bytes.len();
                if let Some(dst) = buf.get_mut(*len..end) {
                    dst.copy_from_slice(bytes);
                    *len = end;
                }
            }
            AdBytes::Heap(v) => v.extend_from_slice(bytes),
        }
    }
}

impl std::ops::Deref for AdBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            AdBytes::Inline(buf, len) => buf.get(..*len).unwrap_or_default(),
            AdBytes::Heap(v) => v,
        }
    }
}

/// Encrypts `buf` in place under `nonce` and `ad`, returning the tag. Every
/// XChaCha20-Poly1305 encryption of the crate goes through here.
pub(crate) fn seal_detached(
    cipher: &XChaCha20Poly1305,
    nonce: &[u8; NONCE_LEN],
    ad: &[u8],
    buf: &mut [u8],
) -> std::result::Result<[u8; TAG_LEN], chacha20poly1305::Error> {
    let tag = cipher.encrypt_inout_detached(nonce.into(), ad, buf.into())?;
    Ok(tag.into())
}

/// Checks `tag` and decrypts `ciphertext` into `out` (of the same length).
/// Every XChaCha20-Poly1305 decryption of the crate goes through here;
/// `out` is left untouched unless the tag is valid.
pub(crate) fn open_detached(
    cipher: &XChaCha20Poly1305,
    nonce: &[u8; NONCE_LEN],
    ad: &[u8],
    ciphertext: &[u8],
    tag: &[u8; TAG_LEN],
    out: &mut [u8],
) -> std::result::Result<(), chacha20poly1305::Error> {
    let buf = aead_inout(ciphertext, out)?;
    cipher.decrypt_inout_detached(nonce.into(), ad, buf, tag.into())
}

/// Pairs an input and an output buffer of equal length for the AEAD.
fn aead_inout<'a>(
    input: &'a [u8],
    output: &'a mut [u8],
) -> std::result::Result<chacha20poly1305::aead::inout::InOutBuf<'a, 'a, u8>, chacha20poly1305::Error>
{
    chacha20poly1305::aead::inout::InOutBuf::new(input, output).map_err(|_| chacha20poly1305::Error)
}

/// Seals `plaintext` for the place `ad` describes, under a fresh nonce.
///
/// The output is allocated once at its final size and the plaintext is
/// encrypted inside it, so no other copy is made.
///
/// # Errors
///
/// - [`Error::ValueTooLarge`] when the plaintext exceeds [`MAX_PLAINTEXT`];
/// - [`Error::InvalidName`] when `ad.key` is longer than 65535 bytes;
/// - [`Error::Rng`] when no nonce can be drawn.
pub(crate) fn seal(cipher: &XChaCha20Poly1305, ad: &Ad<'_>, plaintext: &[u8]) -> Result<Vec<u8>> {
    seal_with_nonce(cipher, ad, plaintext, &random::nonce()?)
}

/// [`seal`] under a given nonce: the fixed-nonce test vectors go through it.
fn seal_with_nonce(
    cipher: &XChaCha20Poly1305,
    ad: &Ad<'_>,
    plaintext: &[u8],
    nonce: &[u8; NONCE_LEN],
) -> Result<Vec<u8>> {
    let too_large = || Error::ValueTooLarge {
        len: plaintext.len(),
        limit: MAX_PLAINTEXT,
    };
    let ad_bytes = ad.encode().ok_or(Error::InvalidName {
        reason: "stored key longer than 65535 bytes",
    })?;
    let padded = padded_len(plaintext.len()).ok_or_else(too_large)?;
    let n = u32::try_from(plaintext.len()).map_err(|_| too_large())?;

    // Zeroizing while it holds plaintext: an early return must not leave it
    // on the heap. Zero-filled, so the padding is already in place.
    let mut out = Zeroizing::new(vec![0u8; HEADER_LEN + padded + TAG_LEN]);
    let (header, rest) = out.split_at_mut(HEADER_LEN);
    let (body, tag_out) = rest.split_at_mut(padded);
    let (version, header) = header.split_at_mut(1);
    let (generation, nonce_out) = header.split_at_mut(4);
    version.copy_from_slice(&[VERSION]);
    generation.copy_from_slice(&ad.generation.to_be_bytes());
    nonce_out.copy_from_slice(nonce);
    let (prefix, data) = body.split_at_mut(LEN_PREFIX);
    prefix.copy_from_slice(&n.to_be_bytes());
    let (data, _zero_padding) = data.split_at_mut(plaintext.len());
    data.copy_from_slice(plaintext);

    let tag = seal_detached(cipher, nonce, &ad_bytes, body).map_err(|_| too_large())?;
    tag_out.copy_from_slice(&tag);
    Ok(std::mem::take(&mut *out))
}

/// Reads the key generation from a stored envelope's header, without opening
/// it (a rotation resumes by finding rows still under the old generation).
///
/// # Errors
///
/// [`Error::Integrity`]`(`[`Integrity::Entry`]`)` when the blob is too short
/// to be an envelope or has an unknown version.
pub(crate) fn generation(stored: &[u8]) -> Result<u32> {
    parse(stored)
        .map(|envelope| envelope.generation)
        .ok_or(Error::Integrity(Integrity::Entry))
}

/// Opens an envelope sealed for the place `ad` describes and returns exactly
/// the plaintext, in a buffer wiped on drop.
///
/// # Errors
///
/// [`Error::Integrity`] with [`Integrity::Entry`] for a value or
/// [`Integrity::Name`] for a name, whatever the cause: a short or malformed
/// blob, an unknown version, a generation other than `ad.generation`, a tag
/// that fails (edited, moved, wrong key), or a malformed padded plaintext.
pub(crate) fn open(
    cipher: &XChaCha20Poly1305,
    ad: &Ad<'_>,
    stored: &[u8],
) -> Result<Zeroizing<Vec<u8>>> {
    open_inner(cipher, ad, stored).ok_or_else(|| ad.domain.integrity_error())
}

/// [`open`], with every failure collapsed to `None`.
fn open_inner(
    cipher: &XChaCha20Poly1305,
    ad: &Ad<'_>,
    stored: &[u8],
) -> Option<Zeroizing<Vec<u8>>> {
    let envelope = parse(stored)?;
    if envelope.generation != ad.generation {
        return None;
    }
    let ad_bytes = ad.encode()?;
    let mut buf = Zeroizing::new(vec![0u8; envelope.ciphertext.len()]);
    open_detached(
        cipher,
        envelope.nonce,
        &ad_bytes,
        envelope.ciphertext,
        envelope.tag,
        &mut buf,
    )
    .ok()?;

    // Authentic from here on; these checks only refuse a writer that does
    // not follow the format.
    let (prefix, rest) = buf.split_first_chunk::<LEN_PREFIX>()?;
    let n = usize::try_from(u32::from_be_bytes(*prefix)).ok()?;
    if padded_len(n)? != buf.len() {
        return None;
    }
    let (_, padding) = rest.split_at_checked(n)?;
    if padding.iter().any(|&b| b != 0) {
        return None;
    }
    // Move the plaintext to the front and cut the rest: no second buffer.
    buf.copy_within(LEN_PREFIX..LEN_PREFIX + n, 0);
    buf.truncate(n);
    Some(buf)
}

/// The parts of a stored envelope, borrowed from it.
struct Parsed<'a> {
    generation: u32,
    nonce: &'a [u8; NONCE_LEN],
    ciphertext: &'a [u8],
    tag: &'a [u8; TAG_LEN],
}

/// Splits a stored envelope into its parts; `None` when it is too short to
/// be one or has an unknown version.
fn parse(stored: &[u8]) -> Option<Parsed<'_>> {
    if stored.len() < MIN_STORED_LEN {
        return None;
    }
    let (&version, rest) = stored.split_first()?;
    if version != VERSION {
        return None;
    }
    let (generation, rest) = rest.split_first_chunk::<4>()?;
    let (nonce, rest) = rest.split_first_chunk::<NONCE_LEN>()?;
    let (ciphertext, tag) = rest.split_last_chunk::<TAG_LEN>()?;
    Some(Parsed {
        generation: u32::from_be_bytes(*generation),
        nonce,
        ciphertext,
        tag,
    })
}

#[cfg(test)]
mod tests;
