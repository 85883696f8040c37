//! Frozen vault files of format version 1, committed under `tests/data/`:
//! every build must open them and find exactly what they hold, or refuse
//! them with exactly the documented error. A change to the on-disk format
//! (schema, pragmas, key derivation, envelopes, slots, metadata MAC) makes
//! these tests fail.
//!
//! The files were made once by `regenerate_fixtures` (ignored; see
//! `tests/data/README.md`). Each test opens a copy, since opening a vault
//! writes its `-wal` and `-shm` next to it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use vaults::{
    EncryptedVault, Error, Integrity, KdfParams, LockedVault, ManualClock, OpenOptions, SlotInfo,
    Store, Ttl, Vault,
};
use vaults_test_support::encrypted::*;

/// The time the fixtures were written at (2023-11-14T22:13:20Z).
const MADE_AT: i64 = 1_700_000_000_000;
/// The far-future expiry of the entries that expire: 3000-01-01T00:00:00Z.
const FAR_FUTURE: i64 = 32_503_680_000_000;
/// The expiry of the entries that expired long ago: an hour after `MADE_AT`.
const LONG_AGO: i64 = MADE_AT + 3_600_000;
/// The time the checks run at: a day after `MADE_AT`, so the short-lived
/// entry has expired and TTLs read back exactly.
const CHECK_AT: i64 = MADE_AT + 86_400_000;

const PASSPHRASE: &str = "fixture passphrase";
const RECOVERY: &str = "fixture recovery passphrase";

const PLAIN: &str = "plain-v1.db";
const ENCRYPTED: &str = "encrypted-v1.db";
const TAMPERED_ENTRY: &str = "encrypted-v1-tampered-entry.db";
const TAMPERED_META: &str = "encrypted-v1-tampered-meta.db";
const FUTURE_VERSION: &str = "encrypted-v1-future-version.db";
const FUTURE_CRYPTO: &str = "encrypted-v1-future-crypto.db";

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

/// A fresh copy of fixture `name` in a temporary folder.
fn copy_of(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::copy(data_dir().join(name), &path).unwrap_or_else(|e| panic!("fixture {name}: {e}"));
    (dir, path)
}

/// A clock at `CHECK_AT`.
fn at_check() -> (ManualClock, OpenOptions) {
    let clock = ManualClock::new(CHECK_AT);
    let options = OpenOptions::new().clock(clock.clone());
    (clock, options)
}

fn remaining_until(at: i64) -> Option<Ttl> {
    Some(Ttl::Remaining(Duration::from_millis(
        u64::try_from(at - CHECK_AT).unwrap(),
    )))
}

/// The entries every fixture holds that are live (the same in the plain and
/// encrypted ones), checked on any store.
fn check_live_entries<S: Store>(s: &S) -> vaults::Result<()> {
    assert_eq!(
        s.get::<String>("greeting")?.as_deref(),
        Some("hello, world")
    );
    assert_eq!(s.get::<u32>("answer")?, Some(42));
    assert_eq!(s.get::<(String, u32)>("tuple")?, Some(("alice".into(), 7)));
    assert_eq!(
        &s.get_bytes("bytes")?.unwrap()[..],
        &[0xde, 0xad, 0xbe, 0xef]
    );
    assert_eq!(
        s.get::<String>("unicode ключ")?.as_deref(),
        Some("значение")
    );
    assert_eq!(s.get::<String>("large")?, Some("L".repeat(5000)));
    assert_eq!(
        s.get::<String>("far-future")?.as_deref(),
        Some("still here")
    );
    assert_eq!(s.ttl("far-future")?, remaining_until(FAR_FUTURE));
    assert_eq!(s.ttl("greeting")?, Some(Ttl::Never));
    // Expired an hour after it was written; never readable.
    assert_eq!(s.get::<String>("expired")?, None);
    assert_eq!(
        s.keys()?,
        [
            "answer",
            "bytes",
            "far-future",
            "greeting",
            "large",
            "tuple",
            "unicode ключ"
        ]
    );
    assert_eq!(s.len()?, 7);
    Ok(())
}

/// Every fixture's expected entries, written by the generator.
fn write_entries<S: Store>(s: &S, clock: &ManualClock) -> vaults::Result<()> {
    s.put("greeting", "hello, world")?;
    s.put("answer", &42u32)?;
    s.put("tuple", &("alice", 7u32))?;
    s.put_bytes("bytes", &[0xde, 0xad, 0xbe, 0xef])?;
    s.put("unicode ключ", "значение")?;
    s.put("large", &"L".repeat(5000))?;
    let now = vaults::Clock::now_ms(clock);
    s.put_with_ttl(
        "far-future",
        "still here",
        Duration::from_millis(u64::try_from(FAR_FUTURE - now).unwrap()),
    )?;
    s.put_with_ttl("expired", "long gone", Duration::from_secs(3600))?;
    Ok(())
}

