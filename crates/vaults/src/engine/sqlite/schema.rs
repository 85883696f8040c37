//! The file: creating it owner-only, pragmas, the schema, and the checks that
//! refuse anything that is not a vault of a version we read. (How a file is
//! opened safely, among threads and on odd media, is in `file.rs`.)

use std::fs::OpenOptions;
use std::io::ErrorKind;
#[cfg(unix)]
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior};

use super::exposure::Exposure;
use crate::engine::{Durability, Init, Settings};
use crate::{Error, Integrity, Kind, Result};

/// `PRAGMA application_id` of every vault file: ASCII "VALT".
pub(crate) const APPLICATION_ID: i32 = 0x5641_4C54;

/// `PRAGMA user_version`: the schema version this build writes and reads.
pub(crate) const SCHEMA_VERSION: i64 = 1;

/// Meta records every vault has.
pub(crate) const META_VAULT_ID: &str = "vault_id";
pub(crate) const META_KIND: &str = "kind";

/// A plain vault's `meta` holds these records and no other (the clock mark
/// is every vault's, written by its first write): every further record (the
/// encrypted layer's `crypto`, `generation`, `mac`, `slot.*`) belongs to an
/// encrypted vault, whatever its `kind` record says.
const PLAIN_META: [&str; 3] = [META_VAULT_ID, META_KIND, super::mark::META_CLOCK_MARK];

/// The schema, in the order created.
///
/// `expires_at` comes before `value` so that a scan of names and expiries
/// never reads a value's overflow pages.
const SCHEMA: [&str; 3] = [
    "CREATE TABLE entries (key BLOB NOT NULL UNIQUE, name BLOB, expires_at INTEGER, value BLOB NOT NULL)",
    "CREATE INDEX entries_expiry ON entries (expires_at) WHERE expires_at IS NOT NULL",
    "CREATE TABLE meta (name TEXT PRIMARY KEY NOT NULL, value BLOB NOT NULL)",
];

/// Every object `sqlite_master` of a vault holds, with its SQL (`None` for
/// SQLite's automatic indexes), sorted by name.
const OBJECTS: [(&str, Option<&str>); 5] = [
    ("entries", Some(SCHEMA[0])),
    ("entries_expiry", Some(SCHEMA[1])),
    ("meta", Some(SCHEMA[2])),
    ("sqlite_autoindex_entries_1", None),
    ("sqlite_autoindex_meta_1", None),
];

/// What a successful open found in the file.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Header {
    pub(crate) vault_id: [u8; 16],
    pub(crate) kind: Kind,
}

/// Creates `path` as an empty file readable by its owner only, unless it exists.
///
/// Created with mode 0600 from the start (not chmod-ed after), so no other
/// user can open it in between. SQLite gives its `-wal` and `-shm` files the
/// same mode as the database file.
pub(crate) fn create_file(path: &Path, exclusive: bool) -> Result<bool> {
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    opts.mode(0o600);
    match opts.open(path) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == ErrorKind::AlreadyExists && !exclusive => Ok(false),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Err(Error::VaultExists {
            path: path.to_owned(),
        }),
        Err(e)
            if matches!(
                e.kind(),
                ErrorKind::PermissionDenied | ErrorKind::ReadOnlyFilesystem
            ) =>
        {
            Err(Error::ReadOnly)
        }
        Err(e) => Err(Error::Io(e)),
    }
}

/// Checks, before SQLite opens it, that `path` is a file that may hold a
/// database, and returns its length.
///
/// Only `stat`s the path: opening and closing the file here would drop the
/// POSIX locks SQLite holds on it for the other connections of this process.
/// SQLite itself checks the header on its first read; a non-empty file
/// shorter than the smallest page it would treat as empty, and overwrite.
pub(crate) fn check_file(path: &Path) -> Result<u64> {
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        ErrorKind::NotFound => Error::VaultNotFound {
            path: path.to_owned(),
        },
        _ => Error::Io(e),
    })?;
    warn_if_exposed(path, &meta);
    let len = meta.len();
    if !meta.is_file() || (1..512).contains(&len) {
        return Err(Error::NotAVault {
            path: path.to_owned(),
        });
    }
    Ok(len)
}

