//! Encrypted vaults for tests: vaults with the
//! cheapest Argon2 parameters, raw access to the file through rusqlite (to
//! play the attacker), and error checks.

use std::fmt::Debug;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension};
use vaults::{
    EncryptedVault, Error, Integrity, KdfParams, LockedVault, ManualClock, OpenOptions, Passphrase,
};

pub use crate::{T0, TestResult, ms, secs};

/// A passphrase from a literal (never empty in these tests).
pub fn pass(s: &str) -> Passphrase {
    Passphrase::new(s).expect("test passphrases are not empty")
}

/// A fresh folder and the path of a vault file inside it (not created);
/// on a server, a fresh vault's URL (see [`crate::engine`]).
pub fn temp_path() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = crate::vault_location(dir.path(), "vault.db");
    (dir, path)
}

/// Options with a manual clock.
pub fn options(clock: &ManualClock) -> OpenOptions {
    OpenOptions::new().clock(clock.clone())
}

/// A new encrypted vault at `path` (floor Argon2 parameters), with `clock`.
pub fn create(
    path: &Path,
    passphrase: &str,
    clock: &ManualClock,
) -> vaults::Result<EncryptedVault> {
    EncryptedVault::create_with(&options(clock), path, &pass(passphrase), KdfParams::MIN)
}

/// Opens and unlocks the vault at `path` with `clock`.
pub fn open(path: &Path, passphrase: &str, clock: &ManualClock) -> vaults::Result<EncryptedVault> {
    LockedVault::open_with(&options(clock), path)?.unlock(&pass(passphrase))
}

/// The error of a result that must fail.
#[track_caller]
pub fn err<T: Debug>(result: vaults::Result<T>) -> Error {
    match result {
        Ok(v) => panic!("expected an error, got Ok({v:?})"),
        Err(e) => e,
    }
}

/// Asserts `result` is the integrity error `what`.
#[track_caller]
pub fn assert_integrity<T: Debug>(result: vaults::Result<T>, what: Integrity) {
    match err(result) {
        Error::Integrity(found) if found == what => {}
        other => panic!("expected Integrity({what:?}), got {other:?}"),
    }
}

/// A raw connection to a vault file, for reading and editing it behind the
/// library's back. `synchronous=OFF`: these edits need not survive power loss,
/// and thousands of them would otherwise wait for the disk.
pub fn raw(path: &Path) -> Connection {
    let conn = Connection::open(path).expect("open the vault file with rusqlite");
    conn.pragma_update(None, "synchronous", "OFF").unwrap();
    conn
}

/// One row of `entries`, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The `key` column, as stored.
    pub key: Vec<u8>,
    /// The `name` column, as stored.
    pub name: Option<Vec<u8>>,
    /// The expiry in ms since the epoch, if any.
    pub expires_at: Option<i64>,
    /// The `value` column, as stored.
    pub value: Vec<u8>,
}

/// Every row of `entries`, in rowid (insertion) order.
pub fn rows(conn: &Connection) -> Vec<Row> {
    let mut stmt = conn
        .prepare("SELECT key, name, expires_at, value FROM entries ORDER BY rowid")
        .unwrap();
    stmt.query_map([], |r| {
        Ok(Row {
            key: r.get(0)?,
            name: r.get(1)?,
            expires_at: r.get(2)?,
            value: r.get(3)?,
        })
    })
    .unwrap()
    .collect::<rusqlite::Result<_>>()
    .unwrap()
}

/// The row stored under `key`.
pub fn row(conn: &Connection, key: &[u8]) -> Row {
    rows(conn)
        .into_iter()
        .find(|r| r.key == key)
        .expect("a row under this key")
}

/// Overwrites the row under `row.key` with `row`'s other columns.
pub fn write_row(conn: &Connection, row: &Row) {
    let n = conn
        .execute(
            "UPDATE entries SET name = ?2, expires_at = ?3, value = ?4 WHERE key = ?1",
            (&row.key, &row.name, row.expires_at, &row.value),
        )
        .unwrap();
    assert_eq!(n, 1, "exactly one row rewritten");
}

