//! Key slots (passphrase and keyring), passphrase changes, key rotation,
//! cached keys, and the things a locked vault can do without a key.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use keyring_core::CredentialStore;
use vaults::{
    EncryptedVault, Error, KdfParams, Keyring, Kind, LockedVault, ManualClock, Progress, SlotInfo,
    Store, Ttl, Vault,
};
use vaults_test_support::encrypted::*;

const A: &str = "first passphrase";
const B: &str = "second passphrase";

fn mock_keyring() -> (Arc<CredentialStore>, Keyring) {
    let store: Arc<CredentialStore> = keyring_core::mock::Store::new().unwrap();
    (store.clone(), Keyring::with_store(store))
}

fn keyring_account(slots: &[SlotInfo]) -> String {
    slots
        .iter()
        .find_map(|s| match s {
            SlotInfo::Keyring { account, .. } => Some(account.clone()),
            _ => None,
        })
        .expect("a keyring slot")
}

#[test]
fn a_second_passphrase_slot_opens_the_vault() -> TestResult {
    let (_dir, path) = temp_path();
    let clock = ManualClock::new(T0);
    let vault = create(&path, A, &clock)?;
    vault.put("k", "v")?;
    assert_eq!(vault.add_passphrase_slot(&pass(B), KdfParams::MIN)?, 2);
    vault.close()?;

    let locked = LockedVault::open(&path)?;
    assert_eq!(
        locked.slots(),
        [
            SlotInfo::Passphrase {
                id: 1,
                params: KdfParams::MIN
            },
            SlotInfo::Passphrase {
                id: 2,
                params: KdfParams::MIN
            },
        ]
    );
    drop(locked);
    for (passphrase, slot) in [(A, 1), (B, 2)] {
        let vault = open(&path, passphrase, &clock)?;
        assert_eq!(vault.unlocked_slot(), slot);
        assert_eq!(vault.get::<String>("k")?.as_deref(), Some("v"));
        assert_eq!(vault.slots()?.len(), 2);
    }
    assert!(matches!(
        open(&path, "neither", &clock),
        Err(Error::WrongPassphrase)
    ));
    Ok(())
}

#[test]
fn a_keyring_slot_opens_the_vault() -> TestResult {
    let (_dir, path) = temp_path();
    let (store, keyring) = mock_keyring();
    let mut vault = create(&path, A, &ManualClock::new(T0))?;
    vault.set_keyring(keyring.clone());
    vault.put("k", "v")?;
    assert_eq!(vault.add_keyring_slot()?, 2);
    let account = keyring_account(&vault.slots()?);
    vault.close()?;

    let vault = LockedVault::open(&path)?.unlock_with_keyring(&keyring)?;
    assert_eq!(vault.unlocked_slot(), 2);
    assert_eq!(vault.get::<String>("k")?.as_deref(), Some("v"));
    drop(vault);
    // The passphrase still works: the keyring is never the only way in.
    assert_eq!(EncryptedVault::open(&path, &pass(A))?.unlocked_slot(), 1);

    // Another keyring, without the secret.
    let (_, empty) = mock_keyring();
    let e = err(LockedVault::open(&path)?.unlock_with_keyring(&empty));
    assert!(matches!(e, Error::Keyring { .. }), "{e:?}");

    // The entry holds another secret.
    let entry = keyring_core::Entry::new_in_store(&store, "vaults", &account)?;
    let genuine = entry.get_secret()?;
    assert_eq!(genuine.len(), 32);
    entry.set_secret(&[0x42; 32])?;
    let e = err(LockedVault::open(&path)?.unlock_with_keyring(&keyring));
    assert!(matches!(e, Error::WrongPassphrase), "{e:?}");
    entry.set_secret(&genuine)?;

    // Removing the slot removes its keyring entry.
    let vault = EncryptedVault::open(&path, &pass(A))?;
    let mut vault = vault;
    vault.set_keyring(keyring.clone());
    let _ = vault.remove_slot(2)?;
    assert!(matches!(
        entry.get_secret(),
        Err(keyring_core::Error::NoEntry)
    ));
    vault.close()?;
    let e = err(LockedVault::open(&path)?.unlock_with_keyring(&keyring));
    assert!(matches!(e, Error::Keyring { .. }), "{e:?}");
    Ok(())
}

