//! Bad input: files that are not vaults, damaged vaults, edited vaults, bad
//! names and huge values. Each gives a typed error, never a panic, and no
//! error message quotes a stored name or value.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use serde::de::IgnoredAny;
use tempfile::TempDir;
use vaults::Expiry;
use vaults::{Durability, Error, ExpireIf, MAX_NAME_LEN, Store, Vault};
use vaults_test_support::encrypted::Raw;
use vaults_test_support::{Fixture, TestResult, assert_no_leak, secs};

/// A name and a value that no error message may contain.
const SECRET_NAME: &str = "secret-name-7f3a";
const SECRET_VALUE: &str = "hunter2-value-9c1e";

/// A closed vault file holding what `fill` stored.
fn closed_vault(fill: impl FnOnce(&Vault) -> vaults::Result<()>) -> TestResult<(TempDir, PathBuf)> {
    let f = Fixture::new()?;
    fill(&f.vault)?;
    f.vault.close()?;
    Ok((f.dir, f.path))
}

/// Runs one statement `sql` on the vault at `path` behind the library's
/// back (a plain SQLite connection, or the vault's rows on the server).
fn edit(path: &Path, sql: &str) -> TestResult {
    match vaults_test_support::encrypted::raw(path) {
        Raw::Sqlite(conn) => conn.execute_batch(sql)?,
        server => drop(server.exec(sql, &[])),
    }
    Ok(())
}

/// Both ways of opening: creating if missing, and only if it exists.
fn open_both(path: &Path) -> [vaults::Result<Vault>; 2] {
    [Vault::open_or_create(path), Vault::open(path)]
}

fn assert_not_a_vault(path: &Path) -> TestResult {
    let before = std::fs::read(path)?;
    for res in open_both(path) {
        let err = res.unwrap_err();
        match &err {
            Error::NotAVault { path: p } => assert_eq!(p, path),
            other => panic!("expected NotAVault, got {other:?}"),
        }
        assert!(err.to_string().contains("is not a vault"), "{err}");
    }
    assert_eq!(std::fs::read(path)?, before, "the file was changed");
    // No journal or WAL was left beside it.
    let dir = path.parent().unwrap();
    let names: Vec<_> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<Result<_, _>>()?;
    assert_eq!(
        names,
        [path.file_name().unwrap()],
        "files beside it: {names:?}"
    );
    Ok(())
}

#[test]
fn another_sqlite_database_is_not_a_vault_and_stays_unchanged() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("other.sqlite");
    {
        let conn = rusqlite::Connection::open(&path)?;
        conn.execute_batch(
            "CREATE TABLE foo (id INTEGER PRIMARY KEY, bar TEXT);
             INSERT INTO foo (bar) VALUES ('keep me');",
        )?;
    }
    assert_not_a_vault(&path)?;
    let conn = rusqlite::Connection::open(&path)?;
    let bar: String = conn.query_row("SELECT bar FROM foo", [], |r| r.get(0))?;
    assert_eq!(bar, "keep me");
    Ok(())
}

#[test]
fn a_database_with_our_tables_but_another_application_id_is_not_a_vault() -> TestResult {
    let (_dir, path) = closed_vault(|v| v.put("a", &1))?;
    edit(
        &path,
        "PRAGMA application_id = 1234; PRAGMA journal_mode = DELETE",
    )?;
    assert_not_a_vault(&path)?;
    Ok(())
}

#[test]
fn garbage_files_are_not_vaults() -> TestResult {
    let dir = tempfile::tempdir()?;
    for len in [2usize, 15, 99, 100, 512, 4_096, 65_536] {
        let path = dir.path().join(format!("garbage-{len}"));
        let mut bytes = vec![0u8; len];
        rand::fill(&mut bytes[..]);
        std::fs::write(&path, &bytes)?;
        assert_not_a_vault(&path)?;
        std::fs::remove_file(&path)?;
    }
    // Text that starts like SQLite's header but is not one.
    let path = dir.path().join("almost");
    let mut bytes = b"SQLite format 3\0".to_vec();
    bytes.resize(4_096, 0xAB);
    std::fs::write(&path, &bytes)?;
    assert_not_a_vault(&path)?;
    Ok(())
}

#[test]
fn a_one_byte_file_is_not_a_vault_and_stays_unchanged() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("one-byte");
    std::fs::write(&path, b"x")?;
    assert_not_a_vault(&path)?;
    Ok(())
}