/// Inserts a whole row.
pub fn insert_row(conn: &Connection, row: &Row) {
    conn.execute(
        "INSERT INTO entries (key, name, expires_at, value) VALUES (?1, ?2, ?3, ?4)",
        (&row.key, &row.name, row.expires_at, &row.value),
    )
    .unwrap();
}

/// Number of rows in `entries`, expired or not.
pub fn row_count(conn: &Connection) -> i64 {
    conn.query_row("SELECT count(*) FROM entries", [], |r| r.get(0))
        .unwrap()
}

/// The stored key of the row that the closure `put` adds to the vault at
/// `path` (found as the one key that was not there before).
pub fn stored_key_of(path: &Path, put: impl FnOnce()) -> Vec<u8> {
    let before: Vec<_> = rows(&raw(path)).into_iter().map(|r| r.key).collect();
    put();
    let mut new: Vec<_> = rows(&raw(path))
        .into_iter()
        .map(|r| r.key)
        .filter(|k| !before.contains(k))
        .collect();
    assert_eq!(new.len(), 1, "the put added exactly one row");
    new.pop().unwrap()
}

/// A `meta` record.
pub fn meta_get(conn: &Connection, name: &str) -> Option<Vec<u8>> {
    conn.query_row("SELECT value FROM meta WHERE name = ?1", [name], |r| {
        r.get(0)
    })
    .optional()
    .unwrap()
}

/// Writes (inserts or replaces) a `meta` record.
pub fn meta_put(conn: &Connection, name: &str, value: &[u8]) {
    conn.execute(
        "INSERT INTO meta (name, value) VALUES (?1, ?2) \
         ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        (name, value),
    )
    .unwrap();
}

/// Deletes a `meta` record; asserts it was there.
pub fn meta_delete(conn: &Connection, name: &str) {
    let n = conn
        .execute("DELETE FROM meta WHERE name = ?1", [name])
        .unwrap();
    assert_eq!(n, 1, "meta record {name} existed");
}

/// The meta record name of key slot `id`.
pub fn slot_name(id: u32) -> String {
    format!("slot.{id:010}")
}

/// The path of a vault's `-wal` or `-shm` companion.
pub fn companion(path: &Path, suffix: &str) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(suffix);
    PathBuf::from(p)
}

/// The bytes of a file, empty if it does not exist.
pub fn file_bytes(path: &Path) -> Vec<u8> {
    match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => panic!("reading {}: {e}", path.display()),
    }
}

/// The bytes of the vault file and its `-wal` and `-shm`, with their names.
pub fn all_file_bytes(path: &Path) -> Vec<(String, Vec<u8>)> {
    ["", "-wal", "-shm"]
        .into_iter()
        .map(|suffix| {
            let p = companion(path, suffix);
            (p.display().to_string(), file_bytes(&p))
        })
        .collect()
}

/// Whether `needle` occurs in `haystack`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// How many of `needles` occur in any of `haystacks`, judged by their first
/// 16 bytes (the needles are random: nonces, tags, hashes, so a 16-byte
/// match is a leftover, not chance). One hash set of windows per haystack
/// keeps this fast where a naive search over many needles would crawl.
pub fn count_found(haystacks: &[Vec<u8>], needles: &[Vec<u8>]) -> usize {
    const N: usize = 16;
    let windows: Vec<std::collections::HashSet<&[u8]>> =
        haystacks.iter().map(|h| h.windows(N).collect()).collect();
    needles
        .iter()
        .filter(|needle| {
            assert!(needle.len() >= N, "needles are at least {N} bytes");
            windows.iter().any(|set| set.contains(&needle[..N]))
        })
        .count()
}

/// Checkpoints the WAL into the file and truncates it (through rusqlite,
/// with the vault closed).
pub fn checkpoint(path: &Path) {
    let conn = Connection::open(path).unwrap();
    let busy: i64 = conn
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))
        .unwrap();
    assert_eq!(busy, 0, "checkpoint not blocked");
    conn.close().map_err(|(_, e)| e).unwrap();
}

/// Asserts that neither `Display` nor `Debug` of `e` contains any of `secrets`.
#[track_caller]
pub fn assert_names_no_secret(e: &Error, secrets: &[&str]) {
    let shown = format!("{e} / {e:?}");
    for s in secrets {
        assert!(!shown.contains(s), "error {shown:?} contains {s:?}");
    }
}
