//! A change of keys (`change_passphrase`, `remove_slot`, `rotate`) says, in
//! its `KeyChange`, when another connection kept the old key material in the
//! vault's files: a copy of the `.db` then still opens with the old
//! passphrase. Without one, or once it ends its read in time, nothing old
//! remains.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;
use vaults::{EncryptedVault, Error, KdfParams, KeyChange, LockedVault, OpenOptions, Store};
use vaults_test_support::encrypted::*;

const OLD: &str = "the old passphrase";
const NEW: &str = "the new passphrase";

/// A vault at `path` holding one entry, whose handle waits `wait` for other
/// connections (the busy timeout).
fn vault(path: &Path, wait: Duration) -> EncryptedVault {
    let options = OpenOptions::new().busy_timeout(wait);
    let vault =
        EncryptedVault::create_with(&options, path, &pass(OLD), KdfParams::MIN).expect("create");
    vault.put("k", "v4lue").unwrap();
    // All of it into the main file, so a copy of that holds the vault.
    checkpoint(path);
    vault
}

/// Another process's connection in the middle of a read: it pins the WAL.
fn reader(path: &Path) -> Connection {
    let conn = Connection::open(path).unwrap();
    conn.execute_batch("BEGIN").unwrap();
    let _: i64 = conn
        .query_row("SELECT count(*) FROM entries", [], |r| r.get(0))
        .unwrap();
    conn
}

/// Whether a copy of the `.db` file alone (what a backup or a thief that
/// ignores `-wal` takes) opens with `passphrase`.
fn copy_opens_with(path: &Path, passphrase: &str) -> bool {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy.db");
    std::fs::copy(path, &copy).unwrap();
    match LockedVault::open(&copy).unwrap().unlock(&pass(passphrase)) {
        Ok(_) => true,
        Err(Error::WrongPassphrase) => false,
        Err(e) => panic!("{e}"),
    }
}

/// Regression (audit item 7): with a reader on the vault, the checkpoint
/// after a passphrase change failed silently (a log line only), and a copy
/// of the `.db` still opened with the old passphrase.
#[test]
fn a_reader_keeps_the_old_passphrase_and_the_change_says_so() -> TestResult {
    let (_dir, path) = temp_path();
    let vault = vault(&path, Duration::from_millis(200));
    let holder = reader(&path);
    let change = vault
        .change_passphrase(1, &pass(NEW), KdfParams::MIN)
        .unwrap();
    assert!(change.old_material_may_remain());
    assert!(copy_opens_with(&path, OLD), "the report would be wrong");
    // The change itself is committed.
    assert_eq!(
        LockedVault::open(&path)?
            .unlock(&pass(NEW))?
            .get::<String>("k")?,
        Some("v4lue".into())
    );

    // SQLite finishes the checkpoint when the last connection closes.
    drop(holder);
    vault.close().unwrap();
    assert!(!copy_opens_with(&path, OLD));
    assert!(copy_opens_with(&path, NEW));
    Ok(())
}

/// Every kind of key change reports it, the same way.
#[test]
fn a_reader_keeps_old_material_after_every_kind_of_key_change() -> TestResult {
    let (_dir, path) = temp_path();
    let mut vault = vault(&path, Duration::from_millis(100));
    let second = vault.add_passphrase_slot(&pass(NEW), KdfParams::MIN)?;
    // The new slot into the main file, as any later checkpoint would do.
    checkpoint(&path);
    assert!(copy_opens_with(&path, NEW));
    let holder = reader(&path);
    let removed = vault.remove_slot(second)?;
    assert!(removed.old_material_may_remain());
    assert!(
        copy_opens_with(&path, NEW),
        "the removed slot is still there"
    );
    let rotated = vault.rotate(&[(1, &pass(OLD))], |_| {})?;
    assert!(rotated.old_material_may_remain());
    drop(holder);

    // Without the reader, the next change purges all of it.
    let change = vault.change_passphrase(1, &pass(OLD), KdfParams::MIN)?;
    assert!(!change.old_material_may_remain());
    assert!(!copy_opens_with(&path, NEW));
    Ok(())
}

#[test]
fn without_another_connection_nothing_old_remains() -> TestResult {
    let (_dir, path) = temp_path();
    let mut vault = vault(&path, Duration::from_secs(5));
    let second = vault.add_passphrase_slot(&pass(NEW), KdfParams::MIN)?;
    let changes: [KeyChange; 3] = [
        vault.remove_slot(second)?,
        vault.rotate(&[(1, &pass(OLD))], |_| {})?,
        vault.change_passphrase(1, &pass(NEW), KdfParams::MIN)?,
    ];
    for change in changes {
        assert!(!change.old_material_may_remain());
    }
    assert!(!copy_opens_with(&path, OLD));
    assert!(copy_opens_with(&path, NEW));
    assert_eq!(std::fs::metadata(companion(&path, "-wal"))?.len(), 0);
    Ok(())
}

/// The checkpoint is tried again while the reader goes on: a reader that
/// ends its read within the busy timeout does not keep anything. The reader
/// here ends it as soon as the change is committed (its frames are in the
/// WAL), while the checkpoint is waiting.
#[test]
fn a_reader_that_ends_in_time_keeps_nothing() -> TestResult {
    let (_dir, path) = temp_path();
    let vault = vault(&path, Duration::from_secs(60));
    let wal = companion(&path, "-wal");
    let holder = reader(&path);
    let before = std::fs::metadata(&wal)?.len();
    let ends = std::thread::spawn(move || {
        // Bounded: the change commits within a few Argon2 runs.
        for _ in 0..60_000 {
            if std::fs::metadata(&wal).is_ok_and(|m| m.len() > before) {
                holder.execute_batch("COMMIT").unwrap();
                return true;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        false
    });
    let change = vault.change_passphrase(1, &pass(NEW), KdfParams::MIN)?;
    assert!(ends.join().unwrap(), "the change never reached the WAL");
    assert!(!change.old_material_may_remain());
    assert!(!copy_opens_with(&path, OLD));
    Ok(())
}

/// An in-memory vault has no file to leave anything in.
#[test]
fn an_in_memory_vault_keeps_nothing() -> TestResult {
    let mut vault = EncryptedVault::create_in_memory(&pass(OLD), KdfParams::MIN)?;
    assert!(
        !vault
            .change_passphrase(1, &pass(NEW), KdfParams::MIN)?
            .old_material_may_remain()
    );
    assert!(
        !vault
            .rotate(&[(1, &pass(NEW))], |_| {})?
            .old_material_may_remain()
    );
    Ok(())
}