#[test]
fn zero_filled_files_are_not_vaults() -> TestResult {
    let dir = tempfile::tempdir()?;
    for len in [100usize, 4_096, 1 << 20] {
        let path = dir.path().join(format!("zeros-{len}"));
        std::fs::write(&path, vec![0u8; len])?;
        assert_not_a_vault(&path)?;
        std::fs::remove_file(&path)?;
    }
    Ok(())
}

#[test]
fn an_empty_file_is_not_a_vault_unless_asked_to_create() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("empty.db");
    std::fs::write(&path, b"")?;
    let err = Vault::open(&path).unwrap_err();
    assert!(matches!(err, Error::NotAVault { .. }), "{err:?}");
    assert_eq!(std::fs::metadata(&path)?.len(), 0);
    // `open` creates: an empty file becomes a new vault.
    let vault = Vault::open_or_create(&path)?;
    vault.put("a", &1)?;
    drop(vault);
    assert_eq!(Vault::open(&path)?.get::<i32>("a")?, Some(1));
    Ok(())
}

#[test]
fn a_folder_where_the_file_should_be_is_an_error() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("folder.db");
    std::fs::create_dir(&path)?;
    for res in open_both(&path) {
        let e = res.unwrap_err();
        assert!(
            matches!(&e, Error::NotAVault { path: p } if *p == path),
            "{e:?}"
        );
    }
    Ok(())
}

/// Runs every read (and a write) on `v`; returns the first error, if any.
/// A panic fails the test.
fn read_everything(v: &Vault) -> vaults::Result<()> {
    v.len()?;
    v.keys()?;
    v.items::<String>()?;
    for item in v.iter::<IgnoredAny>() {
        item?;
    }
    // Point lookups go through the name index; every value was read above.
    for name in v.keys()?.iter().step_by(20) {
        v.get::<IgnoredAny>(name)?;
        v.ttl(name)?;
    }
    v.get_many::<ciborium::Value, _, _>([SECRET_NAME, "k000"])?;
    v.put("written-after", &1)?;
    v.cleanup_expired()?;
    Ok(())
}

/// A closed vault of several pages, and its bytes.
fn vault_bytes() -> TestResult<(TempDir, Vec<u8>)> {
    let (dir, path) = closed_vault(|v| {
        v.put(SECRET_NAME, SECRET_VALUE)?;
        v.put_many((0..400).map(|i| (format!("k{i:03}"), format!("{SECRET_VALUE}-{i:0>100}"))))?;
        v.put_with_ttl("ttl", "soon", secs(60))
    })?;
    let bytes = std::fs::read(&path)?;
    std::fs::remove_file(&path)?;
    assert!(bytes.len() > 16 * 4_096, "{} bytes", bytes.len());
    Ok((dir, bytes))
}

#[test]
fn a_truncated_vault_gives_a_typed_error() -> TestResult {
    let (dir, bytes) = vault_bytes()?;
    let len = bytes.len();
    let mut cuts = vec![2, 16, 50, 99, 100, 101, 1_000, 4_095, 4_096, 4_097, 8_192];
    cuts.extend([
        len / 4,
        len / 2,
        len - 4_096,
        len - 4_095,
        len - 100,
        len - 1,
    ]);
    let mut errors = Vec::new();
    for cut in cuts {
        let path = dir.path().join(format!("cut-{cut}.db"));
        std::fs::write(&path, &bytes[..cut])?;
        // Either it fails to open, or every read gives a typed result.
        for res in open_both(&path) {
            let outcome = res.and_then(|v| read_everything(&v));
            if let Err(err) = outcome {
                assert!(
                    matches!(
                        err,
                        Error::NotAVault { .. }
                            | Error::Corrupt { .. }
                            | Error::Sqlite(_)
                            | Error::Decode { .. }
                    ),
                    "cut at {cut}: {err:?}"
                );
                assert_no_leak(&err, &[SECRET_NAME, SECRET_VALUE]);
                errors.push(cut);
            }
        }
    }
    // Most cuts lose pages that the reads need: they must be reported.
    for cut in [2, 50, 99, 4_096, len / 2] {
        assert!(errors.contains(&cut), "a cut at {cut} went unnoticed");
    }
    Ok(())
}

