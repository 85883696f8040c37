//! The cryptography of format version 1: randomness, passphrase stretching,
//! the key hierarchy, sealed values and names (AEAD with padding), key
//! slots, the metadata MAC, and unlock planning.
//!
//! Pure: functions over bytes and keys, no I/O (randomness aside), and no
//! knowledge of storage or of how rows are encoded. Byte layouts are
//! specified in `docs/format-crypto.md`; every decoder here takes untrusted
//! bytes and answers with a typed error, never a panic.

pub(crate) mod aead;
pub(crate) mod kdf;
pub(crate) mod keys;
pub(crate) mod meta;
pub(crate) mod random;
pub(crate) mod slot;
pub(crate) mod unlock_plan;

pub use kdf::{KdfCeiling, KdfParams, Passphrase};
pub use unlock_plan::{MAX_SLOTS, SkipReason, SkippedSlot};

/// Decodes a hex string, ignoring white space (test vectors).
#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "test vectors are literals")]
pub(crate) fn test_hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}