/// Asserts the file-level markers of format version 1.
fn check_file_header(path: &Path, kind: &str) {
    let conn = raw(path);
    let app_id: i64 = conn
        .pragma_query_value(None, "application_id", |r| r.get(0))
        .unwrap();
    assert_eq!(app_id, 0x5641_4C54, "application_id \"VALT\"");
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, 1);
    assert_eq!(meta_get(&conn, "kind").as_deref(), Some(kind.as_bytes()));
    assert_eq!(meta_get(&conn, "vault_id").map(|v| v.len()), Some(16));
    let schema: Vec<(String, Option<String>)> = conn
        .prepare("SELECT name, sql FROM sqlite_master ORDER BY name")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    let names: Vec<&str> = schema.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "entries",
            "entries_expiry",
            "meta",
            "sqlite_autoindex_entries_1",
            "sqlite_autoindex_meta_1"
        ]
    );
}

#[test]
fn plain_v1_opens_and_holds_its_entries() -> TestResult {
    let (_dir, path) = copy_of(PLAIN);
    check_file_header(&path, "plain");
    // Frozen encodings: names in clear as keys, values as CBOR, expiry in ms.
    let conn = raw(&path);
    let by_key = |k: &str| row(&conn, k.as_bytes());
    assert_eq!(by_key("answer").value, [0x18, 0x2a]);
    assert_eq!(by_key("greeting").value[0], 0x6c, "CBOR text of 12 bytes");
    assert_eq!(by_key("bytes").value, [0xde, 0xad, 0xbe, 0xef]);
    assert_eq!(by_key("tuple").value[0], 0x82, "CBOR array of 2");
    assert_eq!(by_key("far-future").expires_at, Some(FAR_FUTURE));
    assert_eq!(by_key("expired").expires_at, Some(LONG_AGO));
    assert_eq!(by_key("answer").name, None);
    drop(conn);

    let (_, options) = at_check();
    let vault = options.open(&path)?;
    check_live_entries(&vault)?;
    drop(vault);
    // Just before its expiry the expired one was there (on a fresh copy: a
    // vault that has seen a later time never goes back, see `clock_mark.rs`).
    let (_before_dir, before) = copy_of(PLAIN);
    let vault = OpenOptions::new()
        .clock(ManualClock::new(LONG_AGO - 1))
        .open(&before)?;
    assert_eq!(
        vault.get::<String>("expired")?.as_deref(),
        Some("long gone")
    );
    drop(vault);

    // With the real clock: the far-future entry lives, the old one does not.
    let vault = Vault::open(&path)?;
    assert_eq!(vault.len()?, 7);
    assert_eq!(vault.cleanup_expired()?, 1);
    assert!(matches!(vault.ttl("far-future")?, Some(Ttl::Remaining(_))));
    Ok(())
}

/// The meta record names of the encrypted fixtures.
const ENCRYPTED_META: [&str; 7] = [
    "crypto",
    "generation",
    "kind",
    "mac",
    "slot.0000000001",
    "slot.0000000002",
    "vault_id",
];

