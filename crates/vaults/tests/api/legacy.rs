//! Files of the original Python module: recognised on open, read without
//! being changed, and migrated with the original kept beside the new vault.

use std::path::Path;

use ciborium::Value;
use vaults::legacy::{self, LegacyItem};
use vaults::{EncryptedVault, Error, Passphrase, Store, Vault};

fn legacy_file(path: &Path, rows: &[(&[u8], &[u8])]) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute("CREATE TABLE dict (key BLOB PRIMARY KEY, value BLOB)", [])
        .unwrap();
    for (k, v) in rows {
        conn.execute("INSERT INTO dict (key, value) VALUES (?1, ?2)", (k, v))
            .unwrap();
    }
}

const ROWS: [(&[u8], &[u8]); 3] = [
    (b"M\xa4host", b"M\xa9localhost"),
    (b"M\xa4port", b"M\xcd\x15\x38"),
    (b"M\xa4none", b"M\xc0"),
];

#[test]
fn every_open_of_a_legacy_file_says_to_convert_it_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    legacy_file(&path, &ROWS);
    let before = std::fs::read(&path).unwrap();
    let pass = Passphrase::new("pw").unwrap();
    let opens: [vaults::Result<()>; 4] = [
        Vault::open(&path).map(drop),
        Vault::open_or_create(&path).map(drop),
        EncryptedVault::open(&path, &pass).map(drop),
        EncryptedVault::open_or_create(&path, &pass, vaults::KdfParams::MIN).map(drop),
    ];
    for open in opens {
        let e = open.unwrap_err();
        assert!(matches!(e, Error::LegacyFormat { .. }), "{e:?}");
        assert!(e.to_string().contains("migrate_legacy"), "{e}");
    }
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert!(legacy::is_legacy(&path).unwrap());
}

#[test]
fn read_decodes_msgpack_and_hands_pickle_back_unrun() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let mut rows = ROWS.to_vec();
    rows.push((b"M\xa1p", b"P\x80\x04K\x01."));
    legacy_file(&path, &rows);
    let mut entries = legacy::read(&path).unwrap();
    entries.sort_by_key(|e| format!("{:?}", e.key));
    let text = |s: &str| LegacyItem::Value(Value::Text(s.into()));
    let pairs: Vec<_> = entries.into_iter().map(|e| (e.key, e.value)).collect();
    assert_eq!(
        pairs,
        [
            (text("host"), text("localhost")),
            (text("none"), LegacyItem::Value(Value::Null)),
            (text("p"), LegacyItem::Pickled(b"\x80\x04K\x01.".to_vec())),
            (text("port"), LegacyItem::Value(Value::Integer(5432.into()))),
        ]
    );
}

#[test]
fn migrate_writes_a_vault_in_place_and_keeps_the_original() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    legacy_file(&path, &ROWS);
    let before = std::fs::read(&path).unwrap();
    let kept = legacy::migrate(
        &path,
        [("host".to_owned(), Value::Text("localhost".into()))],
    )
    .unwrap();
    assert_eq!(kept, dir.path().join("old.db.legacy"));
    assert_eq!(std::fs::read(&kept).unwrap(), before);
    let vault = Vault::open(&path).unwrap();
    assert_eq!(
        vault.get::<String>("host").unwrap().as_deref(),
        Some("localhost")
    );
    assert_eq!(vault.len().unwrap(), 1);
    assert!(!dir.path().join("old.db.migrating").exists());
    // The new file is not a legacy file any more: migrating again is refused.
    assert!(matches!(
        legacy::migrate(&path, []),
        Err(Error::LegacyUnsupported { .. })
    ));
}

#[test]
fn migrate_refuses_to_overwrite_another_legacy_copy() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    legacy_file(&path, &ROWS);
    std::fs::write(dir.path().join("old.db.legacy"), b"someone else's").unwrap();
    let e = legacy::migrate(&path, []).unwrap_err();
    assert!(matches!(e, Error::LegacyUnsupported { .. }), "{e:?}");
    assert!(
        legacy::is_legacy(&path).unwrap(),
        "the original stays in place"
    );
}

#[test]
fn a_vault_or_another_database_is_not_a_legacy_file() {
    let dir = tempfile::tempdir().unwrap();
    let vault = dir.path().join("v.db");
    Vault::create(&vault).unwrap();
    assert!(!legacy::is_legacy(&vault).unwrap());
    let other = dir.path().join("other.db");
    rusqlite::Connection::open(&other)
        .unwrap()
        .execute("CREATE TABLE t (x)", [])
        .unwrap();
    let e = legacy::read(&other).unwrap_err();
    assert!(matches!(e, Error::LegacyUnsupported { .. }), "{e:?}");
    assert!(e.to_string().contains("not a file of the original"), "{e}");
    assert!(matches!(
        legacy::read(dir.path().join("missing.db")),
        Err(Error::VaultNotFound { .. })
    ));
}