#[test]
fn the_last_passphrase_slot_cannot_be_removed() -> TestResult {
    let (_dir, path) = temp_path();
    let clock = ManualClock::new(T0);
    let (_, keyring) = mock_keyring();
    let mut vault = create(&path, A, &clock)?;
    vault.set_keyring(keyring);
    assert!(matches!(vault.remove_slot(1), Err(Error::LastSlot)));
    let kr = vault.add_keyring_slot()?;
    // A keyring slot does not count: the keyring is never the only way in.
    assert!(matches!(vault.remove_slot(1), Err(Error::LastSlot)));
    assert!(matches!(
        vault.remove_slot(99),
        Err(Error::SlotNotFound { id: 99 })
    ));
    let _ = vault.remove_slot(kr)?;
    let second = vault.add_passphrase_slot(&pass(B), KdfParams::MIN)?;
    let _ = vault.remove_slot(1)?;
    assert_eq!(
        vault.slots()?,
        [SlotInfo::Passphrase {
            id: second,
            params: KdfParams::MIN
        }]
    );
    assert!(matches!(vault.remove_slot(second), Err(Error::LastSlot)));
    vault.close()?;
    assert!(matches!(
        open(&path, A, &clock),
        Err(Error::WrongPassphrase)
    ));
    assert_eq!(open(&path, B, &clock)?.unlocked_slot(), second);
    Ok(())
}

#[test]
fn change_passphrase_rewraps_one_slot_and_no_entry() -> TestResult {
    let (_dir, path) = temp_path();
    let clock = ManualClock::new(T0);
    let vault = create(&path, A, &clock)?;
    for i in 0..20 {
        vault.put_with_ttl(&format!("k{i}"), &i, Duration::from_secs(3600))?;
    }
    let other_handle = open(&path, A, &clock)?;
    let before = rows(&raw(&path));
    let slot2_before = {
        vault.add_passphrase_slot(&pass(B), KdfParams::MIN)?;
        meta_get(&raw(&path), &slot_name(2))
    };

    let _ = vault.change_passphrase(1, &pass("changed"), KdfParams::MIN)?;
    assert_eq!(rows(&raw(&path)), before, "no entry was re-encrypted");
    assert_eq!(meta_get(&raw(&path), &slot_name(2)), slot2_before);
    // A handle opened before the change keeps working: the key is the same.
    assert_eq!(other_handle.get::<i32>("k3")?, Some(3));
    other_handle.put("k99", &99)?;
    assert!(matches!(
        vault.change_passphrase(7, &pass("x"), KdfParams::MIN),
        Err(Error::SlotNotFound { id: 7 })
    ));
    drop((vault, other_handle));

    assert!(matches!(
        open(&path, A, &clock),
        Err(Error::WrongPassphrase)
    ));
    let vault = open(&path, "changed", &clock)?;
    assert_eq!(vault.get::<i32>("k19")?, Some(19));
    assert_eq!(vault.get::<i32>("k99")?, Some(99));
    assert_eq!(open(&path, B, &clock)?.unlocked_slot(), 2);

    // Not a passphrase slot.
    let (_, keyring) = mock_keyring();
    let mut vault = vault;
    vault.set_keyring(keyring);
    let kr = vault.add_keyring_slot()?;
    assert!(matches!(
        vault.change_passphrase(kr, &pass("x"), KdfParams::MIN),
        Err(Error::SlotNotFound { .. })
    ));
    Ok(())
}

#[test]
fn passphrases_are_nfc_normalised() -> TestResult {
    let composed = "caf\u{e9} cr\u{e8}me br\u{fb}l\u{e9}e";
    let decomposed = "cafe\u{301} cre\u{300}me bru\u{302}le\u{301}e";
    assert_ne!(composed.as_bytes(), decomposed.as_bytes());
    let clock = ManualClock::new(T0);
    for (created_with, opened_with) in [(composed, decomposed), (decomposed, composed)] {
        let (_dir, path) = temp_path();
        create(&path, created_with, &clock)?.put("k", "v")?;
        let vault = open(&path, opened_with, &clock)?;
        assert_eq!(vault.get::<String>("k")?.as_deref(), Some("v"));
    }
    Ok(())
}

/// A vault with slots 1 (`A`) and 2 (`B`) and some entries.
fn two_slot_vault(path: &std::path::Path, clock: &ManualClock) -> EncryptedVault {
    let vault = create(path, A, clock).unwrap();
    vault.add_passphrase_slot(&pass(B), KdfParams::MIN).unwrap();
    vault.put("k", "v").unwrap();
    vault
}