/// Refuses a file cut inside a page: SQLite would read the missing bytes as
/// zeros. Called inside a read transaction, so no writer is extending the file.
pub(crate) fn check_pages(conn: &Connection, path: &Path) -> Result<()> {
    let page_size: i64 = conn.pragma_query_value(None, "page_size", |r| r.get(0))?;
    let page_size = u64::try_from(page_size).unwrap_or(0).max(1);
    if std::fs::metadata(path)?.len() % page_size != 0 {
        return Err(Error::Corrupt {
            detail: "the file is truncated (not a whole number of pages)",
        });
    }
    Ok(())
}

/// Logs, as `tracing` warnings, what [`Exposure::check`] finds.
fn warn_if_exposed(path: &Path, meta: &std::fs::Metadata) {
    for found in Exposure::check_with(path, meta) {
        match found.mode() {
            Some(mode) => tracing::warn!(mode = format_args!("{mode:o}"), "{found}"),
            None => tracing::warn!("{found}"),
        }
    }
}

/// How SQLite opens an existing file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// Read and write, with SQLite's locks and its `-wal` and `-shm` files.
    ReadWrite,
    /// `immutable=1`: no locks, no `-shm`, no writes; only for a file on a
    /// read-only filesystem, where nobody can change it.
    Immutable,
}

/// Opens an existing file with SQLite and applies the connection settings.
pub(crate) fn connect(
    path: Option<&Path>,
    access: Access,
    settings: &Settings,
) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = match (path, access) {
        (Some(p), Access::ReadWrite) => {
            super::file::sqlite_open(|| Connection::open_with_flags(p, flags))?
        }
        (Some(p), Access::Immutable) => super::file::sqlite_open(|| {
            Connection::open_with_flags(
                super::file::immutable_uri(p),
                OpenFlags::SQLITE_OPEN_READ_ONLY
                    | OpenFlags::SQLITE_OPEN_URI
                    | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
        })?,
        (None, _) => Connection::open_in_memory()?,
    };
    conn.busy_timeout(settings.busy_timeout)?;
    // A file from elsewhere may carry triggers or views; never let its schema
    // call functions with side effects.
    conn.pragma_update(None, "trusted_schema", false)?;
    conn.pragma_update(None, "cell_size_check", true)?;
    harden(&conn)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

/// Limits what a hostile file can make SQLite do, before the first read.
///
/// Defensive mode refuses the SQL that corrupts a file on purpose
/// (`writable_schema`, raw page writes). The length limit makes SQLite refuse
/// to read or write any string, blob or row longer than the largest a vault
/// stores, so a planted 1 GiB blob fails with an error instead of being
/// copied into memory.
fn harden(conn: &Connection) -> Result<()> {
    use rusqlite::config::DbConfig;
    use rusqlite::limits::Limit;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_DEFENSIVE, true)?;
    let max = i32::try_from(crate::limits::MAX_STORED_LEN).unwrap_or(i32::MAX);
    conn.set_limit(Limit::SQLITE_LIMIT_LENGTH, max)?;
    Ok(())
}

/// Applies the pragmas that persist or that need a vault file.
pub(crate) fn configure(conn: &Connection, settings: &Settings, in_memory: bool) -> Result<()> {
    if !in_memory {
        switch_to_wal(conn, settings.busy_timeout)?;
    }
    let sync = match settings.durability {
        Durability::Full => "FULL",
        Durability::Normal => "NORMAL",
    };
    conn.pragma_update(None, "synchronous", sync)?;
    conn.pragma_update(None, "secure_delete", true)?;
    // Negative: a size in KiB rather than in pages.
    let cache_kib = i64::try_from(settings.page_cache / 1024).unwrap_or(i64::MAX);
    conn.pragma_update(None, "cache_size", -cache_kib.max(1))?;
    if let Some(max) = settings.max_size {
        let page_size: i64 = conn.pragma_query_value(None, "page_size", |r| r.get(0))?;
        // SQLite never sets the limit below the pages the file already has.
        let pages = (max / u64::try_from(page_size).unwrap_or(4096).max(1)).max(1);
        conn.pragma_update(
            None,
            "max_page_count",
            i64::try_from(pages).unwrap_or(i64::MAX),
        )?;
    }
    Ok(())
}

