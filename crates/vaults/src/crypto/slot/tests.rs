#![allow(clippy::unwrap_used, clippy::panic)]
use super::*;
use crate::crypto::kdf::{Passphrase, derive_kek};

const VAULT: [u8; VAULT_ID_LEN] = [0x31; VAULT_ID_LEN];
const KEK: [u8; KEK_LEN] = [0x32; KEK_LEN];

fn vault_key() -> VaultKey {
    VaultKey::from_bytes(Zeroizing::new([0x33; KEY_LEN]))
}

fn passphrase_kind() -> SlotKind {
    SlotKind::Passphrase {
        params: KdfParams::DEFAULT,
        salt: [0x34; SALT_LEN],
    }
}

fn keyring_kind() -> SlotKind {
    SlotKind::Keyring {
        account: "vaults/0123456789abcdef".into(),
    }
}

fn is_slot_integrity<T>(result: Result<T>) -> bool {
    matches!(result, Err(Error::Integrity(Integrity::Slot)))
}

#[test]
fn wrap_then_unwrap_gives_the_key_back() {
    for kind in [passphrase_kind(), keyring_kind()] {
        let record = SlotRecord::wrap(&VAULT, 7, kind.clone(), &KEK, &vault_key()).unwrap();
        assert_eq!(record.kind(), &kind);
        let key = record.unwrap(&VAULT, 7, &KEK).unwrap();
        assert_eq!(key.expose(), vault_key().expose());
    }
}

#[test]
fn with_a_passphrase_kek() {
    let salt = new_salt().unwrap();
    let params = KdfParams::MIN;
    let pass = Passphrase::new("correct horse").unwrap();
    let kek = derive_kek(&pass, &salt, &params).unwrap();
    let kind = SlotKind::Passphrase { params, salt };
    let record = SlotRecord::wrap(&VAULT, 0, kind, &kek, &vault_key()).unwrap();
    let decoded = SlotRecord::decode(&record.encode()).unwrap();
    let SlotKind::Passphrase { params, salt } = decoded.kind() else {
        panic!("kind changed");
    };
    params.check().unwrap();
    let again = derive_kek(&pass, salt, params).unwrap();
    assert_eq!(
        decoded.unwrap(&VAULT, 0, &again).unwrap().expose(),
        vault_key().expose()
    );
    let wrong = derive_kek(&Passphrase::new("correct horsf").unwrap(), salt, params).unwrap();
    assert!(matches!(
        decoded.unwrap(&VAULT, 0, &wrong),
        Err(Error::WrongPassphrase)
    ));
}

#[test]
fn encode_decode_round_trips() {
    for kind in [passphrase_kind(), keyring_kind()] {
        let record = SlotRecord::wrap(&VAULT, 1, kind, &KEK, &vault_key()).unwrap();
        let bytes = record.encode();
        let decoded = SlotRecord::decode(&bytes).unwrap();
        assert_eq!(decoded, record);
        assert_eq!(decoded.encode(), bytes);
        assert_eq!(
            decoded.unwrap(&VAULT, 1, &KEK).unwrap().expose(),
            vault_key().expose()
        );
    }
}

#[test]
fn encoded_layout_is_as_documented() {
    let record = SlotRecord::wrap(&VAULT, 1, passphrase_kind(), &KEK, &vault_key()).unwrap();
    let bytes = record.encode();
    assert_eq!(bytes.len(), 2 + 12 + 16 + 24 + 48);
    assert_eq!(bytes[..2], [1, 1]);
    assert_eq!(bytes[2..6], 65_536u32.to_be_bytes());
    assert_eq!(bytes[6..10], 3u32.to_be_bytes());
    assert_eq!(bytes[10..14], 1u32.to_be_bytes());
    assert_eq!(bytes[14..30], [0x34; 16]);
    assert_eq!(bytes[30..54], record.nonce);

    let record = SlotRecord::wrap(&VAULT, 1, keyring_kind(), &KEK, &vault_key()).unwrap();
    let bytes = record.encode();
    assert_eq!(bytes[..3], [1, 2, 23]);
    assert_eq!(&bytes[3..26], b"vaults/0123456789abcdef");
    assert_eq!(bytes.len(), 3 + 23 + 24 + 48);
}

#[test]
fn decode_does_not_check_kdf_params() {
    let hostile = SlotKind::Passphrase {
        params: KdfParams::from_stored(u32::MAX, u32::MAX, 0),
        salt: [0; SALT_LEN],
    };
    let mut bytes = encode_header(&hostile).unwrap();
    bytes.extend_from_slice(&[0; NONCE_LEN + WRAPPED_LEN]);
    let decoded = SlotRecord::decode(&bytes).unwrap();
    let SlotKind::Passphrase { params, .. } = decoded.kind() else {
        panic!("kind changed");
    };
    assert!(matches!(params.check(), Err(Error::KdfParams { .. })));
}

