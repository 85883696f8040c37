//! The cryptography of format version 1: randomness, passphrase stretching,
//! the key hierarchy, sealed values and names, and key slots.
//!
//! Byte layouts are specified in `docs/format-crypto.md`; every decoder here
//! takes untrusted bytes and answers with a typed error, never a panic.

pub(crate) mod envelope;
pub(crate) mod kdf;
mod key_change;
mod keyring;
pub(crate) mod keys;
pub(crate) mod meta;
pub(crate) mod random;
mod repair;
mod rotate;
mod sealer;
pub(crate) mod slot;
mod unlock_plan;
mod vault;

pub use kdf::{KdfCeiling, KdfParams, Passphrase};
pub use key_change::KeyChange;
pub use keyring::Keyring;
pub use repair::UnreadableRow;
pub use rotate::Progress;
pub use sealer::Sealer;
pub use unlock_plan::{MAX_SLOTS, SkipReason, SkippedSlot};
pub use vault::{EncryptedTransaction, EncryptedVault, LockedVault, SlotInfo, UnlockedKey};

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