/// Puts the file in WAL mode unless it is already. The switch needs the file
/// to itself, and SQLite does not wait for that (it reports busy at once), so
/// connections racing to open a new vault retry until the busy timeout.
fn switch_to_wal(conn: &Connection, timeout: Duration) -> Result<()> {
    let is_wal = |mode: &str| mode.eq_ignore_ascii_case("wal");
    if is_wal(&conn.pragma_query_value::<String, _>(None, "journal_mode", |r| r.get(0))?) {
        return Ok(());
    }
    let start = std::time::Instant::now();
    loop {
        match conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get::<_, String>(0)) {
            Ok(mode) if is_wal(&mode) => return Ok(()),
            // SQLite answers with the old mode when it cannot switch (a
            // read-only file).
            Ok(_) => return Err(Error::ReadOnly),
            Err(e) => match Error::from(e) {
                Error::Busy if start.elapsed() < timeout => {
                    std::thread::sleep(Duration::from_millis(5))
                }
                other => return Err(other),
            },
        }
    }
}

/// Makes sure the file is a vault of a version we read, initialising an
/// empty file as a new vault of `kind` (with `init`'s records written in the
/// same transaction), and returns its header.
pub(crate) fn prepare(
    conn: &Connection,
    path: Option<&Path>,
    kind: Kind,
    init: Option<&Init<'_>>,
) -> Result<Header> {
    let not_a_vault = || Error::NotAVault {
        path: path.map(Path::to_owned).unwrap_or_default(),
    };
    let app_id = read_app_id(conn).map_err(|e| super::file::not_a_vault_if_notadb(e, path))?;
    if app_id == 0 && super::legacy::has_legacy_shape(conn)? {
        return Err(Error::LegacyFormat {
            path: path.map(Path::to_owned).unwrap_or_default(),
        });
    }
    if app_id == 0 {
        // An empty file becomes a vault only when the caller asked to create one.
        match init {
            Some(init) => initialise(conn, kind, init, &not_a_vault)?,
            None => return Err(not_a_vault()),
        }
    } else if app_id != APPLICATION_ID {
        return Err(not_a_vault());
    }
    check_version(conn)?;
    check_schema(conn, &not_a_vault)?;
    read_header(conn)
}

fn read_app_id(conn: &Connection) -> Result<i32> {
    Ok(conn.pragma_query_value(None, "application_id", |r| r.get(0))?)
}

fn has_objects(conn: &Connection) -> Result<bool> {
    let n: i64 = conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))?;
    Ok(n > 0)
}

fn initialise(
    conn: &Connection,
    kind: Kind,
    init: &Init<'_>,
    not_a_vault: &dyn Fn() -> Error,
) -> Result<()> {
    let tx = rusqlite::Transaction::new_unchecked(conn, TransactionBehavior::Immediate)?;
    // Another process may have initialised the file while we waited for the lock.
    match read_app_id(&tx)? {
        0 => {}
        APPLICATION_ID => return Ok(()),
        _ => return Err(not_a_vault()),
    }
    if has_objects(&tx)? {
        return Err(not_a_vault());
    }
    for sql in SCHEMA {
        tx.execute(sql, [])?;
    }
    let vault_id = match init.vault_id {
        Some(id) => id,
        None => {
            let mut id = [0u8; 16];
            getrandom::fill(&mut id).map_err(|_| Error::Rng)?;
            id
        }
    };
    let kind_text = kind.to_string();
    let mut insert = tx.prepare("INSERT INTO meta (name, value) VALUES (?1, ?2)")?;
    insert.execute((META_VAULT_ID, &vault_id[..]))?;
    insert.execute((META_KIND, kind_text.as_bytes()))?;
    for (name, value) in init.meta {
        insert.execute((name, value))?;
    }
    drop(insert);
    tx.pragma_update(None, "application_id", APPLICATION_ID)?;
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    tx.commit()?;
    tracing::debug!(%kind, "initialised a new vault");
    Ok(())
}