#[test]
fn a_vault_cut_inside_a_page_is_refused_not_misread() -> TestResult {
    let (dir, bytes) = vault_bytes()?;
    let whole = dir.path().join("whole.db");
    std::fs::write(&whole, &bytes)?;
    let original = Vault::open(&whole)?.items::<ciborium::Value>()?;
    for short in [1, 2, 50, 100] {
        let path = dir.path().join(format!("short-{short}.db"));
        std::fs::write(&path, &bytes[..bytes.len() - short])?;
        match Vault::open(&path).and_then(|v| v.items::<ciborium::Value>()) {
            Err(err) => assert!(matches!(err, Error::Corrupt { .. }), "{short}: {err:?}"),
            Ok(items) => assert!(
                items == original,
                "{short} bytes short: values changed, no error"
            ),
        }
    }
    Ok(())
}

#[test]
fn flipped_bytes_never_panic() -> TestResult {
    let (dir, bytes) = vault_bytes()?;
    let path = dir.path().join("flipped.db");
    let mut failures = 0;
    // Bytes of the file header, then a stride that hits every page.
    let offsets = (0..100).step_by(3).chain((100..bytes.len()).step_by(701));
    for at in offsets {
        let mut damaged = bytes.clone();
        damaged[at] ^= 0xFF;
        std::fs::write(&path, &damaged)?;
        let outcome = Vault::options()
            .durability(Durability::Normal)
            .open(&path)
            .and_then(|v| read_everything(&v));
        if let Err(err) = outcome {
            failures += 1;
            assert_no_leak(&err, &[SECRET_NAME, SECRET_VALUE]);
        }
        for p in vaults_test_support::sidecars(&path) {
            let _ = std::fs::remove_file(p);
        }
    }
    assert!(failures > 0, "no flipped byte was noticed");
    Ok(())
}

#[test]
fn a_future_schema_version_is_refused() -> TestResult {
    let (_dir, path) = closed_vault(|v| v.put(SECRET_NAME, SECRET_VALUE))?;
    edit(&path, "PRAGMA user_version = 99")?;
    let before = std::fs::read(&path)?;
    for res in open_both(&path) {
        let err = res.unwrap_err();
        match &err {
            Error::UnsupportedVersion { found, supported } => {
                assert_eq!((*found, *supported), (99, 1));
            }
            other => panic!("expected UnsupportedVersion, got {other:?}"),
        }
        assert!(err.to_string().contains("99"), "{err}");
    }
    assert_eq!(std::fs::read(&path)?, before);
    Ok(())
}

#[test]
fn a_missing_schema_version_is_corrupt() -> TestResult {
    let (_dir, path) = closed_vault(|_| Ok(()))?;
    edit(&path, "PRAGMA user_version = 0")?;
    for res in open_both(&path) {
        assert!(matches!(res, Err(Error::Corrupt { .. })), "{res:?}");
    }
    Ok(())
}

#[test]
fn a_vault_with_extra_schema_objects_is_not_a_vault() -> TestResult {
    let edits = [
        "CREATE TRIGGER steal AFTER INSERT ON entries BEGIN \
             INSERT INTO meta (name, value) VALUES (new.key, new.value); END",
        "CREATE VIEW everything AS SELECT * FROM entries",
        "CREATE TABLE extra (x)",
        "CREATE INDEX by_value ON entries (value)",
        "DROP INDEX entries_expiry",
        "DROP TABLE meta",
    ];
    for sql in edits {
        let (_dir, path) = closed_vault(|v| v.put("a", &1))?;
        edit(&path, sql)?;
        for res in open_both(&path) {
            assert!(
                matches!(res, Err(Error::NotAVault { .. })),
                "{sql}: {res:?}"
            );
        }
    }
    Ok(())
}

#[test]
fn a_vault_of_the_other_kind_is_refused() -> TestResult {
    let (_dir, path) = closed_vault(|v| v.put("a", &1))?;
    edit(
        &path,
        "UPDATE meta SET value = CAST('encrypted' AS BLOB) WHERE name = 'kind'",
    )?;
    for res in open_both(&path) {
        match res {
            Err(Error::WrongKind { expected, found }) => {
                assert_eq!(
                    (expected, found),
                    (vaults::Kind::Plain, vaults::Kind::Encrypted)
                );
            }
            other => panic!("expected WrongKind, got {other:?}"),
        }
    }
    Ok(())
}

