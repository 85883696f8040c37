//! The vault key and the sub-keys derived from it.
//!
//! The vault key is random, generated once per key generation, and never
//! derived from a passphrase: key slots only wrap it. Each use gets its own
//! sub-key through HKDF-SHA256 with a distinct label, so a ciphertext made for
//! one purpose can never be opened, or a tag forged, under another.

use std::fmt;

use chacha20poly1305::{KeyInit, XChaCha20Poly1305};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, ExposeSecretMut, SecretBox};
use sha2::Sha256;
use zeroize::Zeroizing;

use super::random;
use crate::Result;

/// Length of the vault key and of every sub-key.
pub(crate) const KEY_LEN: usize = 32;

/// Length of a vault id, the HKDF salt.
pub(crate) const VAULT_ID_LEN: usize = 16;

/// Length of a blind index and of a metadata MAC.
pub(crate) const MAC_LEN: usize = 32;

/// HKDF `info` of the sub-key that seals values.
const LABEL_VALUE: &[u8] = b"vaults/v1/value";
/// HKDF `info` of the sub-key that seals names.
const LABEL_NAME: &[u8] = b"vaults/v1/name";
/// HKDF `info` of the sub-key that hashes names into stored keys.
const LABEL_INDEX: &[u8] = b"vaults/v1/index";
/// HKDF `info` of the sub-key that authenticates the metadata.
const LABEL_META: &[u8] = b"vaults/v1/meta";

/// HMAC-SHA256, pre-keyed once and cloned per message.
type HmacSha256 = Hmac<Sha256>;

/// The 32-byte vault key. Wiped on drop; not `Clone`; `Debug` is redacted.
///
/// The bytes live on the heap from the start (they are written into their
/// box, never moved there), so moving a `VaultKey` copies a pointer, not the
/// key: no stray copy is left in a stack frame.
pub(crate) struct VaultKey {
    bytes: SecretBox<[u8; KEY_LEN]>,
}

impl VaultKey {
    /// A fresh random key, straight from the OS generator.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Rng`] when the OS generator fails.
    pub(crate) fn generate() -> Result<VaultKey> {
        VaultKey::fill_with(|bytes| random::fill_secret(bytes))
    }

    /// A key whose bytes `fill` writes in place (an unwrapped key slot).
    ///
    /// # Errors
    ///
    /// Whatever `fill` returns; the partly written key is wiped.
    pub(crate) fn fill_with(
        fill: impl FnOnce(&mut [u8; KEY_LEN]) -> Result<()>,
    ) -> Result<VaultKey> {
        let mut bytes = SecretBox::init_with_mut(|_: &mut [u8; KEY_LEN]| {});
        fill(bytes.expose_secret_mut())?;
        Ok(VaultKey { bytes })
    }

    /// A copy of `bytes` (a cached unlock), made heap to heap.
    pub(crate) fn copy_of(bytes: &[u8; KEY_LEN]) -> VaultKey {
        let bytes = SecretBox::init_with_mut(|key: &mut [u8; KEY_LEN]| key.copy_from_slice(bytes));
        VaultKey { bytes }
    }

    /// Takes key bytes (test vectors and fuzz targets).
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn from_bytes(bytes: Zeroizing<[u8; KEY_LEN]>) -> VaultKey {
        VaultKey::copy_of(&bytes)
    }

    /// The raw key, for wrapping into a slot and deriving sub-keys.
    pub(crate) fn expose(&self) -> &[u8; KEY_LEN] {
        self.bytes.expose_secret()
    }
}

impl fmt::Debug for VaultKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("VaultKey([redacted])")
    }
}

/// The working keys of an unlocked vault, ready to use.
///
/// Holds keyed ciphers and pre-keyed HMAC states rather than raw bytes, so
/// no key schedule is redone per entry. Every part wipes itself on drop (with
/// the `zeroize` features of chacha20poly1305, hmac and sha2). `Send + Sync`:
/// one `Arc<SubKeys>` serves every thread.
pub(crate) struct SubKeys {
    value: XChaCha20Poly1305,
    name: XChaCha20Poly1305,
    index: HmacSha256,
    meta: HmacSha256,
}

impl SubKeys {
    /// Derives the four sub-keys with HKDF-SHA256: the vault key as input
    /// keying material, the vault id as salt, one label per sub-key as info.
    pub(crate) fn derive(key: &VaultKey, vault_id: &[u8; VAULT_ID_LEN]) -> SubKeys {
        let hkdf = Hkdf::<Sha256>::new(Some(vault_id), key.expose());
        SubKeys {
            value: cipher(&expand(&hkdf, LABEL_VALUE)),
            name: cipher(&expand(&hkdf, LABEL_NAME)),
            index: hmac(&expand(&hkdf, LABEL_INDEX)),
            meta: hmac(&expand(&hkdf, LABEL_META)),
        }
    }

    /// The AEAD that seals values.
    pub(crate) fn value_cipher(&self) -> &XChaCha20Poly1305 {
        &self.value
    }

    /// The AEAD that seals names.
    pub(crate) fn name_cipher(&self) -> &XChaCha20Poly1305 {
        &self.name
    }

