//! Nothing secret reaches the disk in clear: names, values and passphrases
//! never appear in the bytes of the vault file, its WAL or its shared-memory
//! file, at any point; after a rotation or a passphrase change the old
//! ciphertexts and wrapped keys are gone; short values are padded to one
//! length; `Debug` shows no secret.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use vaults::Expiry;
use vaults::{
    EncryptedVault, KdfParams, Keyring, LockedVault, ManualClock, Passphrase, SlotInfo, Store,
};
use vaults_test_support::encrypted::*;

const PASS: &str = "pass-MARKER-9012";
const NEW_PASS: &str = "new-pass-MARKER-3456";
/// Every name, value and passphrase written here contains this.
const MARKER: &[u8] = b"MARKER";

/// Names and values, of several sizes (up to several pages).
fn secrets() -> Vec<(String, String)> {
    [0usize, 17, 100, 1000, 4096, 20_000]
        .iter()
        .enumerate()
        .map(|(i, &size)| {
            let mut value = format!("value-MARKER-5678-{i}-");
            while value.len() < size {
                value.push_str("value-MARKER-5678-");
            }
            (format!("name-MARKER-1234-{i}"), value)
        })
        .collect()
}

/// Asserts the marker is in none of the vault's files; returns the total
/// number of bytes looked at.
#[track_caller]
fn assert_no_marker(path: &Path, when: &str) -> usize {
    let mut seen = 0;
    for (file, bytes) in all_file_bytes(path) {
        assert!(
            !contains(&bytes, MARKER),
            "{when}: {file} contains a secret in clear"
        );
        seen += bytes.len();
    }
    seen
}

#[test]
fn no_name_value_or_passphrase_in_the_files() -> TestResult {
    let (_dir, path) = temp_path();
    let clock = ManualClock::new(1_700_000_000_000);
    let mut vault = create(&path, PASS, &clock)?;
    let all = secrets();
    for (i, (name, value)) in all.iter().enumerate() {
        match i % 3 {
            0 => vault.put(name, value)?,
            1 => vault.put_with_ttl(name, value, Duration::from_secs(600))?,
            _ => vault.put_bytes(name, value.as_bytes())?,
        }
    }
    vault.transaction(|tx| {
        tx.put("tx-name-MARKER", "tx-value-MARKER")?;
        tx.put_bytes_with(
            "tx-bytes-MARKER",
            b"tx-bytes-MARKER",
            Expiry::After(Duration::from_secs(5)),
        )
    })?;
    // The handle is open: the data sits in the WAL, not yet checkpointed.
    assert!(file_bytes(&companion(&path, "-wal")).len() > 20_000);
    assert_no_marker(&path, "open, after writes");

    // Reads and expiry changes, still open.
    assert_eq!(vault.get::<String>(&all[1].0)?.as_ref(), Some(&all[1].1));
    vault.expire(&all[0].0, Duration::from_secs(60), vaults::ExpireIf::Always)?;
    vault.persist(&all[1].0)?;
    assert_no_marker(&path, "open, after reads and expiry changes");

    let slot = vault.unlocked_slot();
    assert!(
        !vault
            .rotate(&[(slot, &pass(PASS))], |_| {})?
            .old_material_may_remain()
    );
    assert_no_marker(&path, "after rotate");
    assert!(
        !vault
            .change_passphrase(slot, &pass(NEW_PASS), KdfParams::MIN)?
            .old_material_may_remain()
    );
    assert_no_marker(&path, "after change_passphrase");
    vault.close()?;
    let seen = assert_no_marker(&path, "closed");
    assert!(seen > 20_000, "the file holds the data ({seen} bytes)");

    // Reopened, everything is there.
    let vault = open(&path, NEW_PASS, &clock)?;
    assert_eq!(vault.get::<String>(&all[4].0)?.as_ref(), Some(&all[4].1));
    assert_eq!(
        vault.get_bytes(&all[5].0)?.as_deref().map(Vec::as_slice),
        Some(all[5].1.as_bytes())
    );
    assert_no_marker(&path, "reopened");
    Ok(())
}

