//! An attacker edits a closed encrypted vault file with SQLite; every edit
//! must surface as a typed error when the vault is used — never a panic,
//! never a wrong value, never a secret in the message.
//!
//! Every name, value and passphrase here contains `XYZZY`, so one check on
//! each error's `Display` and `Debug` covers them all.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::path::{Path, PathBuf};
use std::time::Duration;

use vaults::Expiry;
use vaults::{Error, ExpireIf, Integrity, LockedVault, ManualClock, Passphrase, Store};
use vaults_test_support::encrypted::*;

const PASS: &str = "pass-XYZZY correct horse";
const OTHER_PASS: &str = "pass-XYZZY battery staple";
const MARKER: &str = "XYZZY";
/// The clock every vault here starts at (2023-11-14).
const HOUR: Duration = Duration::from_secs(3600);

/// Asserts `result` failed with `Integrity(what)` and names no secret.
#[track_caller]
fn expect_integrity<T: Debug>(result: vaults::Result<T>, what: Integrity) {
    let e = err(result);
    assert_names_no_secret(&e, &[MARKER]);
    assert!(
        matches!(e, Error::Integrity(found) if found == what),
        "expected Integrity({what:?}), got {e:?}"
    );
}

/// Asserts `result` failed with `KdfParams` and names no secret.
#[track_caller]
fn expect_kdf_params<T: Debug>(result: vaults::Result<T>) {
    let e = err(result);
    assert_names_no_secret(&e, &[MARKER]);
    assert!(matches!(e, Error::KdfParams { .. }), "got {e:?}");
}

/// A closed vault file holding some entries, and the stored key of each.
struct Built {
    _dir: tempfile::TempDir,
    path: PathBuf,
    clock: ManualClock,
    keys: BTreeMap<&'static str, Vec<u8>>,
}

impl Built {
    fn key(&self, name: &str) -> &[u8] {
        &self.keys[name]
    }

    fn open(&self) -> vaults::Result<vaults::EncryptedVault> {
        open(&self.path, PASS, &self.clock)
    }
}