    /// The stored key of a name: HMAC-SHA256 under the index key, so lookups
    /// stay exact and indexed without the name appearing in the file.
    pub(crate) fn blind_index(&self, name: &[u8]) -> [u8; MAC_LEN] {
        mac(&self.index, name)
    }

    /// HMAC-SHA256 of the encoded metadata under the meta key.
    pub(crate) fn meta_mac(&self, msg: &[u8]) -> [u8; MAC_LEN] {
        mac(&self.meta, msg)
    }

    /// Whether `tag` is the metadata MAC of `msg`, compared in constant time.
    pub(crate) fn verify_meta_mac(&self, msg: &[u8], tag: &[u8]) -> bool {
        let mut mac = self.meta.clone();
        mac.update(msg);
        mac.verify_slice(tag).is_ok()
    }
}

impl fmt::Debug for SubKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SubKeys([redacted])")
    }
}

/// One HKDF-Expand output of [`KEY_LEN`] bytes.
#[expect(
    clippy::expect_used,
    reason = "HKDF-SHA256 refuses only outputs over 255 × 32 bytes; this one is 32"
)]
fn expand(hkdf: &Hkdf<Sha256>, label: &[u8]) -> Box<Zeroizing<[u8; KEY_LEN]>> {
    // Boxed, like the vault key: the bytes are never moved.
    let mut okm = Box::new(Zeroizing::new([0u8; KEY_LEN]));
    hkdf.expand(label, okm.as_mut_slice())
        .expect("32 bytes is a valid HKDF-SHA256 output length");
    okm
}

/// An XChaCha20-Poly1305 instance keyed with `key`.
fn cipher(key: &[u8; KEY_LEN]) -> XChaCha20Poly1305 {
    XChaCha20Poly1305::new(key.into())
}

/// A pre-keyed HMAC-SHA256 state.
fn hmac(key: &[u8; KEY_LEN]) -> HmacSha256 {
    // HMAC zero-pads a key shorter than the 64-byte block (RFC 2104), so
    // passing it padded is the same function through the infallible
    // constructor.
    let mut block = Zeroizing::new([0u8; 64]);
    let (head, _) = block.split_at_mut(KEY_LEN);
    head.copy_from_slice(key);
    <HmacSha256 as KeyInit>::new((&*block).into())
}

