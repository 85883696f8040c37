//! The work of one unlock through the library (issue item 5): the slot cap,
//! cheapest-first order, the Argon2 budget, naming a slot, and raising the
//! ceiling for slots written above it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use vaults::{
    EncryptedVault, Error, KdfCeiling, KdfParams, LockedVault, MAX_SLOTS, SkipReason, SkippedSlot,
    Store,
};
use vaults_test_support::encrypted::*;

const P1: &str = "first passphrase";
const P2: &str = "second passphrase";
const P3: &str = "third passphrase";

/// A closed vault whose slots 1, 2, ... have these passphrases and parameters.
fn vault_with_slots(slots: &[(&str, KdfParams)]) -> (tempfile::TempDir, std::path::PathBuf) {
    let (dir, path) = temp_path();
    let (first, rest) = slots.split_first().expect("one slot at least");
    let vault = EncryptedVault::create(&path, &pass(first.0), first.1).unwrap();
    vault.put("k", "v").unwrap();
    for (p, params) in rest {
        vault.add_passphrase_slot(&pass(p), *params).unwrap();
    }
    vault.close().unwrap();
    (dir, path)
}

#[test]
fn a_seventeenth_slot_is_refused() -> TestResult {
    let mut vault = EncryptedVault::create_in_memory(&pass(P1), KdfParams::MIN)?;
    let store: std::sync::Arc<keyring_core::CredentialStore> = keyring_core::mock::Store::new()?;
    vault.set_keyring(vaults::Keyring::with_store(store));
    for n in 2..=MAX_SLOTS {
        let id = vault.add_passphrase_slot(&pass(&format!("pass {n}")), KdfParams::MIN)?;
        assert_eq!(id as usize, n);
    }
    assert!(matches!(
        vault.add_passphrase_slot(&pass(P2), KdfParams::MIN),
        Err(Error::TooManySlots { max: 16 })
    ));
    assert!(matches!(
        vault.add_keyring_slot(),
        Err(Error::TooManySlots { max: 16 })
    ));
    assert_eq!(vault.slots()?.len(), MAX_SLOTS);
    Ok(())
}

#[test]
fn the_cheapest_slot_is_tried_first() -> TestResult {
    // The same passphrase in both: whichever is tried first opens.
    let dearer = KdfParams::new(19 * 1024, 3, 1)?;
    let (_dir, path) = vault_with_slots(&[(P1, dearer), (P1, KdfParams::MIN)]);
    assert_eq!(
        LockedVault::open(&path)?.unlock(&pass(P1))?.unlocked_slot(),
        2
    );
    assert_eq!(
        LockedVault::open(&path)?
            .unlock_slot(1, &pass(P1))?
            .unlocked_slot(),
        1
    );
    Ok(())
}

#[test]
fn the_budget_bounds_the_slots_one_unlock_tries() -> TestResult {
    let (_dir, path) = vault_with_slots(&[
        (P1, KdfParams::MIN),
        (P2, KdfParams::MIN),
        (P3, KdfParams::MIN),
    ]);
    // A ceiling at the floor: its budget is two slots at the floor.
    let tight = KdfCeiling::new(19 * 1024, 2, 1)?;
    assert_eq!(tight.budget(), 2 * 19 * 1024 * 2);
    let locked = LockedVault::open(&path)?.with_kdf_ceiling(tight);
    assert_eq!(
        locked.skipped_slots()?,
        vec![SkippedSlot {
            id: 3,
            reason: SkipReason::OverBudget
        }]
    );
    assert!(matches!(
        locked.unlock(&pass(P3)),
        Err(Error::WrongPassphrase)
    ));
    let locked = LockedVault::open(&path)?.with_kdf_ceiling(tight);
    assert_eq!(locked.unlock(&pass(P2))?.unlocked_slot(), 2);
    // Named, slot 3 is tried alone.
    let locked = LockedVault::open(&path)?.with_kdf_ceiling(tight);
    assert_eq!(locked.unlock_slot(3, &pass(P3))?.unlocked_slot(), 3);
    // The default budget covers all three.
    assert_eq!(
        LockedVault::open(&path)?.unlock(&pass(P3))?.unlocked_slot(),
        3
    );
    Ok(())
}