/// Builds a vault at T0 with `(name, value, ttl)` entries, then closes it.
fn build(entries: &[(&'static str, &str, Option<Duration>)]) -> Built {
    let (dir, path) = temp_path();
    let clock = ManualClock::new(T0);
    let vault = create(&path, PASS, &clock).unwrap();
    let mut keys = BTreeMap::new();
    for &(name, value, ttl) in entries {
        let key = stored_key_of(&path, || match ttl {
            None => vault.put(name, value).unwrap(),
            Some(ttl) => vault.put_with_ttl(name, value, ttl).unwrap(),
        });
        keys.insert(name, key);
    }
    vault.close().unwrap();
    Built {
        _dir: dir,
        path,
        clock,
        keys,
    }
}

/// Two plain entries, `a-XYZZY` and `b-XYZZY`.
fn two_entries() -> Built {
    build(&[
        ("a-XYZZY", "value-a-XYZZY", None),
        ("b-XYZZY", "value-b-XYZZY", None),
    ])
}

#[test]
fn values_swapped_between_names_fail_as_entries() -> TestResult {
    let b = two_entries();
    let conn = raw(&b.path);
    let (mut ra, mut rb) = (row(&conn, b.key("a-XYZZY")), row(&conn, b.key("b-XYZZY")));
    std::mem::swap(&mut ra.value, &mut rb.value);
    write_row(&conn, &ra);
    write_row(&conn, &rb);
    let tampered = rows(&conn);
    drop(conn);

    let mut vault = b.open()?;
    for name in ["a-XYZZY", "b-XYZZY"] {
        expect_integrity(vault.get::<String>(name), Integrity::Entry);
        expect_integrity(vault.get_bytes(name), Integrity::Entry);
        expect_integrity(vault.get_ex::<String>(name, HOUR), Integrity::Entry);
        expect_integrity(vault.pop::<String>(name), Integrity::Entry);
        expect_integrity(vault.pop::<String>(name), Integrity::Entry);
        expect_integrity(vault.get_or_insert(name, "x".to_owned()), Integrity::Entry);
    }
    expect_integrity(vault.items::<String>(), Integrity::Entry);
    expect_integrity(vault.values::<String>(), Integrity::Entry);
    expect_integrity(
        vault.get_many::<String, _, _>(["a-XYZZY"]),
        Integrity::Entry,
    );
    expect_integrity(
        vault.pop_many::<String, _, _>(["a-XYZZY"]),
        Integrity::Entry,
    );
    expect_integrity(vault.pop_item::<String>(), Integrity::Entry);
    let first = vault.iter::<String>().next().expect("an item");
    expect_integrity(first, Integrity::Entry);
    // Names were not touched: listing works.
    assert_eq!(vault.keys()?, ["a-XYZZY", "b-XYZZY"]);
    // A failed pop leaves the row where it was.
    assert_eq!(vault.len()?, 2);
    // A rotation refuses to launder the swapped values, and changes nothing.
    let slot = vault.unlocked_slot();
    expect_integrity(
        vault.rotate(&[(slot, &pass(PASS))], |_| {}),
        Integrity::Entry,
    );
    assert_eq!(vault.generation(), 1);
    drop(vault);
    assert_eq!(rows(&raw(&b.path)), tampered, "nothing was rewritten");
    Ok(())
}

#[test]
fn names_swapped_between_rows_fail_as_names() -> TestResult {
    let b = two_entries();
    let conn = raw(&b.path);
    let (mut ra, mut rb) = (row(&conn, b.key("a-XYZZY")), row(&conn, b.key("b-XYZZY")));
    std::mem::swap(&mut ra.name, &mut rb.name);
    write_row(&conn, &ra);
    write_row(&conn, &rb);
    drop(conn);

    let mut vault = b.open()?;
    expect_integrity(vault.keys(), Integrity::Name);
    expect_integrity(vault.items::<String>(), Integrity::Name);
    expect_integrity(vault.pop_item::<String>(), Integrity::Name);
    let first = vault.iter::<String>().next().expect("an item");
    expect_integrity(first, Integrity::Name);
    // A lookup by name never reads the sealed name: each value is still the
    // right one for its name (never the other's).
    assert_eq!(
        vault.get::<String>("a-XYZZY")?.as_deref(),
        Some("value-a-XYZZY")
    );
    assert_eq!(
        vault.get::<String>("b-XYZZY")?.as_deref(),
        Some("value-b-XYZZY")
    );
    let slot = vault.unlocked_slot();
    expect_integrity(
        vault.rotate(&[(slot, &pass(PASS))], |_| {}),
        Integrity::Name,
    );
    assert_eq!(vault.generation(), 1);
    Ok(())
}

#[test]
fn a_row_from_another_vault_fails() -> TestResult {
    // Same passphrase, same entry name, different vault id (and vault key).
    let ours = build(&[
        ("shared-XYZZY", "ours-XYZZY", None),
        ("own-XYZZY", "own-value-XYZZY", None),
    ]);
    let theirs = build(&[("shared-XYZZY", "theirs-XYZZY", None)]);
    let their_row = row(&raw(&theirs.path), theirs.key("shared-XYZZY"));
    let pristine = ours.path.with_file_name("pristine.db");
    std::fs::copy(&ours.path, &pristine)?;

    // 1. Their sealed name and value, moved onto our row for the same name.
    let conn = raw(&ours.path);
    let mut moved = row(&conn, ours.key("shared-XYZZY"));
    moved.name = their_row.name.clone();
    moved.value = their_row.value.clone();
    write_row(&conn, &moved);
    drop(conn);
    let vault = ours.open()?;
    expect_integrity(vault.get::<String>("shared-XYZZY"), Integrity::Entry);
    expect_integrity(vault.keys(), Integrity::Name);
    assert_eq!(
        vault.get::<String>("own-XYZZY")?.as_deref(),
        Some("own-value-XYZZY")
    );
    drop(vault);

    // 2. Their whole row, inserted as is (under their stored key).
    std::fs::copy(&pristine, &ours.path)?;
    insert_row(&raw(&ours.path), &their_row);
    let vault = ours.open()?;
    assert_eq!(
        vault.get::<String>("shared-XYZZY")?.as_deref(),
        Some("ours-XYZZY"),
        "their row is not reachable under our index"
    );
    expect_integrity(vault.keys(), Integrity::Name);
    expect_integrity(vault.items::<String>(), Integrity::Name);
    Ok(())
}

/// A vault with a 1-hour session and a persistent entry, at T0.
fn session_and_persistent() -> Built {
    build(&[
        ("session-XYZZY", "sess-value-XYZZY", Some(HOUR)),
        ("persistent-XYZZY", "pers-value-XYZZY", None),
    ])
}

/// Sets the `expires_at` of the row of `name`.
fn set_expires_at(b: &Built, name: &str, at: Option<i64>) {
    let conn = raw(&b.path);
    let mut r = row(&conn, b.key(name));
    r.expires_at = at;
    write_row(&conn, &r);
}

#[test]
fn an_extended_expiry_fails_and_is_never_served() -> TestResult {
    let b = session_and_persistent();
    let true_expiry = T0 + 3_600_000;
    assert_eq!(
        row(&raw(&b.path), b.key("session-XYZZY")).expires_at,
        Some(true_expiry)
    );
    set_expires_at(&b, "session-XYZZY", Some(true_expiry + 30 * 86_400_000));

    let mut vault = b.open()?;
    let name = "session-XYZZY";
    expect_integrity(vault.get::<String>(name), Integrity::Entry);
    expect_integrity(vault.get_ex::<String>(name, HOUR), Integrity::Entry);
    // Reads of the expiry alone open the sealed name, which binds it too.
    expect_integrity(vault.expire(name, HOUR, ExpireIf::Always), Integrity::Name);
    expect_integrity(vault.persist(name), Integrity::Name);
    expect_integrity(vault.pop::<String>(name), Integrity::Entry);
    expect_integrity(vault.get_or_insert(name, String::new()), Integrity::Entry);
    // Past the true expiry, the entry must still never come back as a value,
    // nor look alive to a read that only asks about it.
    b.clock.set(true_expiry + 1);
    expect_integrity(vault.get::<String>(name), Integrity::Entry);
    expect_integrity(vault.contains(name), Integrity::Name);
    expect_integrity(vault.ttl(name), Integrity::Name);
    expect_integrity(vault.has_keys([name]), Integrity::Name);
    expect_integrity(vault.keys(), Integrity::Name);
    assert_eq!(
        vault.get::<String>("persistent-XYZZY")?.as_deref(),
        Some("pers-value-XYZZY")
    );
    let slot = vault.unlocked_slot();
    expect_integrity(
        vault.rotate(&[(slot, &pass(PASS))], |_| {}),
        Integrity::Name,
    );
    Ok(())
}

/// Regression: `put_keep_ttl` adopted the row's `expires_at` without
/// authenticating it, and sealed the new value under it — so an attacker
/// who extended an expiry in the file had the extension made genuine by the
/// next `put_keep_ttl`.
#[test]
fn put_keep_ttl_does_not_adopt_a_tampered_expiry() -> TestResult {
    let b = session_and_persistent();
    let true_expiry = T0 + 3_600_000;
    let extended = true_expiry + 30 * 86_400_000;
    set_expires_at(&b, "session-XYZZY", Some(extended));

    let vault = b.open()?;
    expect_integrity(
        vault.put_with("session-XYZZY", "new-XYZZY", Expiry::Keep),
        Integrity::Name,
    );
    // Nothing was written: past the true expiry, no value is served.
    b.clock.set(true_expiry + 1);
    expect_integrity(vault.get::<String>("session-XYZZY"), Integrity::Entry);
    // A put without KEEPTTL still replaces the entry (that is no extension).
    vault.put("session-XYZZY", "fresh-XYZZY")?;
    assert_eq!(
        vault.get::<String>("session-XYZZY")?.as_deref(),
        Some("fresh-XYZZY")
    );
    // An authentic expiry is still kept by put_keep_ttl.
    vault.put_with_ttl("session-XYZZY", "v1-XYZZY", HOUR)?;
    vault.put_with("session-XYZZY", "v2-XYZZY", Expiry::Keep)?;
    assert_eq!(
        vault.ttl("session-XYZZY")?,
        Some(vaults::Ttl::Remaining(HOUR))
    );
    assert_eq!(
        vault.get::<String>("session-XYZZY")?.as_deref(),
        Some("v2-XYZZY")
    );
    Ok(())
}

#[test]
fn an_expiry_shortened_into_the_past_only_deletes() -> TestResult {
    let b = session_and_persistent();
    set_expires_at(&b, "session-XYZZY", Some(T0 - 1));

    let vault = b.open()?;
    assert_eq!(vault.get::<String>("session-XYZZY")?, None);
    assert!(!vault.contains("session-XYZZY")?);
    assert_eq!(vault.ttl("session-XYZZY")?, None);
    assert_eq!(vault.keys()?, ["persistent-XYZZY"]);
    assert_eq!(vault.len()?, 1);
    drop(vault);

    // Cleanup needs no key, and deletes it.
    assert_eq!(row_count(&raw(&b.path)), 2);
    let locked = LockedVault::open_with(&options(&b.clock), &b.path)?;
    assert_eq!(locked.cleanup_expired()?, 1);
    drop(locked);
    assert_eq!(row_count(&raw(&b.path)), 1);
    Ok(())
}

#[test]
fn an_expiry_shortened_but_still_in_the_future_fails() -> TestResult {
    let b = session_and_persistent();
    set_expires_at(&b, "session-XYZZY", Some(T0 + 60_000));
    let vault = b.open()?;
    expect_integrity(vault.get::<String>("session-XYZZY"), Integrity::Entry);
    Ok(())
}

#[test]
fn a_removed_expiry_fails() -> TestResult {
    let b = session_and_persistent();
    set_expires_at(&b, "session-XYZZY", None);
    let vault = b.open()?;
    expect_integrity(vault.get::<String>("session-XYZZY"), Integrity::Entry);
    expect_integrity(
        vault.expire("session-XYZZY", HOUR, ExpireIf::NoExpiry),
        Integrity::Name,
    );
    expect_integrity(
        vault.put_with("session-XYZZY", "new-XYZZY", Expiry::Keep),
        Integrity::Name,
    );
    // Long after the true expiry: still no value.
    b.clock.set(T0 + 1_000 * 86_400_000);
    expect_integrity(vault.get::<String>("session-XYZZY"), Integrity::Entry);
    Ok(())
}

#[test]
fn an_expiry_added_to_a_persistent_entry_fails() -> TestResult {
    let b = session_and_persistent();
    set_expires_at(&b, "persistent-XYZZY", Some(T0 + 3_600_000));
    let vault = b.open()?;
    expect_integrity(vault.get::<String>("persistent-XYZZY"), Integrity::Entry);
    expect_integrity(vault.persist("persistent-XYZZY"), Integrity::Name);
    Ok(())
}

#[test]
fn a_relabelled_generation_is_integrity_not_key_rotated() -> TestResult {
    let b = two_entries();
    let conn = raw(&b.path);
    let original_a = row(&conn, b.key("a-XYZZY"));
    let original_b = row(&conn, b.key("b-XYZZY"));
    assert_eq!(
        &original_a.value[..5],
        &[1, 0, 0, 0, 1],
        "version 1, generation 1"
    );
    drop(conn);
    let vault = b.open()?;

    let conn = raw(&b.path);
    for generation in [0u32, 2, 7, u32::MAX] {
        // The value envelope's generation field: bytes 1..5.
        let mut r = original_a.clone();
        r.value[1..5].copy_from_slice(&generation.to_be_bytes());
        write_row(&conn, &r);
        expect_integrity(vault.get::<String>("a-XYZZY"), Integrity::Entry);
        write_row(&conn, &original_a);

        // The sealed name's generation field.
        let mut r = original_b.clone();
        r.name.as_mut().expect("a sealed name")[1..5].copy_from_slice(&generation.to_be_bytes());
        write_row(&conn, &r);
        expect_integrity(vault.keys(), Integrity::Name);
        write_row(&conn, &original_b);
    }
    assert_eq!(vault.generation(), 1);
    assert_eq!(
        vault.get::<String>("a-XYZZY")?.as_deref(),
        Some("value-a-XYZZY")
    );
    Ok(())
}

/// Flips every bit of a stored blob in turn (nonce, ciphertext, tag, and the
/// header), writing each flip through rusqlite under the open handle (reads
/// never cache), and checks `read` fails every time.
fn flip_every_bit(
    path: &Path,
    original: &Row,
    in_name: bool,
    mut read_fails: impl FnMut() -> bool,
) -> usize {
    let conn = raw(path);
    let blob = match in_name {
        true => original.name.clone().expect("a sealed name"),
        false => original.value.clone(),
    };
    let mut flips = 0;
    for bit in 0..blob.len() * 8 {
        let mut edited = blob.clone();
        edited[bit / 8] ^= 1 << (bit % 8);
        let mut r = original.clone();
        match in_name {
            true => r.name = Some(edited),
            false => r.value = edited,
        }
        write_row(&conn, &r);
        assert!(read_fails(), "bit {bit} flipped and still opened");
        flips += 1;
    }
    write_row(&conn, original);
    flips
}

#[test]
fn every_bit_flip_in_a_value_fails() -> TestResult {
    let value = format!("{MARKER}-{}", "v".repeat(94)); // 100 chars, 102 bytes of CBOR
    let b = build(&[("a-XYZZY", &value, Some(HOUR))]);
    let original = row(&raw(&b.path), b.key("a-XYZZY"));
    // 1 + 4 + 24 header, 128 padded, 16 tag.
    assert_eq!(original.value.len(), 173);
    let vault = b.open()?;
    let flips = flip_every_bit(&b.path, &original, false, || {
        match vault.get::<String>("a-XYZZY") {
            Err(e @ Error::Integrity(Integrity::Entry)) => {
                assert_names_no_secret(&e, &[MARKER]);
                true
            }
            other => panic!("expected Integrity(Entry), got {other:?}"),
        }
    });
    assert!(flips >= 1_000, "{flips} bit positions");
    assert_eq!(vault.get::<String>("a-XYZZY")?, Some(value));
    Ok(())
}

#[test]
fn every_bit_flip_in_a_name_fails() -> TestResult {
    let b = build(&[("a-XYZZY", "value-XYZZY", None)]);
    let original = row(&raw(&b.path), b.key("a-XYZZY"));
    let vault = b.open()?;
    let flips = flip_every_bit(&b.path, &original, true, || {
        matches!(vault.keys(), Err(Error::Integrity(Integrity::Name)))
    });
    assert_eq!(flips, 77 * 8);
    assert_eq!(vault.keys()?, ["a-XYZZY"]);
    Ok(())
}

#[test]
fn truncated_extended_or_garbage_blobs_fail() -> TestResult {
    let b = build(&[("a-XYZZY", "value-XYZZY", None)]);
    let original = row(&raw(&b.path), b.key("a-XYZZY"));
    let vault = b.open()?;
    let conn = raw(&b.path);
    let mut variants: Vec<Vec<u8>> = (0..original.value.len())
        .map(|n| original.value[..n].to_vec())
        .collect();
    for extra in [&[0u8][..], &[0; 16], &[0xff; 32]] {
        variants.push([&original.value[..], extra].concat());
    }
    variants.push(vec![0; original.value.len()]);
    variants.push(vec![0xff; 4096]);
    for value in variants {
        write_row(
            &conn,
            &Row {
                value: value.clone(),
                ..original.clone()
            },
        );
        expect_integrity(vault.get::<String>("a-XYZZY"), Integrity::Entry);
        write_row(
            &conn,
            &Row {
                name: Some(value),
                ..original.clone()
            },
        );
        expect_integrity(vault.keys(), Integrity::Name);
    }
    write_row(
        &conn,
        &Row {
            name: None,
            ..original.clone()
        },
    );
    expect_integrity(vault.keys(), Integrity::Name);
    Ok(())
}

#[test]
fn odd_column_types_are_errors_not_panics() -> TestResult {
    let b = build(&[("a-XYZZY", "value-XYZZY", None)]);
    let key = b.key("a-XYZZY").to_vec();
    let vault = b.open()?;
    let conn = raw(&b.path);
    let edits = [
        "UPDATE entries SET value = 42 WHERE key = ?1",
        "UPDATE entries SET value = 'text-value' WHERE key = ?1",
        "UPDATE entries SET name = 7 WHERE key = ?1",
        "UPDATE entries SET expires_at = 'soon' WHERE key = ?1",
        "UPDATE entries SET expires_at = 1.5e15 WHERE key = ?1",
    ];
    for sql in edits {
        let backup = row(&conn, &key);
        conn.execute(sql, [&key])?;
        let outcomes = [
            vault.get::<String>("a-XYZZY").map(drop),
            vault.keys().map(drop),
            vault.items::<String>().map(drop),
        ];
        assert!(
            outcomes.iter().any(Result::is_err),
            "{sql}: some read must fail"
        );
        for outcome in outcomes {
            if let Err(e) = outcome {
                assert_names_no_secret(&e, &[MARKER]);
                assert!(
                    matches!(e, Error::Integrity(_) | Error::Corrupt { .. }),
                    "{sql}: {e:?}"
                );
            }
        }
        write_row(&conn, &backup);
    }
    assert_eq!(
        vault.get::<String>("a-XYZZY")?.as_deref(),
        Some("value-XYZZY")
    );
    Ok(())
}

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
    let pristine = file_bytes(&b.path);
    meta_delete(&raw(&b.path), &slot_name(2));
    expect_integrity(unlock(&b, PASS), Integrity::Metadata);

    std::fs::write(&b.path, &pristine)?;
    meta_delete(&raw(&b.path), &slot_name(1));
    expect_integrity(unlock(&b, OTHER_PASS), Integrity::Metadata);

    std::fs::write(&b.path, &pristine)?;
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
    let pristine = file_bytes(&b.path);
    for (id, (m, t, p)) in [
        (1, (8 * 1024, 2, 1)), // 8 MiB
        (1, (19 * 1024 - 1, 2, 1)),
        (1, (19 * 1024, 1, 1)),
        (1, (19 * 1024, 2, 0)),
        (2, (8, 1, 1)), // the other slot
    ] {
        std::fs::write(&b.path, &pristine)?;
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
    let pristine = file_bytes(&b.path);
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
        std::fs::write(&b.path, &pristine)?;
        set_slot_params(&b.path, 1, m, t, p);
        expect_kdf_params(unlock(&b, PASS));
        expect_kdf_params(unlock(&b, "wrong-XYZZY"));
    }
    Ok(())
}

#[test]
fn an_edited_generation_record_fails_metadata() -> TestResult {
    let b = build(&[("a-XYZZY", "value-XYZZY", None)]);
    let pristine = file_bytes(&b.path);
    for generation in [0u32, 2, u32::MAX] {
        std::fs::write(&b.path, &pristine)?;
        meta_put(&raw(&b.path), "generation", &generation.to_be_bytes());
        expect_integrity(unlock(&b, PASS), Integrity::Metadata);
    }
    for malformed in [&[][..], &[0, 1][..], &[0, 0, 0, 0, 1][..]] {
        std::fs::write(&b.path, &pristine)?;
        meta_put(&raw(&b.path), "generation", malformed);
        expect_integrity(unlock(&b, PASS), Integrity::Metadata);
    }
    std::fs::write(&b.path, &pristine)?;
    meta_delete(&raw(&b.path), "generation");
    expect_integrity(unlock(&b, PASS), Integrity::Metadata);
    Ok(())
}

#[test]
fn a_deleted_or_edited_mac_fails_metadata() -> TestResult {
    let b = build(&[("a-XYZZY", "value-XYZZY", None)]);
    let pristine = file_bytes(&b.path);
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
        std::fs::write(&b.path, &pristine)?;
        meta_put(&raw(&b.path), "mac", &bad);
        expect_integrity(unlock(&b, PASS), Integrity::Metadata);
    }
    Ok(())
}

