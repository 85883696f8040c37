//! Edited metadata: slots inserted, removed, downgraded or malformed, KDF
//! parameters out of bounds, the generation record, the MAC, the vault id,
//! the crypto version; and a wrong passphrase.

use super::*;

/// A closed vault with two passphrase slots: 1 (`PASS`) and 2 (`OTHER_PASS`).
fn two_slots() -> Built {
    let b = build(&[("a-XYZZY", "value-XYZZY", None)]);
    let vault = b.open().unwrap();
    let id = vault
        .add_passphrase_slot(&pass(OTHER_PASS), vaults::KdfParams::MIN)
        .unwrap();
    assert_eq!(id, 2);
    vault.close().unwrap();
    b
}

/// Unlocks the vault of `b` with `passphrase`.
fn unlock(b: &Built, passphrase: &str) -> vaults::Result<vaults::EncryptedVault> {
    open(&b.path, passphrase, &b.clock)
}

#[test]
fn an_inserted_slot_fails_metadata() -> TestResult {
    let b = build(&[("a-XYZZY", "value-XYZZY", None)]);
    let conn = raw(&b.path);
    let slot1 = meta_get(&conn, &slot_name(1)).expect("slot 1");
    meta_put(&conn, &slot_name(2), &slot1);
    drop(conn);
    expect_integrity(unlock(&b, PASS), Integrity::Metadata);
    Ok(())
}

#[test]
fn a_removed_slot_fails_metadata() -> TestResult {
    let b = two_slots();
    let pristine = snapshot(&b.path);
    meta_delete(&raw(&b.path), &slot_name(2));
    expect_integrity(unlock(&b, PASS), Integrity::Metadata);

    restore(&b.path, &pristine);
    meta_delete(&raw(&b.path), &slot_name(1));
    expect_integrity(unlock(&b, OTHER_PASS), Integrity::Metadata);

    restore(&b.path, &pristine);
    assert_eq!(unlock(&b, OTHER_PASS)?.unlocked_slot(), 2);
    Ok(())
}

#[test]
fn a_downgraded_slot_fails_metadata() -> TestResult {
    let b = two_slots();
    let old_slot2 = meta_get(&raw(&b.path), &slot_name(2)).expect("slot 2");
    // Slot 2's passphrase is changed (its old passphrase leaked, say).
    let vault = unlock(&b, OTHER_PASS)?;
    let _ = vault.change_passphrase(2, &pass("new-pass-XYZZY"), vaults::KdfParams::MIN)?;
    vault.close()?;
    // The attacker puts back the old record of slot 2.
    let conn = raw(&b.path);
    assert_ne!(meta_get(&conn, &slot_name(2)), Some(old_slot2.clone()));
    meta_put(&conn, &slot_name(2), &old_slot2);
    drop(conn);

    expect_integrity(unlock(&b, PASS), Integrity::Metadata);
    // The old passphrase opens the old record, but the metadata gives it away.
    expect_integrity(unlock(&b, OTHER_PASS), Integrity::Metadata);
    // The new passphrase opens neither record.
    assert!(matches!(
        unlock(&b, "new-pass-XYZZY"),
        Err(Error::WrongPassphrase)
    ));
    Ok(())
}

/// Rewrites the Argon2 parameters (bytes 2..14) of slot `id`.
fn set_slot_params(path: &Path, id: u32, memory_kib: u32, iterations: u32, lanes: u32) {
    let conn = raw(path);
    let mut record = meta_get(&conn, &slot_name(id)).expect("the slot");
    assert_eq!(&record[..2], &[1, 1], "a version-1 passphrase slot");
    record[2..6].copy_from_slice(&memory_kib.to_be_bytes());
    record[6..10].copy_from_slice(&iterations.to_be_bytes());
    record[10..14].copy_from_slice(&lanes.to_be_bytes());
    meta_put(&conn, &slot_name(id), &record);
}

