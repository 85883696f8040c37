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
    fn encode(&self) -> Option<Vec<u8>> {
        let label = self.domain.label();
        let label_len = u8::try_from(label.len()).ok()?;
        let key_len = u16::try_from(self.key.len()).ok()?;
        let len = 1 + label.len() + 2 + VAULT_ID_LEN + 4 + 2 + self.key.len() + 1 + 8;
        let mut out = Vec::with_capacity(len);
        out.push(label_len);
        out.extend_from_slice(label);
        out.extend_from_slice(&FORMAT_VERSION.to_be_bytes());
        out.extend_from_slice(self.vault_id);
        out.extend_from_slice(&self.generation.to_be_bytes());
        out.extend_from_slice(&key_len.to_be_bytes());
        out.extend_from_slice(self.key);
        let (flag, expires_at) = match self.expires_at {
            Some(at) => (1u8, at),
            None => (0u8, 0),
        };
        out.push(flag);
        out.extend_from_slice(&expires_at.to_be_bytes());
        Some(out)
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
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::crypto::test_hex as hex;
    use chacha20poly1305::KeyInit;

    const VAULT: [u8; VAULT_ID_LEN] = [0x11; VAULT_ID_LEN];
    const KEY: [u8; 32] = [0x22; 32];

    fn cipher() -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new((&[0x42u8; 32]).into())
    }

    fn ad(domain: Domain) -> Ad<'static> {
        Ad {
            domain,
            vault_id: &VAULT,
            generation: 3,
            key: &KEY,
            expires_at: Some(1_700_000_000_000),
        }
    }

    fn is_integrity(result: Result<Zeroizing<Vec<u8>>>, expected: Integrity) -> bool {
        matches!(result, Err(Error::Integrity(i)) if i == expected)
    }

    /// draft-irtf-cfrg-xchacha-03, Appendix A.3.1, through the crate's only
    /// AEAD entry points.
    #[test]
    fn xchacha20poly1305_matches_draft_irtf_cfrg_xchacha_a_3_1() {
        let key: [u8; 32] = std::array::from_fn(|i| 0x80 + i as u8);
        let nonce: [u8; 24] = std::array::from_fn(|i| 0x40 + i as u8);
        let aad = hex("50515253c0c1c2c3c4c5c6c7");
        let plaintext = b"Ladies and Gentlemen of the class of '99: If I could offer you \
            only one tip for the future, sunscreen would be it.";
        let expected_ciphertext = hex(
            "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb\
             731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452\
             2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9\
             21f9664c97637da9768812f615c68b13b52e",
        );
        let expected_tag = hex("c0875924c1c7987947deafd8780acf49");
        let cipher = XChaCha20Poly1305::new((&key).into());

        let mut buf = plaintext.to_vec();
        let tag = seal_detached(&cipher, &nonce, &aad, &mut buf).unwrap();
        assert_eq!(buf, expected_ciphertext);
        assert_eq!(tag.to_vec(), expected_tag);

        let mut opened = vec![0u8; buf.len()];
        open_detached(&cipher, &nonce, &aad, &buf, &tag, &mut opened).unwrap();
        assert_eq!(opened, plaintext);

        let mut bad_tag = tag;
        bad_tag[0] ^= 1;
        let mut untouched = vec![0u8; buf.len()];
        assert!(open_detached(&cipher, &nonce, &aad, &buf, &bad_tag, &mut untouched).is_err());
        assert!(
            untouched.iter().all(|&b| b == 0),
            "decrypted despite a bad tag"
        );
    }

    #[test]
    fn padded_len_matches_the_documented_table() {
        let table = [
            (0, 32),
            (28, 32),
            (29, 64),
            (100, 128),
            (200, 224),
            (1000, 1024),
            (1100, 1152),
            (4096, 4352),
            (100_000, 100_352),
            (1_000_000, 1_015_808),
        ];
        for (n, padded) in table {
            assert_eq!(padded_len(n), Some(padded), "n = {n}");
        }
    }

    #[test]
    fn padded_len_is_monotonic_aligned_and_bounded() {
        let mut last = 0;
        for n in (0..=70_000).chain([MAX_PLAINTEXT - 1, MAX_PLAINTEXT]) {
            let padded = padded_len(n).unwrap();
            assert!(padded >= n + LEN_PREFIX);
            assert_eq!(padded % 32, 0, "n = {n}");
            assert!(padded >= last);
            // Padmé's bound: at most ~12% over, or the 32-byte floor.
            assert!(padded <= (n + LEN_PREFIX + 31).max((n + LEN_PREFIX) * 112 / 100 + 1));
            last = padded;
        }
        assert_eq!(padded_len(MAX_PLAINTEXT + 1), None);
        assert_eq!(padded_len(usize::MAX), None);
    }

    #[test]
    fn round_trips_every_length() {
        let cipher = cipher();
        let lengths = (0..=300).chain([4096, 100_000]);
        for n in lengths {
            let plaintext: Vec<u8> = (0..n).map(|i| (i * 7 + 3) as u8).collect();
            for domain in [Domain::Value, Domain::Name] {
                let stored = seal(&cipher, &ad(domain), &plaintext).unwrap();
                assert_eq!(stored.len(), HEADER_LEN + padded_len(n).unwrap() + TAG_LEN);
                assert!(stored.len() - n >= OVERHEAD);
                assert_eq!(generation(&stored).unwrap(), 3);
                let opened = open(&cipher, &ad(domain), &stored).unwrap();
                assert_eq!(opened.as_slice(), plaintext.as_slice(), "n = {n}");
            }
        }
    }

    #[test]
    fn header_layout_is_as_documented() {
        let stored = seal(&cipher(), &ad(Domain::Value), b"x").unwrap();
        assert_eq!(stored[0], VERSION);
        assert_eq!(stored[1..5], 3u32.to_be_bytes());
        assert_eq!(stored.len(), MIN_STORED_LEN);
    }

    #[test]
    fn associated_data_layout_is_as_documented() {
        let encoded = ad(Domain::Name).encode().unwrap();
        let mut expected = vec![11];
        expected.extend_from_slice(b"vaults.name");
        expected.extend_from_slice(&[0, 1]);
        expected.extend_from_slice(&VAULT);
        expected.extend_from_slice(&[0, 0, 0, 3]);
        expected.extend_from_slice(&[0, 32]);
        expected.extend_from_slice(&KEY);
        expected.push(1);
        expected.extend_from_slice(&1_700_000_000_000i64.to_be_bytes());
        assert_eq!(encoded, expected);

        let never = Ad {
            expires_at: None,
            ..ad(Domain::Value)
        };
        let encoded = never.encode().unwrap();
        assert_eq!(encoded[..13], *b"\x0cvaults.value");
        assert_eq!(encoded[encoded.len() - 9..], [0; 9]);
    }

    #[test]
    fn nonces_are_fresh() {
        let cipher = cipher();
        let a = seal(&cipher, &ad(Domain::Value), b"same").unwrap();
        let b = seal(&cipher, &ad(Domain::Value), b"same").unwrap();
        assert_ne!(a[5..29], b[5..29]);
        assert_ne!(a, b);
    }

    #[test]
    fn any_change_to_the_associated_data_fails() {
        let cipher = cipher();
        let stored = seal(&cipher, &ad(Domain::Value), b"secret value").unwrap();
        let other_vault = [0x12; VAULT_ID_LEN];
        let other_key = [0x23; 32];
        let base = ad(Domain::Value);
        let changed = [
            Ad {
                domain: Domain::Name,
                ..base
            },
            Ad {
                vault_id: &other_vault,
                ..base
            },
            Ad {
                generation: 4,
                ..base
            },
            Ad {
                key: &other_key,
                ..base
            },
            Ad {
                key: &KEY[..31],
                ..base
            },
            Ad {
                expires_at: None,
                ..base
            },
            Ad {
                expires_at: Some(1_700_000_000_001),
                ..base
            },
            Ad {
                expires_at: Some(0),
                ..base
            },
        ];
        for (i, wrong) in changed.iter().enumerate() {
            let expected = match wrong.domain {
                Domain::Value => Integrity::Entry,
                Domain::Name => Integrity::Name,
            };
            assert!(
                is_integrity(open(&cipher, wrong, &stored), expected),
                "case {i}"
            );
        }
        // No expiry sealed; any expiry on open fails, zero included.
        let never = Ad {
            expires_at: None,
            ..base
        };
        let stored = seal(&cipher, &never, b"secret value").unwrap();
        assert!(open(&cipher, &never, &stored).is_ok());
        for at in [0, 1, i64::MAX] {
            let wrong = Ad {
                expires_at: Some(at),
                ..base
            };
            assert!(is_integrity(
                open(&cipher, &wrong, &stored),
                Integrity::Entry
            ));
        }
    }

    #[test]
    fn a_generation_relabelled_in_the_header_fails() {
        let cipher = cipher();
        let mut stored = seal(&cipher, &ad(Domain::Value), b"v").unwrap();
        stored[1..5].copy_from_slice(&4u32.to_be_bytes());
        assert_eq!(generation(&stored).unwrap(), 4);
        // Both with the header's generation and with the original one.
        let relabelled = Ad {
            generation: 4,
            ..ad(Domain::Value)
        };
        assert!(is_integrity(
            open(&cipher, &relabelled, &stored),
            Integrity::Entry
        ));
        assert!(is_integrity(
            open(&cipher, &ad(Domain::Value), &stored),
            Integrity::Entry
        ));
    }

    #[test]
    fn another_key_fails() {
        let stored = seal(&cipher(), &ad(Domain::Name), b"name").unwrap();
        let other = XChaCha20Poly1305::new((&[0x43u8; 32]).into());
        assert!(is_integrity(
            open(&other, &ad(Domain::Name), &stored),
            Integrity::Name
        ));
    }

    #[test]
    fn every_bit_flip_fails() {
        let cipher = cipher();
        let plaintext = [0x5a; 100];
        let stored = seal(&cipher, &ad(Domain::Value), &plaintext).unwrap();
        let bits = stored.len() * 8;
        assert!(bits >= 1_000, "only {bits} positions");
        for bit in 0..bits {
            let mut flipped = stored.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            assert!(
                is_integrity(
                    open(&cipher, &ad(Domain::Value), &flipped),
                    Integrity::Entry
                ),
                "bit {bit}"
            );
        }
    }

    #[test]
    fn every_truncation_fails() {
        let cipher = cipher();
        for domain in [Domain::Value, Domain::Name] {
            let stored = seal(&cipher, &ad(domain), &[7; 100]).unwrap();
            let expected = match domain {
                Domain::Value => Integrity::Entry,
                Domain::Name => Integrity::Name,
            };
            for len in 0..stored.len() {
                assert!(
                    is_integrity(open(&cipher, &ad(domain), &stored[..len]), expected),
                    "len {len}"
                );
            }
            for len in 0..HEADER_LEN {
                assert!(matches!(
                    generation(&stored[..len]),
                    Err(Error::Integrity(Integrity::Entry))
                ));
            }
        }
    }

    #[test]
    fn appended_bytes_fail() {
        let cipher = cipher();
        let mut stored = seal(&cipher, &ad(Domain::Value), b"v").unwrap();
        stored.push(0);
        assert!(is_integrity(
            open(&cipher, &ad(Domain::Value), &stored),
            Integrity::Entry
        ));
    }

    #[test]
    fn unknown_versions_fail() {
        let cipher = cipher();
        let stored = seal(&cipher, &ad(Domain::Value), b"v").unwrap();
        for version in [0u8, 2, 0xff] {
            let mut other = stored.clone();
            other[0] = version;
            assert!(matches!(
                generation(&other),
                Err(Error::Integrity(Integrity::Entry))
            ));
            assert!(is_integrity(
                open(&cipher, &ad(Domain::Value), &other),
                Integrity::Entry
            ));
        }
    }

    #[test]
    fn garbage_fails_without_panic() {
        let cipher = cipher();
        let mut garbage = vec![0u8; 512];
        for len in [0, 1, 28, 29, 44, 45, 76, 77, 78, 200, 512] {
            for _ in 0..20 {
                random::fill_secret(&mut garbage[..len]).unwrap();
                garbage[0] = VERSION;
                let blob = &garbage[..len];
                assert!(is_integrity(
                    open(&cipher, &ad(Domain::Value), blob),
                    Integrity::Entry
                ));
            }
        }
    }

    /// Builds an authentic envelope around an arbitrary padded body, as a
    /// writer that breaks the padding rules would.
    fn seal_raw_body(cipher: &XChaCha20Poly1305, ad: &Ad<'_>, mut body: Vec<u8>) -> Vec<u8> {
        let nonce = [9u8; NONCE_LEN];
        let tag = seal_detached(cipher, &nonce, &ad.encode().unwrap(), &mut body).unwrap();
        let mut stored = vec![VERSION];
        stored.extend_from_slice(&ad.generation.to_be_bytes());
        stored.extend_from_slice(&nonce);
        stored.extend_from_slice(&body);
        stored.extend_from_slice(&tag);
        stored
    }

    #[test]
    fn authentic_but_malformed_bodies_fail() {
        let cipher = cipher();
        let ad = ad(Domain::Value);
        let body = |n: u32, len: usize, fill: u8| {
            let mut body = vec![fill; len];
            body[..4].copy_from_slice(&n.to_be_bytes());
            body
        };
        let cases = [
            ("length prefix beyond the body", body(29, 32, 0)),
            ("length prefix of u32::MAX", body(u32::MAX, 32, 0)),
            ("body longer than the padding rule", body(5, 64, 0)),
            ("body shorter than the padding rule", body(100, 112, 0)),
            ("non-zero padding", body(5, 32, 1)),
        ];
        for (what, body) in cases {
            let stored = seal_raw_body(&cipher, &ad, body);
            assert!(
                is_integrity(open(&cipher, &ad, &stored), Integrity::Entry),
                "{what}"
            );
        }
        // The same path accepts a well-formed body.
        let mut good = body(3, 32, 0);
        good[4..7].copy_from_slice(b"abc");
        let stored = seal_raw_body(&cipher, &ad, good);
        assert_eq!(open(&cipher, &ad, &stored).unwrap().as_slice(), b"abc");
    }

    #[test]
    fn padding_hides_short_lengths() {
        let cipher = cipher();
        let lengths: Vec<usize> = (0..=27)
            .map(|n| {
                seal(&cipher, &ad(Domain::Value), &vec![1; n])
                    .unwrap()
                    .len()
            })
            .collect();
        assert!(lengths.iter().all(|&l| l == lengths[0]), "{lengths:?}");
        assert_eq!(lengths[0], MIN_STORED_LEN);
    }

    #[test]
    fn an_oversized_key_is_refused() {
        let long_key = vec![0u8; 65_536];
        let ad = Ad {
            key: &long_key,
            ..ad(Domain::Value)
        };
        assert!(matches!(
            seal(&cipher(), &ad, b"v"),
            Err(Error::InvalidName { .. })
        ));
        let stored = seal(&cipher(), &self::ad(Domain::Value), b"v").unwrap();
        assert!(is_integrity(
            open(&cipher(), &ad, &stored),
            Integrity::Entry
        ));
    }

    #[test]
    fn opened_plaintext_is_exact() {
        let stored = seal(&cipher(), &ad(Domain::Value), &[1; 40]).unwrap();
        let opened = open(&cipher(), &ad(Domain::Value), &stored).unwrap();
        assert_eq!(opened.len(), 40);
    }

    /// Frozen vector in docs/format-crypto.md: a change here breaks every
    /// existing vault.
    #[test]
    fn envelope_vector_is_frozen() {
        use crate::crypto::keys::{SubKeys, VaultKey};
        let vault_key: [u8; 32] = std::array::from_fn(|i| i as u8);
        let vault_id: [u8; VAULT_ID_LEN] = std::array::from_fn(|i| 0xa0 + i as u8);
        let sub = SubKeys::derive(&VaultKey::from_bytes(Zeroizing::new(vault_key)), &vault_id);
        let index = sub.blind_index(b"db/password");
        let value_ad = Ad {
            domain: Domain::Value,
            vault_id: &vault_id,
            generation: 1,
            key: &index,
            expires_at: Some(1_700_000_000_000),
        };
        let name_ad = Ad {
            domain: Domain::Name,
            expires_at: None,
            ..value_ad
        };
        let value_nonce: [u8; NONCE_LEN] = std::array::from_fn(|i| 0x40 + i as u8);
        let name_nonce: [u8; NONCE_LEN] = std::array::from_fn(|i| 0x60 + i as u8);
        let value =
            seal_with_nonce(sub.value_cipher(), &value_ad, b"hunter2", &value_nonce).unwrap();
        let name =
            seal_with_nonce(sub.name_cipher(), &name_ad, b"db/password", &name_nonce).unwrap();
        let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
        assert_eq!(
            hex(&value_ad.encode().unwrap()),
            "0c7661756c74732e76616c75650001a0a1a2a3a4a5a6a7a8a9aaabacadaeaf00000001\
             00201a76832ffaaea5bdf732682c1ad38d6a14a552e61afef55842ad8f154be4d547\
             010000018bcfe56800"
        );
        assert_eq!(
            hex(&name_ad.encode().unwrap()),
            "0b7661756c74732e6e616d650001a0a1a2a3a4a5a6a7a8a9aaabacadaeaf00000001\
             00201a76832ffaaea5bdf732682c1ad38d6a14a552e61afef55842ad8f154be4d547\
             000000000000000000"
        );
        assert_eq!(
            hex(&value),
            "0100000001404142434445464748494a4b4c4d4e4f5051525354555657\
             c83f65c596478ad259339efca2757ab24154f92795b006385a411066208824e7\
             bd454bc3ffc5ed102d5e949b43142193"
        );
        assert_eq!(
            hex(&name),
            "0100000001606162636465666768696a6b6c6d6e6f7071727374757677\
             992e5a7b7fec489f9b0dbc029b178eadf2b4a7aaf90ea06c5ade1e7244b4de57\
             c4c85b97d26233022564b116230bc596"
        );
        assert_eq!(
            open(sub.value_cipher(), &value_ad, &value)
                .unwrap()
                .as_slice(),
            b"hunter2"
        );
        assert_eq!(
            open(sub.name_cipher(), &name_ad, &name).unwrap().as_slice(),
            b"db/password"
        );
    }
}