#[test]
fn damaged_meta_records_are_corrupt() -> TestResult {
    let edits = [
        "UPDATE meta SET value = CAST('mystery' AS BLOB) WHERE name = 'kind'",
        "DELETE FROM meta WHERE name = 'kind'",
        "UPDATE meta SET value = x'0102' WHERE name = 'vault_id'",
        "DELETE FROM meta WHERE name = 'vault_id'",
    ];
    for sql in edits {
        let (_dir, path) = closed_vault(|_| Ok(()))?;
        edit(&path, sql)?;
        for res in open_both(&path) {
            assert!(matches!(res, Err(Error::Corrupt { .. })), "{sql}: {res:?}");
        }
    }
    Ok(())
}

#[test]
fn columns_of_the_wrong_type_are_corrupt_not_a_panic() -> TestResult {
    let edits = [
        "UPDATE entries SET value = 'text' WHERE key = CAST('victim' AS BLOB)",
        "UPDATE entries SET value = 12345 WHERE key = CAST('victim' AS BLOB)",
        "UPDATE entries SET value = 1.5 WHERE key = CAST('victim' AS BLOB)",
    ];
    for sql in edits {
        let f = Fixture::new()?;
        f.vault.put("victim", SECRET_VALUE)?;
        f.vault.put("other", &1)?;
        edit(&f.path, sql)?;
        let v = &f.vault;
        let corrupt = |r: vaults::Result<()>| match r {
            Err(err @ Error::Corrupt { .. }) => assert_no_leak(&err, &["victim", SECRET_VALUE]),
            other => panic!("{sql}: expected Corrupt, got {other:?}"),
        };
        corrupt(v.get::<String>("victim").map(drop));
        corrupt(v.get_bytes("victim").map(drop));
        corrupt(v.items::<ciborium::Value>().map(drop));
        corrupt(v.values::<ciborium::Value>().map(drop));
        corrupt(v.get_many::<String, _, _>(["victim"]).map(drop));
        corrupt(v.iter::<ciborium::Value>().try_for_each(|r| r.map(drop)));
        corrupt(v.pop::<String>("victim").map(drop));
        corrupt(v.get_ex::<String>("victim", secs(5)).map(drop));
        // Failing reads took nothing away.
        assert!(v.contains("victim")?);
        // Names alone are still listed, other entries still read.
        assert_eq!(v.keys()?, ["other", "victim"]);
        assert_eq!(v.get::<i32>("other")?, Some(1));
        // The damaged entry can be replaced or removed.
        v.put("victim", "repaired")?;
        assert_eq!(v.get::<String>("victim")?.as_deref(), Some("repaired"));
    }
    Ok(())
}

#[test]
fn an_expiry_of_the_wrong_type_is_corrupt_not_a_panic() -> TestResult {
    let f = Fixture::new()?;
    f.vault.put_with_ttl("victim", &1, secs(60))?;
    edit(&f.path, "UPDATE entries SET expires_at = 'soon'")?;
    let v = &f.vault;
    assert!(matches!(v.ttl("victim"), Err(Error::Corrupt { .. })));
    assert!(matches!(v.persist("victim"), Err(Error::Corrupt { .. })));
    assert!(matches!(
        v.expire("victim", secs(1), ExpireIf::Always),
        Err(Error::Corrupt { .. })
    ));
    assert!(matches!(v.keys(), Err(Error::Corrupt { .. })));
    // Replacing the entry repairs it.
    v.put("victim", &2)?;
    assert!(v.remove("victim")?);
    Ok(())
}

#[test]
fn a_stored_name_that_is_not_utf8_is_corrupt() -> TestResult {
    let f = Fixture::new()?;
    f.vault.put("ok", &1)?;
    edit(
        &f.path,
        "INSERT INTO entries (key, name, expires_at, value) VALUES (x'ff00fe', NULL, NULL, x'01')",
    )?;
    let v = &f.vault;
    assert_eq!(v.len()?, 2);
    assert!(matches!(v.keys(), Err(Error::Corrupt { .. })));
    assert!(matches!(v.items::<i32>(), Err(Error::Corrupt { .. })));
    assert!(matches!(v.pop_item::<i32>(), Err(Error::Corrupt { .. })));
    // The entry that was the newest is still there.
    assert_eq!(v.len()?, 2);
    Ok(())
}