#[test]
fn rotate_needs_every_passphrase_and_checks_each() -> TestResult {
    let (_dir, path) = temp_path();
    let clock = ManualClock::new(T0);
    let mut vault = two_slot_vault(&path, &clock);
    let snapshot = || {
        let conn = raw(&path);
        (rows(&conn), meta_all(&conn))
    };
    let before = snapshot();
    let (a, b) = (pass(A), pass(B));

    let e = err(vault.rotate(&[(1, &a)], |_| {}));
    assert!(matches!(e, Error::SlotSecretMissing { id: 2 }), "{e:?}");
    let wrong = pass("wrong");
    for given in [
        [(1, &a), (2, &wrong)],
        [(1, &wrong), (2, &b)],
        [(1, &b), (2, &a)],
    ] {
        let e = err(vault.rotate(&given, |_| {}));
        assert!(matches!(e, Error::WrongPassphrase), "{e:?}");
    }
    assert_eq!(vault.generation(), 1);
    assert_eq!(snapshot(), before, "a refused rotation changes nothing");

    let _ = vault.rotate(&[(2, &b), (1, &a)], |_| {})?;
    assert_eq!(vault.generation(), 2);
    assert_eq!(vault.get::<String>("k")?.as_deref(), Some("v"));
    Ok(())
}

#[test]
fn rotate_re_encrypts_every_entry_under_a_new_generation() -> TestResult {
    let (_dir, path) = temp_path();
    let clock = ManualClock::new(T0);
    let (store, keyring) = mock_keyring();
    let mut vault = two_slot_vault(&path, &clock);
    vault.set_keyring(keyring.clone());
    vault.add_keyring_slot()?;
    let old_account = keyring_account(&vault.slots()?);
    // More entries than one rotation batch (512), with and without expiry.
    vault.put_many((0..600).map(|i| (format!("entry-{i}"), i)))?;
    for i in 0..100 {
        vault.expire(
            &format!("entry-{i}"),
            Duration::from_secs(60 + i),
            vaults::ExpireIf::Always,
        )?;
    }
    vault.put_with_ttl("short-lived", &0, Duration::from_secs(1))?;
    vault.remove("k")?;
    clock.advance(Duration::from_secs(2)); // "short-lived" has expired
    let names_before = vault.keys()?;
    let ttls_before: Vec<_> = names_before.iter().map(|n| vault.ttl(n).unwrap()).collect();
    let rows_before = rows(&raw(&path));
    let stale = open(&path, A, &clock)?;
    let old_key = vault.unlocked_key();

    let mut reports: Vec<Progress> = Vec::new();
    let _ = vault.rotate(&[(1, &pass(A)), (2, &pass(B))], |p| reports.push(p))?;

    // Progress: from 0 to the total, never backwards.
    let total = 600;
    assert_eq!(reports.first(), Some(&Progress { done: 0, total }));
    assert_eq!(reports.last(), Some(&Progress { done: total, total }));
    assert!(reports.windows(2).all(|w| w[0].done <= w[1].done));

    assert_eq!(vault.generation(), 2);
    assert_eq!(meta_get(&raw(&path), "generation"), Some(vec![0, 0, 0, 2]));
    assert_eq!(vault.keys()?, names_before);
    let ttls_after: Vec<_> = names_before.iter().map(|n| vault.ttl(n).unwrap()).collect();
    assert_eq!(ttls_after, ttls_before);
    for i in 0..600 {
        assert_eq!(vault.get::<i32>(&format!("entry-{i}"))?, Some(i));
    }
    // Every stored byte changed: keys, sealed names, sealed values; the
    // expired entry is gone.
    let rows_after = rows(&raw(&path));
    assert_eq!(rows_after.len(), 600);
    assert_eq!(rows_before.len(), 601);
    let old: BTreeSet<&[u8]> = rows_before
        .iter()
        .flat_map(|r| [&r.key[..], r.name.as_deref().unwrap(), &r.value[..]])
        .collect();
    for r in &rows_after {
        for part in [&r.key[..], r.name.as_deref().unwrap(), &r.value[..]] {
            assert!(!old.contains(part), "a stored blob survived the rotation");
        }
        assert_eq!(&r.value[..5], &[1, 0, 0, 0, 2], "sealed under generation 2");
    }
    let expiries = |rs: &[Row]| {
        let mut e: Vec<_> = rs.iter().filter_map(|r| r.expires_at).collect();
        e.sort_unstable();
        e
    };
    assert_eq!(
        expiries(&rows_after),
        expiries(&rows_before)
            .into_iter()
            .filter(|&at| at > clock_now(&clock))
            .collect::<Vec<_>>()
    );

    // A handle from before the rotation refuses to read or write.
    for e in [
        err(stale.get::<i32>("entry-1")),
        err(stale.put("entry-1", &0)),
        err(stale.contains("entry-1")),
        err(stale.keys()),
        err(stale.remove("entry-1")),
        err(stale.get_many::<i32, _, _>(["entry-1"])),
        err(stale.transaction(|tx| tx.put("x", &1))),
    ] {
        assert!(matches!(e, Error::KeyRotated), "{e:?}");
    }
    drop(stale);
    assert_eq!(vault.get::<i32>("entry-1")?, Some(1), "nothing was written");

    // The old key no longer opens the vault; fresh opens work.
    let e = err(LockedVault::open_with(&options(&clock), &path)?.unlock_with_key(&old_key));
    assert!(matches!(e, Error::WrongPassphrase), "{e:?}");
    vault.close()?;
    for p in [A, B] {
        let v = open(&path, p, &clock)?;
        assert_eq!(v.generation(), 2);
        assert_eq!(v.get::<i32>("entry-599")?, Some(599));
    }
    // The keyring slot got a fresh secret under a fresh account; the old
    // entry is gone.
    let new_account = keyring_account(&LockedVault::open_with(&options(&clock), &path)?.slots());
    assert_ne!(new_account, old_account);
    assert!(matches!(
        keyring_core::Entry::new_in_store(&store, "vaults", &old_account)?.get_secret(),
        Err(keyring_core::Error::NoEntry)
    ));
    let v = LockedVault::open_with(&options(&clock), &path)?.unlock_with_keyring(&keyring)?;
    assert_eq!(v.get::<i32>("entry-7")?, Some(7));
    Ok(())
}