#[test]
fn encrypted_v1_opens_with_either_passphrase_and_holds_its_entries() -> TestResult {
    let (_dir, path) = copy_of(ENCRYPTED);
    check_file_header(&path, "encrypted");
    let conn = raw(&path);
    let meta_names: Vec<String> = conn
        .prepare("SELECT name FROM meta ORDER BY name")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    assert_eq!(meta_names, ENCRYPTED_META);
    assert_eq!(meta_get(&conn, "crypto"), Some(vec![0, 1]));
    assert_eq!(meta_get(&conn, "generation"), Some(vec![0, 0, 0, 1]));
    assert_eq!(meta_get(&conn, "mac").map(|m| m.len()), Some(32));
    for id in [1, 2] {
        let slot = meta_get(&conn, &slot_name(id)).unwrap();
        // version 1, passphrase kind, 19456 KiB / 2 / 1, salt, nonce, wrapped key.
        assert_eq!(slot.len(), 102);
        assert_eq!(&slot[..14], &[1, 1, 0, 0, 0x4c, 0, 0, 0, 0, 2, 0, 0, 0, 1]);
    }
    let stored = rows(&conn);
    assert_eq!(stored.len(), 8);
    for r in &stored {
        assert_eq!(r.key.len(), 32, "a blind index");
        for blob in [&r.value, r.name.as_ref().unwrap()] {
            assert_eq!(&blob[..5], &[1, 0, 0, 0, 1], "envelope v1, generation 1");
        }
        assert_eq!(r.name.as_ref().unwrap().len(), 77, "short names pad to 77");
    }
    let mut lengths: Vec<usize> = stored.iter().map(|r| r.value.len()).collect();
    lengths.sort_unstable();
    // Seven short values pad to 77 bytes; 5000 L's (5003 bytes of CBOR) to 5165.
    assert_eq!(lengths, [77, 77, 77, 77, 77, 77, 77, 5165]);
    let mut expiries: Vec<i64> = stored.iter().filter_map(|r| r.expires_at).collect();
    expiries.sort_unstable();
    assert_eq!(expiries, [LONG_AGO, FAR_FUTURE]);
    drop(conn);

    let (clock, options) = at_check();
    let locked = LockedVault::open_with(&options, &path)?;
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
            }
        ]
    );
    let vault = locked.unlock(&pass(PASSPHRASE))?;
    assert_eq!((vault.unlocked_slot(), vault.generation()), (1, 1));
    check_live_entries(&vault)?;
    drop(vault);
    // Just before its expiry the expired one was there (on a fresh copy, as
    // for the plain fixture).
    let (_before_dir, before) = copy_of(ENCRYPTED);
    let early = OpenOptions::new().clock(ManualClock::new(LONG_AGO - 1));
    let vault = LockedVault::open_with(&early, &before)?.unlock(&pass(PASSPHRASE))?;
    assert_eq!(
        vault.get::<String>("expired")?.as_deref(),
        Some("long gone")
    );
    drop(vault);

    let vault = LockedVault::open_with(&options, &path)?.unlock(&pass(RECOVERY))?;
    assert_eq!(vault.unlocked_slot(), 2);
    clock.set(CHECK_AT);
    check_live_entries(&vault)?;
    drop(vault);

    // With the real clock, and without the key, the expired one goes.
    assert_eq!(LockedVault::open(&path)?.cleanup_expired()?, 1);
    assert_eq!(EncryptedVault::open(&path, &pass(PASSPHRASE))?.len()?, 7);
    Ok(())
}

#[test]
fn encrypted_v1_refuses_a_wrong_passphrase() -> TestResult {
    let (_dir, path) = copy_of(ENCRYPTED);
    for wrong in ["Fixture passphrase", "fixture passphrase ", "wrong"] {
        let e = err(EncryptedVault::open(&path, &pass(wrong)));
        assert!(matches!(e, Error::WrongPassphrase), "{e:?}");
    }
    Ok(())
}

#[test]
fn a_tampered_entry_fails_alone() -> TestResult {
    let (_dir, path) = copy_of(TAMPERED_ENTRY);
    let (_clock, options) = at_check();
    let vault = LockedVault::open_with(&options, &path)?.unlock(&pass(PASSPHRASE))?;
    let e = err(vault.get::<u32>("answer"));
    assert!(matches!(e, Error::Integrity(Integrity::Entry)), "{e:?}");
    // Everything else reads as in encrypted-v1.db.
    assert_eq!(
        vault.get::<String>("greeting")?.as_deref(),
        Some("hello, world")
    );
    assert_eq!(vault.get::<String>("large")?, Some("L".repeat(5000)));
    assert_eq!(vault.keys()?.len(), 7);
    assert_eq!(vault.ttl("far-future")?, remaining_until(FAR_FUTURE));
    for name in vault.keys()? {
        match (name.as_str(), vault.get_bytes(&name)) {
            ("answer", Err(Error::Integrity(Integrity::Entry))) => {}
            (_, Ok(Some(_))) if name != "answer" => {}
            (name, other) => panic!("{name}: {other:?}"),
        }
    }
    Ok(())
}

#[test]
fn tampered_metadata_fails_at_unlock() -> TestResult {
    let (_dir, path) = copy_of(TAMPERED_META);
    // Slot 2 was deleted from the file.
    assert_eq!(LockedVault::open(&path)?.slots().len(), 1);
    let e = err(EncryptedVault::open(&path, &pass(PASSPHRASE)));
    assert!(matches!(e, Error::Integrity(Integrity::Metadata)), "{e:?}");
    let e = err(EncryptedVault::open(&path, &pass("wrong")));
    assert!(matches!(e, Error::WrongPassphrase), "{e:?}");
    Ok(())
}