/// Fragments of stored blobs that must not survive: each blob's nonce and
/// tag (random, so a match is a leftover), and each stored key.
fn fingerprints(path: &Path) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for r in rows(&raw(path)) {
        out.push(r.key.clone());
        for blob in [Some(r.value), r.name].into_iter().flatten() {
            out.push(blob[5..29].to_vec()); // nonce
            out.push(blob[blob.len() - 16..].to_vec()); // tag
        }
    }
    out
}

#[test]
fn old_ciphertexts_are_gone_after_rotation() -> TestResult {
    let (_dir, path) = temp_path();
    let clock = ManualClock::new(1_700_000_000_000);
    let mut vault = create(&path, PASS, &clock)?;
    let big = "x".repeat(6000); // spans overflow pages
    for i in 0..40 {
        let value = format!("{i}-{}", if i % 4 == 0 { &big[..] } else { "small" });
        vault.put(&format!("entry-{i}"), &value)?;
    }
    let mut old = fingerprints(&path);
    // Overwrite some, delete some: their old versions linger in the WAL.
    for i in 0..10 {
        vault.put(&format!("entry-{i}"), &format!("{i}-rewritten-{big}"))?;
    }
    for i in 30..40 {
        vault.remove(&format!("entry-{i}"))?;
    }
    old.extend(fingerprints(&path));
    // How many old fragments any of the files still holds.
    let found = || {
        let files: Vec<_> = all_file_bytes(&path).into_iter().map(|(_, b)| b).collect();
        count_found(&files, &old)
    };
    // The check would catch them: they are there before.
    assert!(found() > 0);

    let slot = vault.unlocked_slot();
    assert!(
        !vault
            .rotate(&[(slot, &pass(PASS))], |_| {})?
            .old_material_may_remain()
    );
    assert_eq!(
        file_bytes(&companion(&path, "-wal")).len(),
        0,
        "the WAL is truncated"
    );
    assert_eq!(found(), 0, "old fragments left after the rotation");
    assert_eq!(vault.len()?, 30);
    assert_eq!(
        vault.get::<String>("entry-3")?,
        Some("3-rewritten-".to_owned() + &big)
    );
    vault.close()?;
    assert_eq!(found(), 0, "old fragments left after closing");
    Ok(())
}

/// The fragments of a slot record that must not survive its replacement:
/// salt, nonce, wrapped key.
fn slot_fragments(record: &[u8]) -> Vec<Vec<u8>> {
    assert_eq!(record.len(), 102);
    vec![
        record[14..30].to_vec(),
        record[30..54].to_vec(),
        record[54..].to_vec(),
    ]
}

#[test]
fn old_wrapped_keys_are_gone_after_a_passphrase_change() -> TestResult {
    let (_dir, path) = temp_path();
    let clock = ManualClock::new(0);
    let vault = create(&path, PASS, &clock)?;
    vault.put("k", "v")?;
    let conn = raw(&path);
    let old_slot = meta_get(&conn, &slot_name(1)).unwrap();
    let old_mac = meta_get(&conn, "mac").unwrap();
    let values_before = rows(&conn);
    drop(conn);
    let mut old = slot_fragments(&old_slot);
    old.push(old_mac);

    assert!(
        !vault
            .change_passphrase(1, &pass(NEW_PASS), KdfParams::MIN)?
            .old_material_may_remain()
    );
    assert_eq!(file_bytes(&companion(&path, "-wal")).len(), 0);
    for (file, bytes) in all_file_bytes(&path) {
        for f in &old {
            assert!(!contains(&bytes, f), "{file} still holds the old slot");
        }
    }
    // No entry was re-encrypted.
    assert_eq!(rows(&raw(&path)), values_before);

    // A removed slot's record goes the same way.
    let id = vault.add_passphrase_slot(&pass("second-MARKER"), KdfParams::MIN)?;
    let second = meta_get(&raw(&path), &slot_name(id)).unwrap();
    assert!(!vault.remove_slot(id)?.old_material_may_remain());
    for (file, bytes) in all_file_bytes(&path) {
        for f in slot_fragments(&second) {
            assert!(!contains(&bytes, &f), "{file} still holds the removed slot");
        }
    }
    Ok(())
}