#[test]
fn values_that_are_not_cbor_are_decode_errors() -> TestResult {
    let f = Fixture::new()?;
    // An array that claims 2^63 items; a truncated string; nesting too deep.
    let mut deep = vec![0x81u8; 10_000];
    deep.push(0);
    let cases: [(&str, Vec<u8>); 4] = [
        (
            "huge",
            vec![0x9b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        ),
        ("short", vec![0x65, b'a', b'b']),
        ("deep", deep),
        ("break", vec![0xff]),
    ];
    for (name, bytes) in &cases {
        f.vault.put_bytes(name, bytes)?;
        let err = f.vault.get::<ciborium::Value>(name).unwrap_err();
        assert!(matches!(err, Error::Decode { .. }), "{name}: {err:?}");
    }
    Ok(())
}

#[test]
fn names_must_be_1_to_1024_bytes() -> TestResult {
    let f = Fixture::new()?;
    let v = &f.vault;
    let max = "n".repeat(MAX_NAME_LEN);
    assert_eq!(MAX_NAME_LEN, 1_024);
    v.put(&max, &1)?;
    assert_eq!(v.get::<i32>(&max)?, Some(1));
    assert_eq!(v.keys()?, [max.as_str()]);
    // 256 four-byte characters are 1024 bytes: fine; one more byte is not.
    let wide = "🔑".repeat(256);
    v.put(&wide, &2)?;
    let too_wide = format!("x{wide}");
    let too_long = format!("{max}x");
    let secret = format!("{SECRET_NAME}{}", "s".repeat(MAX_NAME_LEN));
    for bad in ["", too_long.as_str(), too_wide.as_str(), secret.as_str()] {
        let errors = [
            v.put(bad, &1).err(),
            v.put_with_ttl(bad, &1, secs(1)).err(),
            v.put_with(bad, &1, Expiry::Keep).err(),
            v.put_bytes(bad, b"x").err(),
            v.put_bytes_with(bad, b"x", Expiry::After(secs(1))).err(),
            v.get::<i32>(bad).err(),
            v.get_bytes(bad).err(),
            v.contains(bad).err(),
            v.remove(bad).err(),
            v.pop::<i32>(bad).err(),
            v.pop::<i32>(bad).err(),
            v.get_ex::<i32>(bad, secs(1)).err(),
            v.ttl(bad).err(),
            v.expire(bad, secs(1), ExpireIf::Always).err(),
            v.persist(bad).err(),
            v.get_or_insert(bad, 1).err(),
            v.put_many([(bad, 1)]).err(),
            v.get_many::<i32, _, _>([bad]).err(),
            v.pop_many::<i32, _, _>([bad]).err(),
            v.has_keys([bad]).err(),
        ];
        for (i, err) in errors.into_iter().enumerate() {
            let err = err.unwrap_or_else(|| panic!("call {i} accepted a bad name"));
            assert!(
                matches!(err, Error::InvalidName { .. }),
                "call {i}: {err:?}"
            );
            assert_no_leak(&err, &[SECRET_NAME]);
        }
    }
    assert_eq!(v.len()?, 2);
    Ok(())
}

#[test]
fn values_over_64_mib_are_refused() -> TestResult {
    const LIMIT: usize = 64 << 20;
    let f = Fixture::new()?;
    let v = &f.vault;
    let big = vec![7u8; LIMIT + 1];
    for err in [
        v.put_bytes("big", &big).unwrap_err(),
        v.put_bytes_with("big", &big, Expiry::After(secs(1)))
            .unwrap_err(),
    ] {
        match err {
            Error::ValueTooLarge { len, limit } => assert_eq!((len, limit), (LIMIT + 1, LIMIT)),
            other => panic!("expected ValueTooLarge, got {other:?}"),
        }
    }
    // A typed value whose encoding passes the limit (a string adds a header).
    let text = "x".repeat(LIMIT);
    assert!(matches!(
        v.put("big", &text),
        Err(Error::ValueTooLarge { .. })
    ));
    assert!(matches!(
        v.put_many([("ok", "small"), ("big", text.as_str())]),
        Err(Error::ValueTooLarge { .. })
    ));
    assert!(matches!(
        v.get_or_insert("big", text.clone()),
        Err(Error::ValueTooLarge { .. })
    ));
    assert!(v.is_empty()?);
    drop(text);
    // Exactly the limit is stored.
    v.put_bytes("edge", &big[..LIMIT])?;
    assert_eq!(v.get_bytes("edge")?.map(|b| b.len()), Some(LIMIT));
    Ok(())
}