#[test]
fn kdf_params_below_the_floor_are_refused_before_argon2() -> TestResult {
    let b = two_slots();
    let pristine = snapshot(&b.path);
    for (id, (m, t, p)) in [
        (1, (8 * 1024, 2, 1)), // 8 MiB
        (1, (19 * 1024 - 1, 2, 1)),
        (1, (19 * 1024, 1, 1)),
        (1, (19 * 1024, 2, 0)),
        (2, (8, 1, 1)), // the other slot
    ] {
        restore(&b.path, &pristine);
        set_slot_params(&b.path, id, m, t, p);
        let locked = LockedVault::open(&b.path)?;
        // Listed as stored (not yet authenticated)...
        let listed = locked.slots().into_iter().find_map(|s| match s {
            vaults::SlotInfo::Passphrase { id: i, params } if i == id => Some(params),
            _ => None,
        });
        let listed = listed.expect("the slot is listed");
        assert_eq!(
            (
                listed.memory_kib(),
                listed.iterations(),
                listed.parallelism()
            ),
            (m, t, p)
        );
        // ...but skipped before Argon2 runs, without blocking the other
        // slot: the unlock ends at the other slot (wrong passphrase for
        // slot 2, the metadata MAC for slot 1).
        assert_eq!(
            locked
                .skipped_slots()?
                .iter()
                .map(|s| s.id)
                .collect::<Vec<_>>(),
            [id]
        );
        match id {
            1 => assert!(matches!(
                locked.unlock(&pass(PASS)),
                Err(Error::WrongPassphrase)
            )),
            _ => expect_integrity(locked.unlock(&pass(PASS)), Integrity::Metadata),
        }
    }
    Ok(())
}

#[test]
fn kdf_params_above_the_ceiling_are_refused_before_argon2() -> TestResult {
    let b = build(&[("a-XYZZY", "value-XYZZY", None)]);
    let pristine = snapshot(&b.path);
    // Were Argon2 run with these, the test would allocate terabytes or spin
    // for hours instead of returning at once.
    for (m, t, p) in [
        (8 * 1024 * 1024, 2, 1), // 8 GiB
        (u32::MAX, 2, 1),        // 4 TiB
        (19 * 1024, 21, 1),
        (19 * 1024, u32::MAX, 1),
        (19 * 1024, 2, 17),
        (u32::MAX, u32::MAX, u32::MAX),
    ] {
        restore(&b.path, &pristine);
        set_slot_params(&b.path, 1, m, t, p);
        expect_kdf_params(unlock(&b, PASS));
        expect_kdf_params(unlock(&b, "wrong-XYZZY"));
    }
    Ok(())
}

#[test]
fn an_edited_generation_record_fails_metadata() -> TestResult {
    let b = build(&[("a-XYZZY", "value-XYZZY", None)]);
    let pristine = snapshot(&b.path);
    for generation in [0u32, 2, u32::MAX] {
        restore(&b.path, &pristine);
        meta_put(&raw(&b.path), "generation", &generation.to_be_bytes());
        expect_integrity(unlock(&b, PASS), Integrity::Metadata);
    }
    for malformed in [&[][..], &[0, 1][..], &[0, 0, 0, 0, 1][..]] {
        restore(&b.path, &pristine);
        meta_put(&raw(&b.path), "generation", malformed);
        expect_integrity(unlock(&b, PASS), Integrity::Metadata);
    }
    restore(&b.path, &pristine);
    meta_delete(&raw(&b.path), "generation");
    expect_integrity(unlock(&b, PASS), Integrity::Metadata);
    Ok(())
}

#[test]
fn a_deleted_or_edited_mac_fails_metadata() -> TestResult {
    let b = build(&[("a-XYZZY", "value-XYZZY", None)]);
    let pristine = snapshot(&b.path);
    let mac = meta_get(&raw(&b.path), "mac").expect("a mac record");
    assert_eq!(mac.len(), 32);

    meta_delete(&raw(&b.path), "mac");
    expect_integrity(LockedVault::open(&b.path), Integrity::Metadata);

    let mut variants = vec![Vec::new(), mac[..31].to_vec(), [&mac[..], &[0]].concat()];
    for bit in [0, 7, 100, 255] {
        let mut flipped = mac.clone();
        flipped[bit / 8] ^= 1 << (bit % 8);
        variants.push(flipped);
    }
    for bad in variants {
        restore(&b.path, &pristine);
        meta_put(&raw(&b.path), "mac", &bad);
        expect_integrity(unlock(&b, PASS), Integrity::Metadata);
    }
    Ok(())
}

