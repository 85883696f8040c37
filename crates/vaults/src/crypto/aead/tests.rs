#![allow(clippy::unwrap_used, clippy::panic)]
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
    assert_eq!(encoded[..], expected[..]);
    assert!(
        matches!(encoded, AdBytes::Inline(..)),
        "a 32-byte key fits inline"
    );

    // A key too long for the inline buffer (a plain vault's names are
    // stored keys too) is encoded the same way, on the heap.
    let long_key = [7u8; 200];
    let long = Ad {
        key: &long_key,
        ..ad(Domain::Name)
    };
    let encoded = long.encode().unwrap();
    assert!(matches!(encoded, AdBytes::Heap(_)));
    let mut expected = vec![11];
    expected.extend_from_slice(b"vaults.name");
    expected.extend_from_slice(&[0, 1]);
    expected.extend_from_slice(&VAULT);
    expected.extend_from_slice(&[0, 0, 0, 3]);
    expected.extend_from_slice(&[0, 200]);
    expected.extend_from_slice(&long_key);
    expected.push(1);
    expected.extend_from_slice(&1_700_000_000_000i64.to_be_bytes());
    assert_eq!(encoded[..], expected[..]);

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
    let value = seal_with_nonce(sub.value_cipher(), &value_ad, b"hunter2", &value_nonce).unwrap();
    let name = seal_with_nonce(sub.name_cipher(), &name_ad, b"db/password", &name_nonce).unwrap();
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