#[test]
fn future_versions_are_refused() -> TestResult {
    for name in [FUTURE_VERSION, FUTURE_CRYPTO] {
        let (_dir, path) = copy_of(name);
        let e = err(LockedVault::open(&path));
        assert!(
            matches!(
                e,
                Error::UnsupportedVersion {
                    found: 2,
                    supported: 1
                }
            ),
            "{name}: {e:?}"
        );
        let e = err(EncryptedVault::open(&path, &pass(PASSPHRASE)));
        assert!(
            matches!(e, Error::UnsupportedVersion { .. }),
            "{name}: {e:?}"
        );
    }
    // The file with a future schema version is not touched by a refused open.
    let (_dir, path) = copy_of(FUTURE_VERSION);
    let before = std::fs::read(&path)?;
    let refused = LockedVault::open(&path);
    assert!(
        matches!(refused, Err(Error::UnsupportedVersion { .. })),
        "{:?}",
        refused.err()
    );
    assert_eq!(std::fs::read(&path)?, before);
    Ok(())
}

#[test]
fn fixtures_are_checkpointed_files_only() {
    for name in [
        PLAIN,
        ENCRYPTED,
        TAMPERED_ENTRY,
        TAMPERED_META,
        FUTURE_VERSION,
        FUTURE_CRYPTO,
    ] {
        let path = data_dir().join(name);
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(bytes.starts_with(b"SQLite format 3\0"), "{name}");
        assert!(bytes.len() <= 64 * 1024, "{name} is small");
        for suffix in ["-wal", "-shm"] {
            assert!(!companion(&path, suffix).exists(), "{name}{suffix} exists");
        }
    }
}

/// Writes every fixture into `tests/data/`. Run it only to add fixtures for
/// a new format version: the v1 files must stay as committed.
///
/// `cargo test -p vaults --test api -- --ignored fixtures::regenerate_fixtures`
#[test]
#[ignore = "writes tests/data/; run by hand (see tests/data/README.md)"]
fn regenerate_fixtures() -> TestResult {
    let data = data_dir();
    std::fs::create_dir_all(&data)?;
    let target = |name: &str| {
        let path = data.join(name);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(companion(&path, suffix));
        }
        path
    };
    let clock = ManualClock::new(MADE_AT);
    let options = OpenOptions::new().clock(clock.clone());

    let plain = target(PLAIN);
    let vault = options.open_or_create(&plain)?;
    write_entries(&vault, &clock)?;
    vault.close()?;

    let encrypted = target(ENCRYPTED);
    let vault =
        EncryptedVault::create_with(&options, &encrypted, &pass(PASSPHRASE), KdfParams::MIN)?;
    vault.add_passphrase_slot(&pass(RECOVERY), KdfParams::MIN)?;
    let mut answer_key = Vec::new();
    write_entries(&vault, &clock)?;
    // Find the stored key of "answer" by rewriting it alone.
    vault.remove("answer")?;
    answer_key.extend(stored_key_of(&encrypted, || {
        vault.put("answer", &42u32).unwrap();
    }));
    vault.close()?;
    for path in [&plain, &encrypted] {
        checkpoint(path);
    }

    let derive = |name: &str, edit: &dyn Fn(&Raw)| {
        let path = target(name);
        std::fs::copy(&encrypted, &path).unwrap();
        let conn = raw(&path);
        edit(&conn);
        let Raw::Sqlite(conn) = conn else {
            unreachable!("fixtures are files")
        };
        conn.close().map_err(|(_, e)| e).unwrap();
        checkpoint(&path);
    };
    derive(TAMPERED_ENTRY, &|conn| {
        let mut r = row(conn, &answer_key);
        r.value[40] ^= 0x01; // one bit of the ciphertext
        write_row(conn, &r);
    });
    derive(TAMPERED_META, &|conn| meta_delete(conn, &slot_name(2)));
    derive(FUTURE_VERSION, &|conn| {
        conn.pragma_update(None, "user_version", 2).unwrap();
    });
    derive(FUTURE_CRYPTO, &|conn| meta_put(conn, "crypto", &[0, 2]));
    for name in [PLAIN, ENCRYPTED] {
        let path = data.join(name);
        for suffix in ["-wal", "-shm"] {
            assert!(!companion(&path, suffix).exists());
        }
    }
    Ok(())
}
