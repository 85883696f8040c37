//! Encrypted vaults for tests: vaults with the
//! cheapest Argon2 parameters, raw access to the file through rusqlite (to
//! play the attacker), and error checks.

use std::cell::RefCell;
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

/// A raw connection to a vault's storage, for reading and editing it behind
/// the library's back: the SQLite file through rusqlite, or the vault's rows
/// on the test server through a `postgres` client (as `psql` would). The
/// helpers below ([`rows`], [`write_row`], [`meta_put`], ...) issue the
/// equivalent SQL on either; [`Raw::exec`] runs one statement written for
/// SQLite's `entries`/`meta` tables on either (on the server, against
/// temporary views of this vault's rows of `vaults.entries`/`vaults.meta`,
/// with `rowid` standing for the insertion-ordered `id`).
///
/// Dereferencing to a rusqlite [`Connection`] is for the tests that are
/// about the SQLite file itself (schema, pragmas, `sqlite_master`): it
/// panics on a server run, where those tests do not belong (`.ci/run` leaves
/// them out by module; see `.ci/sqlite-only`).
pub enum Raw {
    /// A vault file.
    Sqlite(Connection),
    /// A vault on the test server.
    Postgres {
        /// A connection to the test server.
        client: RefCell<postgres::Client>,
        /// The vault's number in `vaults.vaults`.
        vault: i32,
    },
}

/// A value bound to a [`Raw::exec`] parameter.
#[derive(Debug, Clone)]
pub enum Param {
    /// An integer (`INTEGER` / `bigint`).
    Int(i64),
    /// Bytes (`BLOB` / `bytea`).
    Blob(Vec<u8>),
    /// Text (`TEXT` / `text`).
    Text(String),
}

impl From<i64> for Param {
    fn from(v: i64) -> Self {
        Param::Int(v)
    }
}
impl From<&[u8]> for Param {
    fn from(v: &[u8]) -> Self {
        Param::Blob(v.to_vec())
    }
}
impl From<&Vec<u8>> for Param {
    fn from(v: &Vec<u8>) -> Self {
        Param::Blob(v.clone())
    }
}
impl From<Vec<u8>> for Param {
    fn from(v: Vec<u8>) -> Self {
        Param::Blob(v)
    }
}
impl From<&str> for Param {
    fn from(v: &str) -> Self {
        Param::Text(v.to_owned())
    }
}

impl rusqlite::ToSql for Param {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        match self {
            Param::Int(v) => v.to_sql(),
            Param::Blob(v) => v.to_sql(),
            Param::Text(v) => v.to_sql(),
        }
    }
}

impl std::ops::Deref for Raw {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        match self {
            Raw::Sqlite(conn) => conn,
            Raw::Postgres { .. } => panic!(
                "sqlite-only: this test reaches into the SQLite file itself \
                 (schema, pragmas, sqlite_master); it does not run on a server"
            ),
        }
    }
}

/// The name in a vault URL's `vault=` parameter.
fn vault_name_of(url: &str) -> String {
    let query = url.split_once('?').map_or("", |(_, q)| q);
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix("vault="))
        .unwrap_or_else(|| panic!("{url}: a vault URL without vault="))
        .to_owned()
}

/// A connection to the test server (the URL of `VAULTS_TEST_PG_URL`).
pub fn pg_client() -> postgres::Client {
    let url = crate::engine::pg_url();
    postgres::Client::connect(&url, postgres::NoTls)
        .unwrap_or_else(|e| panic!("connecting to the test server {url}: {e}"))
}

/// The number of the vault named by a vault URL, or `None` if there is none.
pub fn pg_vault_number(client: &mut postgres::Client, url: &str) -> Option<i32> {
    let name = vault_name_of(url);
    client
        .query_opt("SELECT vault FROM vaults.vaults WHERE name = $1", &[&name])
        .unwrap()
        .map(|r| r.get(0))
}