/// What a stale handle tries after another one rotated the key.
type Attempt = fn(&EncryptedVault) -> vaults::Result<()>;

#[test]
fn a_handle_that_just_confirmed_its_keys_still_sees_a_rotation() -> TestResult {
    // A handle skips re-reading the generation record while nothing has
    // committed since it last matched; a rotation by another connection
    // commits, so every read that misses and every write must notice it,
    // even right after the handle confirmed its keys.
    let attempts: [(&str, Attempt); 10] = [
        ("get of a name it had", |v| v.get::<i32>("k").map(drop)),
        ("get of a name it never had", |v| {
            v.get::<i32>("absent").map(drop)
        }),
        ("contains", |v| v.contains("k").map(drop)),
        ("ttl", |v| v.ttl("k").map(drop)),
        ("keys", |v| v.keys().map(drop)),
        ("get_many", |v| {
            v.get_many::<i32, _, _>(["absent"]).map(drop)
        }),
        ("put", |v| v.put("new", &2)),
        ("remove", |v| v.remove("absent").map(drop)),
        ("persist", |v| v.persist("absent").map(drop)),
        ("transaction", |v| v.transaction(|tx| tx.put("new", &2))),
    ];
    for (what, attempt) in attempts {
        let (_dir, path) = temp_path();
        let clock = ManualClock::new(T0);
        let mut vault = create(&path, A, &clock)?;
        vault.put("k", &1)?;
        let stale = open(&path, A, &clock)?;
        // Warm: two misses, so the second one is answered from the cache.
        assert_eq!(stale.get::<i32>("absent")?, None, "{what}");
        assert!(!stale.contains("absent")?, "{what}");
        let _ = vault.rotate(&[(1, &pass(A))], |_| {})?;
        let before = rows(&raw(&path));

        let e = err(attempt(&stale));
        assert!(matches!(e, Error::KeyRotated), "{what}: {e:?}");
        assert_eq!(rows(&raw(&path)), before, "{what} wrote nothing");
        assert_eq!(vault.get::<i32>("k")?, Some(1), "{what}");
        assert_eq!(vault.get::<i32>("new")?, None, "{what}");
    }
    Ok(())
}

fn clock_now(clock: &ManualClock) -> i64 {
    vaults::Clock::now_ms(clock)
}

#[test]
fn an_unlocked_key_reopens_until_the_next_rotation() -> TestResult {
    let (_dir, path) = temp_path();
    let clock = ManualClock::new(T0);
    let mut vault = create(&path, A, &clock)?;
    vault.put("k", "v")?;
    let key = vault.unlocked_key();
    let cached = vaults::UnlockedKey::from_bytes(zeroize::Zeroizing::new(*key.as_bytes()));
    let again = LockedVault::open(&path)?.unlock_with_key(&cached)?;
    assert_eq!(again.get::<String>("k")?.as_deref(), Some("v"));
    assert_eq!(again.generation(), 1);
    drop(again);

    // Another vault's key does not open this one.
    let (_d2, other) = temp_path();
    let other_key = create(&other, A, &clock)?.unlocked_key();
    let e = err(LockedVault::open(&path)?.unlock_with_key(&other_key));
    assert!(matches!(e, Error::WrongPassphrase), "{e:?}");

    let _ = vault.rotate(&[(1, &pass(A))], |_| {})?;
    let e = err(LockedVault::open(&path)?.unlock_with_key(&key));
    assert!(matches!(e, Error::WrongPassphrase), "{e:?}");
    let fresh = LockedVault::open(&path)?.unlock_with_key(&vault.unlocked_key())?;
    assert_eq!(fresh.get::<String>("k")?.as_deref(), Some("v"));
    Ok(())
}

