//! Hostile values and files cost bounded memory: a value planted in the file
//! (with SQL, as an attacker would, or sealed as raw bytes) is refused or
//! shown raw, never decoded into gigabytes; SQLite refuses rows longer than a
//! vault stores; `import` refuses CBOR beyond the limits; and the CLI warns,
//! like ssh, about a vault file or folder others can write or that someone
//! else owns.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::cli_util;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use base64::Engine;
use cli_util::{Env, PASS, assert_error, assert_success};
use vaults::{Error, LockedVault, Passphrase, Store, Vault};

/// Items in the planted array: 16 Mi one-byte integers, 16 MiB of CBOR,
/// under the 64 MiB value cap. Decoded as `ciborium::Value`s (32 bytes
/// each) this took over 1 GB.
const ITEMS: u32 = 16 << 20;

/// The CBOR of an array of `ITEMS` zeros.
fn hostile_array() -> Vec<u8> {
    let mut bytes = vec![0x9a];
    bytes.extend_from_slice(&ITEMS.to_be_bytes());
    bytes.resize(5 + ITEMS as usize, 0x00);
    bytes
}

/// Replaces the value of the only entry of the vault at `path`, with SQL.
fn plant(path: &Path, value: &[u8]) {
    let conn = rusqlite::Connection::open(path).unwrap();
    let changed = conn
        .execute("UPDATE entries SET value = ?1", [value])
        .unwrap();
    assert_eq!(changed, 1);
}

/// Regression: `get` decoded a planted 16 MiB array into 16 Mi values.
#[test]
fn a_planted_array_of_millions_of_items_is_refused_not_decoded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.db");
    let vault = Vault::open_or_create(&path).unwrap();
    vault.put("k", "small").unwrap();
    plant(&path, &hostile_array());
    match vault.get::<ciborium::Value>("k") {
        Err(Error::Decode { reason }) => assert!(reason.contains("items"), "{reason}"),
        other => panic!(
            "expected a decode error, got {:?}",
            other.map(|_| "a value")
        ),
    }
    // The raw bytes are still there for whoever asks for them.
    assert_eq!(
        vault.get_bytes("k").unwrap().unwrap().len(),
        5 + ITEMS as usize
    );
}

/// A value sealed as raw bytes through the API is refused the same way.
#[test]
fn a_sealed_array_of_millions_of_items_is_refused_not_decoded() {
    let env = Env::new();
    env.init();
    let vault = LockedVault::open(env.vault_path())
        .unwrap()
        .unlock(&Passphrase::new(PASS).unwrap())
        .unwrap();
    vault.put_bytes("k", &hostile_array()).unwrap();
    assert!(matches!(
        vault.get::<ciborium::Value>("k"),
        Err(Error::Decode { .. })
    ));
}

/// Regression: a blob over the value cap, planted in the file, was read
/// whole into memory. SQLite's length limit now refuses the row.
#[test]
fn a_planted_blob_over_the_cap_is_refused_on_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.db");
    let vault = Vault::open_or_create(&path).unwrap();
    vault.put_bytes("k", b"small").unwrap();
    plant(&path, &vec![7u8; 80 << 20]);
    let err = vault.get_bytes("k").unwrap_err();
    assert!(
        matches!(err, Error::Corrupt { .. } | Error::ValueTooLarge { .. }),
        "{err:?}"
    );
}

/// Regression: `vaults get` of the planted array used 1.06 GB and died
/// under an address-space limit. Now it prints the raw bytes, as for any
/// value it cannot show exactly, within 512 MiB of address space (the
/// debug binary maps ~100 MiB before it reads anything; Argon2 takes 19 MiB).
#[test]
fn cli_get_of_a_planted_array_stays_within_bounded_memory() {
    let env = Env::new();
    env.init();
    let array = hostile_array();
    let vault = LockedVault::open(env.vault_path())
        .unwrap()
        .unlock(&Passphrase::new(PASS).unwrap())
        .unwrap();
    vault.put_bytes("k", &array).unwrap();
    drop(vault);
    let out = env.pw().args(["get", "-n", "k"]).output().unwrap();
    assert_success(&out);
    let limited = env
        .bash("prlimit --as=536870912 -- \"$VAULTS_BIN\" get -n k | wc -c")
        .env("VAULTS_PASSPHRASE", PASS)
        .output()
        .unwrap();
    assert_success(&limited);
    assert_eq!(
        String::from_utf8_lossy(&limited.stdout).trim(),
        array.len().to_string(),
        "stderr: {}",
        String::from_utf8_lossy(&limited.stderr)
    );
    assert_eq!(out.stdout, array);
    let json = env.json(["get", "k"]);
    assert_eq!(json["encoding"], "cbor");
}