fn check_version(conn: &Connection) -> Result<()> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version > SCHEMA_VERSION {
        return Err(Error::UnsupportedVersion {
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    if version < 1 {
        return Err(Error::Corrupt {
            detail: "the schema version is missing",
        });
    }
    Ok(())
}

/// Refuses a file whose objects differ from ours: a foreign schema, or one
/// with triggers or views added.
fn check_schema(conn: &Connection, not_a_vault: &dyn Fn() -> Error) -> Result<()> {
    let mut stmt = conn.prepare("SELECT name, sql FROM sqlite_master ORDER BY name")?;
    let found = stmt
        .query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let same = found.len() == OBJECTS.len()
        && found
            .iter()
            .zip(OBJECTS)
            .all(|((name, sql), (want_name, want_sql))| {
                name == want_name && sql.as_deref() == want_sql
            });
    if same { Ok(()) } else { Err(not_a_vault()) }
}

fn read_header(conn: &Connection) -> Result<Header> {
    let mut stmt = conn.prepare_cached("SELECT value FROM meta WHERE name = ?1")?;
    let id: Option<Vec<u8>> = stmt.query_row([META_VAULT_ID], |r| r.get(0)).optional()?;
    // Read as bytes whether stored as a blob or as text: an attacker's
    // `SET value = 'plain'` is an edit to report, not a type error.
    let kind: Option<Vec<u8>> = stmt
        .query_row([META_KIND], |r| {
            Ok(r.get_ref(0)?.as_bytes().map(<[u8]>::to_vec))
        })
        .optional()?
        .transpose()?;
    let vault_id = id
        .and_then(|v| <[u8; 16]>::try_from(v.as_slice()).ok())
        .ok_or(Error::Corrupt {
            detail: "the vault id is missing or malformed",
        })?;
    let kind = match kind.as_deref() {
        Some(b"plain") => Kind::Plain,
        Some(b"encrypted") => Kind::Encrypted,
        _ => {
            return Err(Error::Corrupt {
                detail: "the vault kind is missing or unknown",
            });
        }
    };
    // The kind record is outside the metadata MAC: a file that says `plain`
    // but carries any other record is an encrypted vault whose kind was
    // edited, and opening it as plain would store new secrets in clear.
    if kind == Kind::Plain && has_foreign_meta(conn)? {
        return Err(Error::Integrity(Integrity::Kind));
    }
    Ok(Header { vault_id, kind })
}

/// Whether `meta` holds a record a plain vault never has.
fn has_foreign_meta(conn: &Connection) -> Result<bool> {
    let mut stmt =
        conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM meta WHERE name NOT IN (?1, ?2, ?3))")?;
    Ok(stmt.query_row(PLAIN_META, |r| r.get(0))?)
}

#[cfg(test)]
mod hardening_tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Regression: connections ran without defensive mode and with SQLite's
    /// default 1 GB length limit.
    #[test]
    fn connections_are_defensive_and_length_limited() {
        use rusqlite::config::DbConfig;
        use rusqlite::limits::Limit;
        let settings = Settings {
            durability: Durability::Full,
            busy_timeout: Duration::from_secs(1),
            max_size: None,
            page_cache: 8 << 20,
        };
        let conn = connect(None, Access::ReadWrite, &settings).unwrap();
        configure(&conn, &settings, true).unwrap();
        let cache: i64 = conn
            .pragma_query_value(None, "cache_size", |r| r.get(0))
            .unwrap();
        assert_eq!(cache, -8192, "the page cache is set in KiB");
        assert!(conn.db_config(DbConfig::SQLITE_DBCONFIG_DEFENSIVE).unwrap());
        let limit = conn.limit(Limit::SQLITE_LIMIT_LENGTH).unwrap();
        assert_eq!(
            usize::try_from(limit).unwrap(),
            crate::limits::MAX_STORED_LEN
        );
        // Defensive mode: the schema cannot be made writable.
        conn.pragma_update(None, "writable_schema", true).unwrap();
        let writable: bool = conn
            .pragma_query_value(None, "writable_schema", |r| r.get(0))
            .unwrap();
        assert!(!writable);
    }
}