/// A raw connection to the vault at `path` (a file, or a vault URL on the
/// test server). On SQLite, `synchronous=OFF`: these edits need not survive
/// power loss, and thousands of them would otherwise wait for the disk.
pub fn raw(path: &Path) -> Raw {
    let shown = path.to_string_lossy();
    if shown.starts_with("postgres://") || shown.starts_with("postgresql://") {
        let mut client = pg_client();
        let vault = pg_vault_number(&mut client, &shown)
            .unwrap_or_else(|| panic!("no vault on the server for {shown}"));
        client
            .batch_execute(&format!(
                "CREATE TEMP VIEW entries AS SELECT vault, id AS rowid, key, name, expires_at, value \
                   FROM vaults.entries WHERE vault = {vault};\n\
                 ALTER VIEW entries ALTER COLUMN vault SET DEFAULT {vault};\n\
                 CREATE TEMP VIEW meta AS SELECT vault, name, value FROM vaults.meta \
                   WHERE vault = {vault};\n\
                 ALTER VIEW meta ALTER COLUMN vault SET DEFAULT {vault};"
            ))
            .unwrap();
        return Raw::Postgres {
            client: RefCell::new(client),
            vault,
        };
    }
    let conn = Connection::open(path).expect("open the vault file with rusqlite");
    conn.pragma_update(None, "synchronous", "OFF").unwrap();
    Raw::Sqlite(conn)
}

/// SQLite's syntax, as far as these tests use it, in PostgreSQL's: `?N`
/// placeholders as `$N`, `x'..'` blob literals as `'\x..'::bytea`,
/// `AS BLOB` casts as `AS bytea`.
fn pg_placeholders(sql: &str) -> String {
    let sql = sql.replace("AS BLOB)", "AS bytea)");
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    let mut prev = ' ';
    while let Some(c) = chars.next() {
        if c == '?' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('$');
        } else if c == 'x' && chars.peek() == Some(&'\'') && !prev.is_alphanumeric() {
            chars.next();
            out.push_str("'\\x");
            for h in chars.by_ref() {
                out.push(h);
                if h == '\'' {
                    break;
                }
            }
            out.push_str("::bytea");
        } else {
            out.push(c);
        }
        prev = c;
    }
    out
}

fn pg_params(params: &[Param]) -> Vec<&(dyn postgres::types::ToSql + Sync)> {
    params
        .iter()
        .map(|p| match p {
            Param::Int(v) => v as &(dyn postgres::types::ToSql + Sync),
            Param::Blob(v) => v as &(dyn postgres::types::ToSql + Sync),
            Param::Text(v) => v as &(dyn postgres::types::ToSql + Sync),
        })
        .collect()
}

impl Raw {
    /// Whether this is a vault on the server.
    pub fn on_server(&self) -> bool {
        matches!(self, Raw::Postgres { .. })
    }

    /// Runs one statement on `entries`/`meta` (SQLite syntax with `?N`
    /// placeholders and `rowid`; the same text runs on the server's views);
    /// returns the number of rows changed. An edit that touches `meta` bumps
    /// the server's meta version, as any write to a file changes SQLite's
    /// data version.
    pub fn exec(&self, sql: &str, params: &[Param]) -> u64 {
        match self {
            Raw::Sqlite(conn) => {
                let n = conn
                    .execute(sql, rusqlite::params_from_iter(params.iter()))
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
                u64::try_from(n).unwrap()
            }
            Raw::Postgres { client, .. } => {
                let n = client
                    .borrow_mut()
                    .execute(&pg_placeholders(sql), &pg_params(params))
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
                if sql.contains("meta") {
                    self.bump_meta_version();
                }
                n
            }
        }
    }

    /// One integer the query `sql` (as for [`Raw::exec`]) returns.
    pub fn query_i64(&self, sql: &str, params: &[Param]) -> i64 {
        match self {
            Raw::Sqlite(conn) => conn
                .query_row(sql, rusqlite::params_from_iter(params.iter()), |r| r.get(0))
                .unwrap_or_else(|e| panic!("{sql}: {e}")),
            Raw::Postgres { client, .. } => client
                .borrow_mut()
                .query_one(&pg_placeholders(sql), &pg_params(params))
                .unwrap_or_else(|e| panic!("{sql}: {e}"))
                .get(0),
        }
    }