#[test]
fn malformed_slot_records_fail_before_any_unlock() -> TestResult {
    let b = build(&[("a-XYZZY", "value-XYZZY", None)]);
    let pristine = snapshot(&b.path);
    let slot1 = meta_get(&raw(&b.path), &slot_name(1)).expect("slot 1");
    assert_eq!(slot1.len(), 102, "a version-1 passphrase slot record");

    let mut malformed = vec![
        Vec::new(),
        slot1[..101].to_vec(),
        [&slot1[..], &[0]].concat(),
    ];
    for (index, byte) in [(0, 2u8), (1, 3), (1, 0)] {
        let mut r = slot1.clone();
        r[index] = byte;
        malformed.push(r);
    }
    for record in malformed {
        restore(&b.path, &pristine);
        meta_put(&raw(&b.path), &slot_name(1), &record);
        expect_integrity(LockedVault::open(&b.path), Integrity::Slot);
    }

    // Slot records under names that are not `slot.` + 10 digits.
    for name in ["slot.1", "slot.000000000x", "slot.00000000001"] {
        restore(&b.path, &pristine);
        meta_put(&raw(&b.path), name, &slot1);
        expect_integrity(LockedVault::open(&b.path), Integrity::Metadata);
    }

    // No slot at all.
    restore(&b.path, &pristine);
    meta_delete(&raw(&b.path), &slot_name(1));
    expect_integrity(LockedVault::open(&b.path), Integrity::Metadata);

    // An edited salt is an edited header: the wrap no longer opens, which is
    // indistinguishable from a wrong passphrase.
    restore(&b.path, &pristine);
    let mut r = slot1.clone();
    r[20] ^= 1;
    meta_put(&raw(&b.path), &slot_name(1), &r);
    assert!(matches!(unlock(&b, PASS), Err(Error::WrongPassphrase)));
    Ok(())
}

#[test]
fn an_edited_vault_id_never_unlocks() -> TestResult {
    let b = build(&[("a-XYZZY", "value-XYZZY", None)]);
    meta_put(&raw(&b.path), "vault_id", &[0x5a; 16]);
    // The id is bound into every slot's wrap: no slot opens.
    let e = err(unlock(&b, PASS));
    assert_names_no_secret(&e, &[MARKER]);
    assert!(
        matches!(e, Error::WrongPassphrase | Error::Integrity(_)),
        "{e:?}"
    );
    Ok(())
}

#[test]
fn a_wrong_passphrase_is_its_own_error() -> TestResult {
    let b = two_slots();
    for wrong in [
        "wrong-XYZZY",
        "pass-XYZZY correct hors",
        "PASS-XYZZY CORRECT HORSE",
    ] {
        let e = err(unlock(&b, wrong));
        assert!(matches!(e, Error::WrongPassphrase), "{e:?}");
        assert_eq!(e.to_string(), "wrong passphrase");
        assert_names_no_secret(&e, &[MARKER, wrong]);
    }
    assert_eq!(unlock(&b, PASS)?.unlocked_slot(), 1);
    assert_eq!(unlock(&b, OTHER_PASS)?.unlocked_slot(), 2);
    // Distinct from every tampering class, and the empty passphrase is refused
    // before anything runs.
    assert!(matches!(Passphrase::new(""), Err(Error::EmptyPassphrase)));
    Ok(())
}

#[test]
fn an_unknown_crypto_version_is_unsupported() -> TestResult {
    let b = build(&[("a-XYZZY", "value-XYZZY", None)]);
    meta_put(&raw(&b.path), "crypto", &2u16.to_be_bytes());
    let e = err(LockedVault::open(&b.path));
    assert!(
        matches!(
            e,
            Error::UnsupportedVersion {
                found: 2,
                supported: 1
            }
        ),
        "{e:?}"
    );
    Ok(())
}