#[test]
fn short_values_and_names_are_padded_to_one_length() -> TestResult {
    let (_dir, path) = temp_path();
    let vault = create(&path, PASS, &ManualClock::new(0))?;
    let mut lengths = BTreeMap::new();
    for n in 0..=29usize {
        let key = stored_key_of(&path, || {
            vault.put_bytes(&format!("b{n}"), &vec![7; n]).unwrap()
        });
        lengths.insert(n, row(&raw(&path), &key).value.len());
    }
    for n in 0..=28 {
        assert_eq!(lengths[&n], 77, "{n} bytes");
    }
    assert_eq!(lengths[&29], 109, "the next size up");

    // Typed values (CBOR strings of 0..=23 characters: 1..=24 bytes).
    let mut typed = Vec::new();
    for n in 0..=23 {
        let key = stored_key_of(&path, || {
            vault.put(&format!("s{n}"), &"s".repeat(n)).unwrap()
        });
        typed.push(row(&raw(&path), &key).value.len());
    }
    assert!(typed.iter().all(|&l| l == 77), "{typed:?}");

    // Names of 1..=28 bytes.
    let mut names = Vec::new();
    for n in 1..=28 {
        let key = stored_key_of(&path, || vault.put(&"n".repeat(n), &0).unwrap());
        names.push(row(&raw(&path), &key).name.unwrap().len());
    }
    assert!(names.iter().all(|&l| l == 77), "{names:?}");
    // Every stored key is a 32-byte blind index, whatever the name's length.
    assert!(rows(&raw(&path)).iter().all(|r| r.key.len() == 32));
    Ok(())
}

/// `Debug` of any store, reached through the `Store` bound (its codec, the
/// sealer of an encrypted one, is no longer reachable from outside).
fn env_debug<S: Store + std::fmt::Debug>(store: &S) -> String {
    format!("{store:?}")
}

#[test]
fn debug_prints_no_secret() -> TestResult {
    let (_dir, path) = temp_path();
    let vault = create(&path, PASS, &ManualClock::new(0))?;
    vault.put("name-MARKER", "value-MARKER")?;
    let key = vault.unlocked_key();
    let key_bytes = *key.as_bytes();
    let hex: String = key_bytes.iter().map(|b| format!("{b:02x}")).collect();
    let decimal = format!("{:?}", &key_bytes[..4]);
    let decimal = decimal.trim_end_matches(']');

    let keyring = Keyring::with_store(keyring_core::mock::Store::new()?);
    let shown = [
        format!("{vault:?}"),
        format!("{:?}", pass(PASS)),
        format!("{:?}", Passphrase::new("é-MARKER")?),
        format!("{key:?}"),
        format!("{keyring:?}"),
        env_debug(&vault),
        vault.transaction(|tx| Ok(format!("{tx:?} {}", env_debug(tx))))?,
        format!("{:?}", LockedVault::open(&path)?),
        format!("{:?}", vault.slots()?),
    ];
    for s in &shown {
        assert!(!s.contains("MARKER"), "{s}");
        assert!(!s.contains(&hex), "{s} shows the key in hex");
        assert!(!s.contains(decimal), "{s} shows the key bytes");
    }
    assert_eq!(shown[1], "Passphrase([redacted])");
    assert_eq!(shown[3], "UnlockedKey([redacted])");
    assert!(shown[5].contains("[redacted]"), "{}", shown[5]);
    assert!(shown[0].contains("[redacted]"), "{}", shown[0]);
    assert!(matches!(
        vault.slots()?[..],
        [SlotInfo::Passphrase { id: 1, .. }]
    ));
    Ok(())
}

#[cfg(unix)]
#[test]
fn files_are_owner_only() -> TestResult {
    use std::os::unix::fs::PermissionsExt;
    let (_dir, path) = temp_path();
    let vault: EncryptedVault = create(&path, PASS, &ManualClock::new(0))?;
    vault.put("k", "v")?;
    for suffix in ["", "-wal", "-shm"] {
        let mode = std::fs::metadata(companion(&path, suffix))?
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "{suffix}: mode {mode:o}");
    }
    Ok(())
}