#[test]
fn a_locked_vault_cleans_up_expired_entries_without_the_key() -> TestResult {
    let (_dir, path) = temp_path();
    let clock = ManualClock::new(T0);
    let vault = create(&path, A, &clock)?;
    for i in 0..10u64 {
        vault.put_with_ttl(&format!("t{i}"), &i, Duration::from_secs(10 * (i + 1)))?;
    }
    vault.put("forever", &0)?;
    vault.close()?;

    clock.advance(Duration::from_secs(45)); // t0..t3 expired
    let locked = LockedVault::open_with(&options(&clock), &path)?;
    assert_eq!(locked.cleanup_expired()?, 4);
    assert_eq!(locked.cleanup_expired()?, 0);
    assert_eq!(row_count(&raw(&path)), 7);
    let vault = locked.unlock(&pass(A))?;
    assert_eq!(vault.len()?, 7);
    assert_eq!(vault.get::<u64>("t4")?, Some(4));
    assert_eq!(
        vault.ttl("t4")?,
        Some(Ttl::Remaining(Duration::from_secs(5)))
    );
    // The unlocked vault cleans up the same way.
    clock.advance(Duration::from_secs(1000));
    assert_eq!(vault.cleanup_expired()?, 6);
    assert_eq!(vault.keys()?, ["forever"]);
    Ok(())
}

#[test]
fn a_locked_vault_lists_its_slots() -> TestResult {
    let (_dir, path) = temp_path();
    let (_, keyring) = mock_keyring();
    let strong = KdfParams::new(20 * 1024, 3, 1)?;
    let mut vault = create(&path, A, &ManualClock::new(T0))?;
    vault.set_keyring(keyring);
    vault.add_passphrase_slot(&pass(B), strong)?;
    vault.add_keyring_slot()?;
    let unlocked_view = vault.slots()?;
    vault.close()?;

    let slots = LockedVault::open(&path)?.slots();
    assert_eq!(slots, unlocked_view);
    assert_eq!(
        slots.iter().map(SlotInfo::id).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert!(matches!(slots[1], SlotInfo::Passphrase { id: 2, params } if params == strong));
    assert!(matches!(&slots[2], SlotInfo::Keyring { id: 3, account } if !account.is_empty()));
    Ok(())
}

#[test]
fn plain_and_encrypted_vaults_are_not_confused() -> TestResult {
    let dir = tempfile::tempdir()?;
    let plain = vaults_test_support::vault_location(dir.path(), "plain.db");
    let encrypted = vaults_test_support::vault_location(dir.path(), "encrypted.db");
    Vault::open_or_create(&plain)?.put("k", "v")?;
    create(&encrypted, A, &ManualClock::new(T0))?;

    for e in [
        err(LockedVault::open(&plain)),
        err(EncryptedVault::open(&plain, &pass(A))),
    ] {
        assert!(
            matches!(
                e,
                Error::WrongKind {
                    expected: Kind::Encrypted,
                    found: Kind::Plain
                }
            ),
            "{e:?}"
        );
    }
    for e in [
        err(Vault::open_or_create(&encrypted)),
        err(Vault::open(&encrypted)),
    ] {
        assert!(
            matches!(
                e,
                Error::WrongKind {
                    expected: Kind::Plain,
                    found: Kind::Encrypted
                }
            ),
            "{e:?}"
        );
    }
    // Neither is turned into the other.
    let e = err(EncryptedVault::create(&plain, &pass(A), KdfParams::MIN));
    assert!(matches!(e, Error::VaultExists { .. }), "{e:?}");
    assert_eq!(
        Vault::open_or_create(&plain)?
            .get::<String>("k")?
            .as_deref(),
        Some("v")
    );

    let missing = vaults_test_support::vault_location(dir.path(), "missing.db");
    assert!(matches!(
        err(LockedVault::open(&missing)),
        Error::VaultNotFound { .. }
    ));
    assert!(!missing.exists());
    // (A garbage file is a file on either engine.)
    let garbage = dir.path().join("garbage.db");
    std::fs::write(&garbage, vec![0x5a; 8192])?;
    let e = err(LockedVault::open(&garbage));
    assert!(matches!(e, Error::NotAVault { .. }), "{e:?}");
    Ok(())
}