/// Regression: `import` stored a CBOR value of millions of items as it was.
#[test]
fn import_refuses_cbor_beyond_the_limits() {
    let env = Env::new();
    env.init();
    let doc = serde_json::json!({
        "format": "vaults-export",
        "version": 1,
        "entries": [
            {"name": "ok", "encoding": "text", "value": "fine"},
            {
                "name": "k",
                "encoding": "cbor",
                "value": base64::engine::general_purpose::STANDARD.encode(hostile_array()),
            },
        ],
    });
    let file = env.write("export.json", doc.to_string());
    let out = env.pw().arg("import").arg(&file).output().unwrap();
    let err = assert_error(&out, 1, &[]);
    assert!(err.contains("entry 2") && err.contains("items"), "{err}");
    assert!(env.names().is_empty(), "nothing is imported on error");
    // Raw bytes that are not CBOR at all still import as they are.
    let doc = serde_json::json!({
        "format": "vaults-export",
        "version": 1,
        "entries": [{"name": "raw", "encoding": "cbor", "value": "//4="}],
    });
    let file = env.write("raw.json", doc.to_string());
    env.pw().arg("import").arg(&file).assert().success();
    assert_eq!(env.get("raw"), [0xff, 0xfe]);
}

/// `vaults get` on the default vault, which must succeed; its stderr.
fn warnings(env: &Env) -> String {
    let out = env.pw().args(["get", "k"]).output().unwrap();
    assert_success(&out);
    String::from_utf8(out.stderr).unwrap()
}

/// Regression: only a file readable by others was reported; a folder others
/// can write (they could swap the file or plant its `-wal`) was not.
#[test]
fn a_folder_others_can_write_is_reported() {
    let env = Env::new();
    env.init().set("k", "v", &[]);
    assert_eq!(warnings(&env), "");
    std::fs::set_permissions(&env.dir, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let err = warnings(&env);
    assert!(
        err.contains("writable by other users") && err.contains(&env.dir.display().to_string()),
        "{err}"
    );
    assert!(err.contains("chmod 700"), "{err}");
}

/// Regression: a file that another user owns (who can chmod it, or replace
/// it at will) was used without a word.
#[test]
fn a_file_or_folder_someone_else_owns_is_reported() {
    let env = Env::new();
    env.init().set("k", "v", &[]);
    let me = rustix::process::geteuid().as_raw();
    let other = if me == 0 { 65_534 } else { 0 };
    // Only root may give a file away; as anyone else, root owns nothing of
    // ours to test with.
    if std::os::unix::fs::chown(env.vault_path(), Some(other), None).is_err() {
        assert!(std::env::var_os("CI").is_none(), "CI runs as root");
        eprintln!("skipped: only root can chown the test vault");
        return;
    }
    let err = warnings(&env);
    assert!(err.contains("owned by another user"), "{err}");
    std::os::unix::fs::chown(env.vault_path(), Some(me), None).unwrap();
    std::os::unix::fs::chown(&env.dir, Some(other), None).unwrap();
    let err = warnings(&env);
    assert!(err.contains("owned by another user"), "{err}");
}

/// A file only its group may write is writable by others too.
#[test]
fn a_file_its_group_can_write_is_reported() {
    let env = Env::new();
    env.init().set("k", "v", &[]);
    std::fs::set_permissions(env.vault_path(), std::fs::Permissions::from_mode(0o620)).unwrap();
    let err = warnings(&env);
    assert!(err.contains("writable by other users"), "{err}");
}