#[test]
fn every_truncation_and_extension_is_refused() {
    for kind in [passphrase_kind(), keyring_kind()] {
        let bytes = SlotRecord::wrap(&VAULT, 1, kind, &KEK, &vault_key())
            .unwrap()
            .encode();
        for len in 0..bytes.len() {
            assert!(
                is_slot_integrity(SlotRecord::decode(&bytes[..len])),
                "len {len}"
            );
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(is_slot_integrity(SlotRecord::decode(&longer)));
    }
}

#[test]
fn garbage_is_refused_without_panic() {
    let mut garbage = [0u8; 256];
    let mut decoded = 0;
    for round in 0..20_000 {
        let len = round % garbage.len();
        random::fill_secret(&mut garbage[..len]).unwrap();
        // Half the time, a plausible start, to reach the deeper checks.
        if round % 2 == 0 && len >= 3 {
            garbage[0] = VERSION;
            garbage[1] = 1 + (round % 4 == 0) as u8;
        }
        match SlotRecord::decode(&garbage[..len]) {
            Ok(record) => {
                decoded += 1;
                assert!(matches!(
                    record.unwrap(&VAULT, 0, &KEK),
                    Err(Error::WrongPassphrase)
                ));
            }
            Err(err) => assert!(matches!(err, Error::Integrity(Integrity::Slot))),
        }
    }
    // Passphrase records of exactly 102 bytes parse; the rest must not.
    assert!(decoded > 0);
}

#[test]
fn unknown_version_kind_and_bad_labels_are_refused() {
    let good = SlotRecord::wrap(&VAULT, 1, keyring_kind(), &KEK, &vault_key())
        .unwrap()
        .encode();
    let edits: [(usize, u8); 5] = [(0, 0), (0, 2), (1, 0), (1, 3), (2, 0)];
    for (at, value) in edits {
        let mut bytes = good.clone();
        bytes[at] = value;
        assert!(
            is_slot_integrity(SlotRecord::decode(&bytes)),
            "byte {at} = {value}"
        );
    }
    let mut not_utf8 = good.clone();
    not_utf8[3] = 0xff;
    assert!(is_slot_integrity(SlotRecord::decode(&not_utf8)));
}

#[test]
fn bad_account_labels_are_refused_at_wrap() {
    for account in [String::new(), "a".repeat(MAX_ACCOUNT_LEN + 1)] {
        let kind = SlotKind::Keyring { account };
        assert!(matches!(
            SlotRecord::wrap(&VAULT, 1, kind, &KEK, &vault_key()),
            Err(Error::Keyring { .. })
        ));
    }
    let longest = SlotKind::Keyring {
        account: "a".repeat(MAX_ACCOUNT_LEN),
    };
    let record = SlotRecord::wrap(&VAULT, 1, longest, &KEK, &vault_key()).unwrap();
    assert_eq!(SlotRecord::decode(&record.encode()).unwrap(), record);
}

#[test]
fn out_of_bounds_params_are_refused_at_wrap() {
    let kind = SlotKind::Passphrase {
        params: KdfParams::from_stored(1024, 1, 1),
        salt: [0; SALT_LEN],
    };
    assert!(matches!(
        SlotRecord::wrap(&VAULT, 1, kind, &KEK, &vault_key()),
        Err(Error::KdfParams { .. })
    ));
}

#[test]
fn editing_any_header_byte_fails_the_unwrap() {
    for kind in [passphrase_kind(), keyring_kind()] {
        let record = SlotRecord::wrap(&VAULT, 1, kind, &KEK, &vault_key()).unwrap();
        let bytes = record.encode();
        let mut parsed_edits = 0;
        for at in 0..record.header.len() {
            for flip in [0x01u8, 0x80, 0xff] {
                let mut edited = bytes.clone();
                edited[at] ^= flip;
                match SlotRecord::decode(&edited) {
                    // Still well-formed (params, salt, label text): the tag
                    // must catch it, with the KEK unchanged.
                    Ok(record) => {
                        parsed_edits += 1;
                        assert!(
                            matches!(record.unwrap(&VAULT, 1, &KEK), Err(Error::WrongPassphrase)),
                            "byte {at} ^ {flip:#x}"
                        );
                    }
                    Err(err) => assert!(matches!(err, Error::Integrity(Integrity::Slot))),
                }
            }
        }
        assert!(parsed_edits > 0);
    }
}

#[test]
fn editing_the_nonce_or_wrapped_key_fails_the_unwrap() {
    let record = SlotRecord::wrap(&VAULT, 1, passphrase_kind(), &KEK, &vault_key()).unwrap();
    let bytes = record.encode();
    for at in record.header.len()..bytes.len() {
        let mut edited = bytes.clone();
        edited[at] ^= 0x10;
        let decoded = SlotRecord::decode(&edited).unwrap();
        assert!(matches!(
            decoded.unwrap(&VAULT, 1, &KEK),
            Err(Error::WrongPassphrase)
        ));
    }
}

#[test]
fn wrong_kek_vault_or_slot_id_fails_the_unwrap() {
    let record = SlotRecord::wrap(&VAULT, 1, keyring_kind(), &KEK, &vault_key()).unwrap();
    let mut other_kek = KEK;
    other_kek[0] ^= 1;
    let mut other_vault = VAULT;
    other_vault[15] ^= 1;
    assert!(matches!(
        record.unwrap(&VAULT, 1, &other_kek),
        Err(Error::WrongPassphrase)
    ));
    assert!(matches!(
        record.unwrap(&other_vault, 1, &KEK),
        Err(Error::WrongPassphrase)
    ));
    assert!(matches!(
        record.unwrap(&VAULT, 2, &KEK),
        Err(Error::WrongPassphrase)
    ));
    assert!(record.unwrap(&VAULT, 1, &KEK).is_ok());
}

#[test]
fn associated_data_layout_is_as_documented() {
    let ad = associated_data(&VAULT, 0x0102_0304, &[1, 2, 5]);
    let mut expected = vec![11];
    expected.extend_from_slice(b"vaults.slot");
    expected.extend_from_slice(&[0, 1]);
    expected.extend_from_slice(&VAULT);
    expected.extend_from_slice(&[1, 2, 3, 4]);
    expected.extend_from_slice(&[1, 2, 5]);
    assert_eq!(ad, expected);
}

#[test]
fn salts_are_fresh() {
    assert_ne!(new_salt().unwrap(), new_salt().unwrap());
}

/// Frozen vectors in docs/format-crypto.md: a change here breaks every
/// existing vault.
#[test]
fn slot_vectors_are_frozen() {
    let vault_key = VaultKey::from_bytes(Zeroizing::new(std::array::from_fn(|i| i as u8)));
    let vault_id: [u8; VAULT_ID_LEN] = std::array::from_fn(|i| 0xa0 + i as u8);
    let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();

    let salt: [u8; SALT_LEN] = std::array::from_fn(|i| 0xb0 + i as u8);
    let params = KdfParams::MIN;
    let pass = Passphrase::new("correct horse battery staple").unwrap();
    let kek = derive_kek(&pass, &salt, &params).unwrap();
    let kind = SlotKind::Passphrase { params, salt };
    let nonce = std::array::from_fn(|i| 0x80 + i as u8);
    let record = SlotRecord::wrap_with_nonce(&vault_id, 0, kind, &kek, &vault_key, nonce).unwrap();
    assert_eq!(
        hex(&**kek),
        "dd6fe29d3d4cf1a7147f5546f3a8db5bc7d413b02581e2f2ca983657f3930ad0"
    );
    assert_eq!(
        hex(&associated_data(&vault_id, 0, &record.header)),
        "0b7661756c74732e736c6f740001a0a1a2a3a4a5a6a7a8a9aaabacadaeaf00000000\
         010100004c000000000200000001b0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
    );
    assert_eq!(
        hex(&record.encode()),
        "010100004c000000000200000001b0b1b2b3b4b5b6b7b8b9babbbcbdbebf\
         808182838485868788898a8b8c8d8e8f9091929394959697\
         0a7468464e5b1f47ef71bebbcb3793bda236433fb12a676a65de6bad1e76d605\
         a109b2397b3209cc44230b5b88e98a1d"
    );
    assert_eq!(
        record.unwrap(&vault_id, 0, &kek).unwrap().expose(),
        vault_key.expose()
    );

    let kek: [u8; KEK_LEN] = std::array::from_fn(|i| 0xc0 + i as u8);
    let kind = SlotKind::Keyring {
        account: "vaults/example".into(),
    };
    let nonce = std::array::from_fn(|i| 0x98 + i as u8);
    let keyring = SlotRecord::wrap_with_nonce(&vault_id, 1, kind, &kek, &vault_key, nonce).unwrap();
    assert_eq!(
        hex(&keyring.encode()),
        "01020e7661756c74732f6578616d706c65\
         98999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeaf\
         ec3c3b8181fe68ce1c8dcb1e9fc5016fbbbfaa98515c63c376e221acadd93242\
         f5dfe6abf5c4f8db575d13b884318d59"
    );
    assert_eq!(
        keyring.unwrap(&vault_id, 1, &kek).unwrap().expose(),
        vault_key.expose()
    );
}