#[test]
fn malformed_slot_records_fail_before_any_unlock() -> TestResult {
    let b = build(&[("a-XYZZY", "value-XYZZY", None)]);
    let pristine = file_bytes(&b.path);
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
        std::fs::write(&b.path, &pristine)?;
        meta_put(&raw(&b.path), &slot_name(1), &record);
        expect_integrity(LockedVault::open(&b.path), Integrity::Slot);
    }

    // Slot records under names that are not `slot.` + 10 digits.
    for name in ["slot.1", "slot.000000000x", "slot.00000000001"] {
        std::fs::write(&b.path, &pristine)?;
        meta_put(&raw(&b.path), name, &slot1);
        expect_integrity(LockedVault::open(&b.path), Integrity::Metadata);
    }

    // No slot at all.
    std::fs::write(&b.path, &pristine)?;
    meta_delete(&raw(&b.path), &slot_name(1));
    expect_integrity(LockedVault::open(&b.path), Integrity::Metadata);

    // An edited salt is an edited header: the wrap no longer opens, which is
    // indistinguishable from a wrong passphrase.
    std::fs::write(&b.path, &pristine)?;
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

#[test]
fn error_messages_name_no_secret() -> TestResult {
    // Every error the attacks above produce, shown both ways.
    let errors = [
        Error::Integrity(Integrity::Entry),
        Error::Integrity(Integrity::Name),
        Error::Integrity(Integrity::Metadata),
        Error::Integrity(Integrity::Slot),
        Error::WrongPassphrase,
        Error::KeyRotated,
        Error::EmptyPassphrase,
    ];
    for e in &errors {
        let shown = format!("{e} {e:?}");
        assert!(!shown.is_empty());
        assert_names_no_secret(e, &[MARKER]);
    }
    // And a real one, from a vault whose names and values are the secrets.
    let b = two_entries();
    let conn = raw(&b.path);
    let mut r = row(&conn, b.key("a-XYZZY"));
    r.value[40] ^= 1;
    write_row(&conn, &r);
    drop(conn);
    let vault = b.open()?;
    let e = err(vault.get::<String>("a-XYZZY"));
    assert_names_no_secret(&e, &[MARKER, "a-XYZZY", "value-a-XYZZY", PASS]);
    assert_eq!(e.to_string(), "integrity check failed for an entry");
    Ok(())
}