    fn bump_meta_version(&self) {
        if let Raw::Postgres { client, vault } = self {
            client
                .borrow_mut()
                .execute(
                    "UPDATE vaults.vaults SET meta_version = meta_version + 1 WHERE vault = $1",
                    &[vault],
                )
                .unwrap();
        }
    }
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

/// Every row of `entries`, in insertion order (rowid; `id` on the server).
pub fn rows(conn: &Raw) -> Vec<Row> {
    match conn {
        Raw::Sqlite(conn) => {
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
        Raw::Postgres { client, vault } => client
            .borrow_mut()
            .query(
                "SELECT key, name, expires_at, value FROM vaults.entries \
                 WHERE vault = $1 ORDER BY id",
                &[vault],
            )
            .unwrap()
            .into_iter()
            .map(|r| Row {
                key: r.get(0),
                name: r.get(1),
                expires_at: r.get(2),
                value: r.get(3),
            })
            .collect(),
    }
}

/// The row stored under `key`.
pub fn row(conn: &Raw, key: &[u8]) -> Row {
    rows(conn)
        .into_iter()
        .find(|r| r.key == key)
        .expect("a row under this key")
}

/// Overwrites the row under `row.key` with `row`'s other columns.
pub fn write_row(conn: &Raw, row: &Row) {
    let n = match conn {
        Raw::Sqlite(conn) => conn
            .execute(
                "UPDATE entries SET name = ?2, expires_at = ?3, value = ?4 WHERE key = ?1",
                (&row.key, &row.name, row.expires_at, &row.value),
            )
            .unwrap(),
        Raw::Postgres { client, vault } => usize::try_from(
            client
                .borrow_mut()
                .execute(
                    "UPDATE vaults.entries SET name = $3, expires_at = $4, value = $5 \
                     WHERE vault = $1 AND key = $2",
                    &[vault, &row.key, &row.name, &row.expires_at, &row.value],
                )
                .unwrap(),
        )
        .unwrap(),
    };
    assert_eq!(n, 1, "exactly one row rewritten");
}

/// Inserts a whole row.
pub fn insert_row(conn: &Raw, row: &Row) {
    match conn {
        Raw::Sqlite(conn) => {
            conn.execute(
                "INSERT INTO entries (key, name, expires_at, value) VALUES (?1, ?2, ?3, ?4)",
                (&row.key, &row.name, row.expires_at, &row.value),
            )
            .unwrap();
        }
        Raw::Postgres { client, vault } => {
            client
                .borrow_mut()
                .execute(
                    "INSERT INTO vaults.entries (vault, key, name, expires_at, value) \
                     VALUES ($1, $2, $3, $4, $5)",
                    &[vault, &row.key, &row.name, &row.expires_at, &row.value],
                )
                .unwrap();
        }
    }
}

/// Number of rows in `entries`, expired or not.
pub fn row_count(conn: &Raw) -> i64 {
    conn.query_i64("SELECT count(*) FROM entries", &[])
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
pub fn meta_get(conn: &Raw, name: &str) -> Option<Vec<u8>> {
    match conn {
        Raw::Sqlite(conn) => conn
            .query_row("SELECT value FROM meta WHERE name = ?1", [name], |r| {
                r.get(0)
            })
            .optional()
            .unwrap(),
        Raw::Postgres { client, vault } => client
            .borrow_mut()
            .query_opt(
                "SELECT value FROM vaults.meta WHERE vault = $1 AND name = $2",
                &[vault, &name],
            )
            .unwrap()
            .map(|r| r.get(0)),
    }
}

/// Every `meta` record, by name.
pub fn meta_all(conn: &Raw) -> Vec<(String, Vec<u8>)> {
    match conn {
        Raw::Sqlite(conn) => {
            let mut stmt = conn
                .prepare("SELECT name, value FROM meta ORDER BY name")
                .unwrap();
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap()
        }
        Raw::Postgres { client, vault } => client
            .borrow_mut()
            .query(
                "SELECT name, value FROM vaults.meta WHERE vault = $1 ORDER BY name COLLATE \"C\"",
                &[vault],
            )
            .unwrap()
            .into_iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect(),
    }
}

/// Writes (inserts or replaces) a `meta` record.
pub fn meta_put(conn: &Raw, name: &str, value: &[u8]) {
    match conn {
        Raw::Sqlite(conn) => {
            conn.execute(
                "INSERT INTO meta (name, value) VALUES (?1, ?2) \
                 ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                (name, value),
            )
            .unwrap();
        }
        Raw::Postgres { client, vault } => {
            client
                .borrow_mut()
                .execute(
                    "INSERT INTO vaults.meta (vault, name, value) VALUES ($1, $2, $3) \
                     ON CONFLICT (vault, name) DO UPDATE SET value = excluded.value",
                    &[vault, &name, &value],
                )
                .unwrap();
            conn.bump_meta_version();
        }
    }
}

/// Deletes a `meta` record; asserts it was there.
pub fn meta_delete(conn: &Raw, name: &str) {
    let n = conn.exec("DELETE FROM meta WHERE name = ?1", &[name.into()]);
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

/// A copy of a vault's stored state, to put back with [`restore`]: the
/// file's bytes on SQLite (taken with the vault closed and checkpointed), the
/// vault's rows and meta records on the server.
#[derive(Debug, Clone)]
pub enum Snapshot {
    /// The bytes of the vault file.
    File(Vec<u8>),
    /// The rows (in order) and meta records of a vault on the server.
    Server(Vec<Row>, Vec<(String, Vec<u8>)>),
}

/// The stored state of the vault at `path`.
pub fn snapshot(path: &Path) -> Snapshot {
    match raw(path) {
        Raw::Sqlite(_) => Snapshot::File(file_bytes(path)),
        conn @ Raw::Postgres { .. } => Snapshot::Server(rows(&conn), meta_all(&conn)),
    }
}

/// Puts back the state [`snapshot`] took, in one transaction on the server.
pub fn restore(path: &Path, snapshot: &Snapshot) {
    match snapshot {
        Snapshot::File(bytes) => std::fs::write(path, bytes).unwrap(),
        Snapshot::Server(saved_rows, saved_meta) => {
            let Raw::Postgres { client, vault } = raw(path) else {
                panic!("a server snapshot restored onto a file");
            };
            let mut client = client.into_inner();
            let mut tx = client.transaction().unwrap();
            tx.execute("DELETE FROM vaults.entries WHERE vault = $1", &[&vault])
                .unwrap();
            tx.execute("DELETE FROM vaults.meta WHERE vault = $1", &[&vault])
                .unwrap();
            for r in saved_rows {
                tx.execute(
                    "INSERT INTO vaults.entries (vault, key, name, expires_at, value) \
                     VALUES ($1, $2, $3, $4, $5)",
                    &[&vault, &r.key, &r.name, &r.expires_at, &r.value],
                )
                .unwrap();
            }
            for (name, value) in saved_meta {
                tx.execute(
                    "INSERT INTO vaults.meta (vault, name, value) VALUES ($1, $2, $3)",
                    &[&vault, name, value],
                )
                .unwrap();
            }
            tx.execute(
                "UPDATE vaults.vaults SET meta_version = meta_version + 1 WHERE vault = $1",
                &[&vault],
            )
            .unwrap();
            tx.commit().unwrap();
        }
    }
}

/// Copies the vault at `from` to `to` (which must not exist) as stored: the
/// file on SQLite, [`vaults::copy_vault`] on the server.
pub fn copy_storage(from: &Path, to: &Path) {
    if crate::on_server() {
        vaults::copy_vault(&OpenOptions::new(), from, to).unwrap();
    } else {
        std::fs::copy(from, to).unwrap();
    }
}
