//! `import --format legacy`: a file of the original Python `vaults` module
//! (table `dict`, each key and value `M` + msgpack or `P` + pickle).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use crate::cli_util::{Env, assert_error};
use serde_json::json;

/// Writes a legacy file holding `rows` of (key blob, value blob).
fn legacy_file(path: &Path, rows: &[(&[u8], &[u8])]) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute(
        "CREATE TABLE IF NOT EXISTS dict (key BLOB PRIMARY KEY, value BLOB)",
        [],
    )
    .unwrap();
    for (k, v) in rows {
        conn.execute("INSERT INTO dict (key, value) VALUES (?1, ?2)", (k, v))
            .unwrap();
    }
}

/// Three entries as msgpack-python 1.x packs them (`use_bin_type=True`).
const MSGPACK_ROWS: [(&[u8], &[u8]); 3] = [
    (b"M\xa4host", b"M\xa9localhost"),
    (b"M\xa4port", b"M\xcd\x15\x38"),
    (
        b"M\xa3cfg",
        b"M\x82\xa1a\x93\x01\xc3\xc0\xa1b\xc4\x02\x00\xff",
    ),
];

#[test]
fn msgpack_entries_import_exactly_and_the_file_is_left_as_it_was() {
    let env = Env::new();
    env.init();
    let old = env.file("settings.db");
    legacy_file(&old, &MSGPACK_ROWS);
    let before = std::fs::read(&old).unwrap();

    // Recognised without --format, and with it.
    env.pw()
        .arg("import")
        .arg(&old)
        .assert()
        .success()
        .stdout("imported 3 entries (0 already expired, skipped)\n");
    assert_eq!(env.names(), ["cfg", "host", "port"]);
    assert_eq!(env.get("host"), b"localhost");
    assert_eq!(env.json(["get", "port"])["value"], json!(5432));
    // A map holding bytes has no JSON form: shown as its CBOR, which is
    // exactly {"a": [1, true, null], "b": h'00ff'}.
    let cfg = env.json(["get", "cfg"]);
    assert_eq!(cfg["encoding"], "cbor");
    assert_eq!(cfg["value"], "omFhgwH19mFiQgD/");
    env.pw()
        .args(["import", "--format", "legacy"])
        .arg(&old)
        .assert()
        .success();
    assert_eq!(
        std::fs::read(&old).unwrap(),
        before,
        "import must not change the file"
    );
}

#[test]
fn pickled_entries_are_refused_and_nothing_is_imported() {
    let env = Env::new();
    env.init();
    let old = env.file("mixed.db");
    let mut rows = MSGPACK_ROWS.to_vec();
    rows.push((
        b"M\xa6pickle",
        b"P\x80\x04\x95\x05\x00\x00\x00\x00\x00\x00\x00K\x01.",
    ));
    legacy_file(&old, &rows);
    let out = env
        .pw()
        .args(["import", "--format", "legacy"])
        .arg(&old)
        .output()
        .unwrap();
    let line = assert_error(&out, 1, &["localhost"]);
    assert!(line.contains("1 of its 4 entries are pickled"), "{line}");
    assert!(line.contains("allow_pickle=True"), "{line}");
    assert!(env.names().is_empty(), "nothing may be imported");
}

#[test]
fn a_key_that_is_not_text_is_refused() {
    let env = Env::new();
    env.init();
    let old = env.file("intkey.db");
    legacy_file(&old, &[(b"M\x07", b"M\xa1x")]);
    let out = env
        .pw()
        .args(["import", "--format", "legacy"])
        .arg(&old)
        .output()
        .unwrap();
    let line = assert_error(&out, 1, &[]);
    assert!(line.contains("not text"), "{line}");
}

#[test]
fn opening_a_legacy_file_as_a_vault_names_the_conversion() {
    let env = Env::new();
    std::fs::create_dir_all(&env.dir).unwrap();
    let old = env.dir.join("old.db");
    legacy_file(&old, &MSGPACK_ROWS);
    // Owner-only, as a careful user keeps it (else a warning comes first).
    std::fs::set_permissions(&old, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let out = env
        .cmd()
        .args(["--vault", "old", "--plain", "ls"])
        .output()
        .unwrap();
    let line = assert_error(&out, 1, &["localhost"]);
    assert!(line.contains("original Python vaults module"), "{line}");
    assert!(line.contains("import --format legacy"), "{line}");
}