/// HMAC of `msg` from a pre-keyed state: cloning it (~130 ns) is cheaper than
/// keying afresh.
fn mac(keyed: &HmacSha256, msg: &[u8]) -> [u8; MAC_LEN] {
    let mut mac = keyed.clone();
    mac.update(msg);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn key(byte: u8) -> VaultKey {
        VaultKey::from_bytes(Zeroizing::new([byte; KEY_LEN]))
    }

    #[test]
    fn labels_give_distinct_keys() {
        let hkdf = Hkdf::<Sha256>::new(Some(&[1u8; VAULT_ID_LEN]), &[2u8; KEY_LEN]);
        let outputs: Vec<[u8; KEY_LEN]> = [LABEL_VALUE, LABEL_NAME, LABEL_INDEX, LABEL_META]
            .iter()
            .map(|label| **expand(&hkdf, label))
            .collect();
        for (i, a) in outputs.iter().enumerate() {
            for b in &outputs[i + 1..] {
                assert_ne!(a, b);
            }
        }
        // The index and meta MACs differ on the same message.
        let sub = SubKeys::derive(&key(2), &[1; VAULT_ID_LEN]);
        assert_ne!(sub.blind_index(b"x"), sub.meta_mac(b"x"));
    }

    #[test]
    fn hkdf_matches_rfc_5869_test_case_1() {
        // The `hkdf` crate's SHA-256 path as we call it (Test Case 1, first
        // 32 bytes of OKM).
        let ikm = [0x0b; 22];
        let salt: Vec<u8> = (0x00..=0x0c).collect();
        let info: Vec<u8> = (0xf0..=0xf9).collect();
        let hkdf = Hkdf::<Sha256>::new(Some(&salt), &ikm);
        let okm = expand(&hkdf, &info);
        assert_eq!(
            okm[..],
            [
                0x3c, 0xb2, 0x5f, 0x25, 0xfa, 0xac, 0xd5, 0x7a, 0x90, 0x43, 0x4f, 0x64, 0xd0, 0x36,
                0x2f, 0x2a, 0x2d, 0x2d, 0x0a, 0x90, 0xcf, 0x1a, 0x5a, 0x4c, 0x5d, 0xb0, 0x2d, 0x56,
                0xec, 0xc4, 0xc5, 0xbf,
            ]
        );
    }

    #[test]
    fn padded_hmac_key_is_plain_hmac() {
        let key = [0x5a; KEY_LEN];
        let reference = {
            let mut mac = <HmacSha256 as KeyInit>::new_from_slice(&key).unwrap();
            mac.update(b"message");
            mac.finalize().into_bytes()
        };
        assert_eq!(mac(&hmac(&key), b"message")[..], reference[..]);
    }

    #[test]
    fn same_inputs_give_the_same_index() {
        let a = SubKeys::derive(&key(3), &[4; VAULT_ID_LEN]);
        let b = SubKeys::derive(&key(3), &[4; VAULT_ID_LEN]);
        assert_eq!(a.blind_index(b"db/password"), b.blind_index(b"db/password"));
        assert_ne!(a.blind_index(b"db/password"), a.blind_index(b"db/passwore"));
    }

    #[test]
    fn another_vault_id_or_key_gives_another_index() {
        let a = SubKeys::derive(&key(3), &[4; VAULT_ID_LEN]);
        let other_id = SubKeys::derive(&key(3), &[5; VAULT_ID_LEN]);
        let other_key = SubKeys::derive(&key(6), &[4; VAULT_ID_LEN]);
        assert_ne!(a.blind_index(b"name"), other_id.blind_index(b"name"));
        assert_ne!(a.blind_index(b"name"), other_key.blind_index(b"name"));
    }

    #[test]
    fn meta_mac_verifies_only_its_message() {
        let sub = SubKeys::derive(&key(7), &[8; VAULT_ID_LEN]);
        let tag = sub.meta_mac(b"metadata");
        assert!(sub.verify_meta_mac(b"metadata", &tag));
        assert!(!sub.verify_meta_mac(b"metadatA", &tag));
        let mut bad = tag;
        bad[31] ^= 1;
        assert!(!sub.verify_meta_mac(b"metadata", &bad));
        assert!(!sub.verify_meta_mac(b"metadata", &tag[..31]));
        assert!(!sub.verify_meta_mac(b"metadata", &[]));
        let other = SubKeys::derive(&key(7), &[9; VAULT_ID_LEN]);
        assert!(!other.verify_meta_mac(b"metadata", &tag));
    }

    #[test]
    fn value_and_name_ciphers_differ() {
        use chacha20poly1305::AeadInOut;
        let sub = SubKeys::derive(&key(1), &[1; VAULT_ID_LEN]);
        let nonce = [0u8; 24];
        let mut a = *b"same plaintext";
        let mut b = a;
        let tag_a = sub
            .value_cipher()
            .encrypt_inout_detached((&nonce).into(), b"", a.as_mut_slice().into())
            .unwrap();
        let tag_b = sub
            .name_cipher()
            .encrypt_inout_detached((&nonce).into(), b"", b.as_mut_slice().into())
            .unwrap();
        assert_ne!(a, b);
        assert_ne!(tag_a, tag_b);
    }

    #[test]
    fn generated_keys_differ() {
        let a = VaultKey::generate().unwrap();
        let b = VaultKey::generate().unwrap();
        assert_ne!(a.expose(), b.expose());
    }

    #[test]
    fn sub_keys_are_send_and_sync() {
        fn shareable<T: Send + Sync>() {}
        shareable::<SubKeys>();
        shareable::<VaultKey>();
    }

    /// Regression: the vault key was a 32-byte array held by value, so
    /// every move of it left a copy in a stack frame.
    #[test]
    fn the_vault_key_lives_on_the_heap() {
        assert_eq!(size_of::<VaultKey>(), size_of::<usize>());
        let key = VaultKey::copy_of(&[7; KEY_LEN]);
        let moved = std::hint::black_box(key);
        assert_eq!(moved.expose(), &[7; KEY_LEN]);
    }

    #[test]
    fn debug_is_redacted() {
        let key = key(0xab);
        let sub = SubKeys::derive(&key, &[0; VAULT_ID_LEN]);
        let shown = format!("{key:?} {sub:?}");
        assert_eq!(shown, "VaultKey([redacted]) SubKeys([redacted])");
    }

    /// Frozen vector in docs/format-crypto.md: a change here breaks every
    /// existing vault.
    #[test]
    fn sub_key_vector_is_frozen() {
        let vault_key: [u8; KEY_LEN] = std::array::from_fn(|i| i as u8);
        let vault_id: [u8; VAULT_ID_LEN] = std::array::from_fn(|i| 0xa0 + i as u8);
        let hkdf = Hkdf::<Sha256>::new(Some(&vault_id), &vault_key);
        let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
        let got: Vec<String> = [LABEL_VALUE, LABEL_NAME, LABEL_INDEX, LABEL_META]
            .iter()
            .map(|label| hex(&**expand(&hkdf, label)))
            .collect();
        let sub = SubKeys::derive(&VaultKey::from_bytes(Zeroizing::new(vault_key)), &vault_id);
        let index = hex(&sub.blind_index(b"db/password"));
        assert_eq!(
            got,
            [
                "0fedc42190000df189f3dbdc58ac230ac906ecb72be549a3faba9b870fdeedb7",
                "784e229ecc0cbb0bd7eeece5eea51061ff7b27f3e076c6964de948cc62484731",
                "ca3c411c60520874af76b72561e6f44d86eab99bde3b033678091de29af8d054",
                "9327a26991f40851eb2e21ca7225c24db0d4c378993b950f014e89bd29786f36",
            ]
        );
        assert_eq!(
            index,
            "1a76832ffaaea5bdf732682c1ad38d6a14a552e61afef55842ad8f154be4d547"
        );
    }
}