#[test]
fn a_slot_above_the_ceiling_is_skipped_unless_raised() -> TestResult {
    let slow = KdfParams::new_within(19 * 1024, 11, 1, &KdfCeiling::HIGHEST)?;
    let (_dir, path) = vault_with_slots(&[(P1, KdfParams::MIN), (P2, slow)]);
    let skipped = LockedVault::open(&path)?.skipped_slots()?;
    assert_eq!(
        skipped,
        vec![SkippedSlot {
            id: 2,
            reason: SkipReason::OutOfBounds {
                reason: "iterations above the ceiling of 10"
            }
        }]
    );
    assert_eq!(
        skipped[0].to_string(),
        "key slot 2 skipped: argon2 iterations above the ceiling of 10"
    );
    // Slot 1 is not blocked by slot 2.
    let mut vault = LockedVault::open(&path)?.unlock(&pass(P1))?;
    assert_eq!(vault.get::<String>("k")?.as_deref(), Some("v"));
    // A rotation under the default ceiling would run slot 2's Argon2: refused.
    assert!(matches!(
        vault.rotate(&[(1, &pass(P1)), (2, &pass(P2))], |_| {}),
        Err(Error::KdfParams { .. })
    ));
    drop(vault);
    assert!(matches!(
        LockedVault::open(&path)?.unlock(&pass(P2)),
        Err(Error::WrongPassphrase)
    ));
    assert!(matches!(
        LockedVault::open(&path)?.unlock_slot(2, &pass(P2)),
        Err(Error::KdfParams { .. })
    ));

    let raised = LockedVault::open(&path)?.with_kdf_ceiling(KdfCeiling::HIGHEST);
    assert!(raised.skipped_slots()?.is_empty());
    let mut vault = raised.unlock(&pass(P2))?;
    assert_eq!(vault.unlocked_slot(), 2);
    assert_eq!(vault.kdf_ceiling(), KdfCeiling::HIGHEST);
    let _ = vault.rotate(&[(1, &pass(P1)), (2, &pass(P2))], |_| {})?;
    assert_eq!(vault.get::<String>("k")?.as_deref(), Some("v"));
    Ok(())
}

#[test]
fn a_named_slot_must_be_a_passphrase_slot() -> TestResult {
    let (_dir, path) = vault_with_slots(&[(P1, KdfParams::MIN)]);
    assert!(matches!(
        LockedVault::open(&path)?.unlock_slot(2, &pass(P1)),
        Err(Error::SlotNotFound { id: 2 })
    ));
    assert!(matches!(
        LockedVault::open(&path)?.unlock_slot(1, &pass(P2)),
        Err(Error::WrongPassphrase)
    ));
    Ok(())
}

#[test]
fn ceilings_stay_between_the_floor_and_the_highest() {
    assert_eq!(KdfCeiling::DEFAULT.max(), KdfParams::MAX);
    assert!(KdfCeiling::new(4 * 1024 * 1024, 20, 16).is_ok());
    for (m, t, p) in [
        (4 * 1024 * 1024 + 1, 20, 16),
        (1024 * 1024, 21, 8),
        (1024 * 1024, 10, 17),
        (1024, 10, 8),
    ] {
        assert!(
            matches!(KdfCeiling::new(m, t, p), Err(Error::KdfParams { .. })),
            "({m}, {t}, {p})"
        );
    }
    assert!(matches!(
        KdfParams::new_within(2 * 1024 * 1024, 3, 1, &KdfCeiling::DEFAULT),
        Err(Error::KdfParams { .. })
    ));
}
