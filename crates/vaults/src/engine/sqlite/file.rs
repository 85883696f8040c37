//! Opening a vault file: creating it exactly once among threads and
//! processes, never touching it outside SQLite while a connection of this
//! process may hold it, and reading it on a read-only or full disk.
//!
//! POSIX advisory locks belong to a process and an inode: closing *any*
//! descriptor of the file drops every lock the process holds on it, those of
//! SQLite's other connections included ("How To Corrupt An SQLite Database
//! File", 2.2). So nothing here opens the file, its `-wal` or its `-shm`
//! except SQLite; the checks before an open only `stat` the path. The one
//! exception is creating a new file owner-only (SQLite would make it 0644):
//! that descriptor is opened and closed under [`FILES`] held for writing,
//! and every SQLite open in this process happens under it held for reading,
//! so no connection of this process can have the new inode open while it
//! is closed.

use std::path::Path;
use std::sync::{PoisonError, RwLock};

use rusqlite::{Connection, ErrorCode, TransactionBehavior};

use super::schema::{self, Access};
use crate::engine::Settings;
use crate::{Error, Result};

/// Orders creating a file against SQLite opening one, within this process.
static FILES: RwLock<()> = RwLock::new(());

/// Below this much free space, an I/O failure at open is a full disk (SQLite
/// needs 32 KiB for a new `-shm`).
const FULL_BELOW: u64 = 64 * 1024;

/// Whether and how a missing file is created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Create {
    /// A missing file is [`Error::VaultNotFound`].
    No,
    /// A missing file is created empty.
    IfMissing,
    /// The file must not exist: [`Error::VaultExists`] otherwise.
    Exclusive,
}

/// Runs an SQLite open of a file, ordered after any creation in progress.
pub(crate) fn sqlite_open(
    open: impl FnOnce() -> rusqlite::Result<Connection>,
) -> rusqlite::Result<Connection> {
    let _held = FILES.read().unwrap_or_else(PoisonError::into_inner);
    open()
}

/// Opens the file at `path` with SQLite, creating it empty (0600) first if
/// asked; returns the connection and how it was opened.
///
/// The connection has read the file once: SQLite's header checks have run,
/// and a file cut inside a page is refused.
pub(crate) fn open(
    path: &Path,
    create: Create,
    settings: &Settings,
) -> Result<(Connection, Access)> {
    if create != Create::No {
        let _held = FILES.write().unwrap_or_else(PoisonError::into_inner);
        schema::create_file(path, create == Create::Exclusive)?;
    }
    schema::check_file(path)?;
    let mut conn = schema::connect(Some(path), Access::ReadWrite, settings)?;
    match first_read(&conn, path).and_then(|()| refuse_commits_once_moved(&mut conn, path)) {
        Ok(()) => Ok((conn, Access::ReadWrite)),
        // Gone from the path after SQLite opened it: removed meanwhile.
        Err(Error::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => Err(Error::Moved),
        Err(e) => {
            drop(conn);
            if immutable_is_safe(path, &e) {
                tracing::debug!("read-only filesystem: opening the vault immutable");
                let conn = schema::connect(Some(path), Access::Immutable, settings)?;
                first_read(&conn, path)?;
                return Ok((conn, Access::Immutable));
            }
            Err(match e {
                Error::Sqlite(_) if disk_is_full(path) => Error::Full,
                other => other,
            })
        }
    }
}

/// Reads the header in a read transaction (so no writer is extending the
/// file meanwhile) and checks the file is whole pages.
fn first_read(conn: &Connection, path: &Path) -> Result<()> {
    let tx = rusqlite::Transaction::new_unchecked(conn, TransactionBehavior::Deferred)?;
    tx.pragma_query_value::<i64, _>(None, "application_id", |r| r.get(0))
        .map_err(|e| not_a_vault_if_notadb(Error::from(e), Some(path)))?;
    schema::check_pages(&tx, path)?;
    tx.commit()?;
    Ok(())
}

/// Makes every commit on `conn` check, with the write lock held, that the
/// file at `path` is still the one the connection has open; when it is not
/// (the folder was removed, the file replaced), the commit is rolled back
/// and fails with [`Error::Moved`] instead of going to an unlinked inode.
///
/// The identity is (device, inode) from `stat`, which opens no descriptor.
/// It is taken after SQLite's first read and confirmed by SQLite's own
/// `SQLITE_FCNTL_HAS_MOVED`, so it is the file the connection opened.
fn refuse_commits_once_moved(conn: &mut Connection, path: &Path) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    // The process may change its working folder later.
    let path = std::path::absolute(path)?;
    let identity = |p: &Path| std::fs::metadata(p).map(|m| (m.dev(), m.ino()));
    let opened = identity(&path)?;
    let mut moved = 0;
    conn.file_control(
        Some(rusqlite::MAIN_DB),
        rusqlite::FileControl::HasMoved(&mut moved),
    )?;
    if moved != 0 {
        return Err(Error::Moved);
    }
    conn.commit_hook(Some(move || {
        let gone = identity(&path).map_or(true, |now| now != opened);
        if gone {
            tracing::warn!("the vault file was removed or replaced; rolling the write back");
        }
        gone
    }))?;
    Ok(())
}

/// SQLite's "file is not a database" as [`Error::NotAVault`]; any other
/// error as it is (an I/O error is not a verdict on the file).
pub(crate) fn not_a_vault_if_notadb(e: Error, path: Option<&Path>) -> Error {
    match e {
        Error::Sqlite(ref s) if s.sqlite_error_code() == Some(ErrorCode::NotADatabase) => {
            Error::NotAVault {
                path: path.map(Path::to_owned).unwrap_or_default(),
            }
        }
        other => other,
    }
}

/// Whether a failed open may be retried with `immutable=1`: SQLite could not
/// make its `-wal` or `-shm` because the filesystem is read-only (nobody can
/// change the file), and there is no WAL whose frames immutable would skip.
fn immutable_is_safe(path: &Path, e: &Error) -> bool {
    let cannot_open = match e {
        Error::ReadOnly => true,
        Error::Sqlite(s) => s.sqlite_error_code() == Some(ErrorCode::CannotOpen),
        _ => false,
    };
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    let wal_is_empty = match std::fs::metadata(&wal) {
        Ok(m) => m.len() == 0,
        Err(e) => e.kind() == std::io::ErrorKind::NotFound,
    };
    cannot_open && wal_is_empty && filesystem_is_read_only(path)
}

fn filesystem_is_read_only(path: &Path) -> bool {
    rustix::fs::statvfs(path)
        .is_ok_and(|s| s.f_flag.contains(rustix::fs::StatVfsMountFlags::RDONLY))
}

fn disk_is_full(path: &Path) -> bool {
    rustix::fs::statvfs(path).is_ok_and(|s| s.f_bavail.saturating_mul(s.f_frsize) < FULL_BELOW)
}

/// `file:PATH?immutable=1`, with every byte of the path that is not
/// unreserved percent-encoded.
pub(crate) fn immutable_uri(path: &Path) -> String {
    use std::fmt::Write;
    let mut uri = String::from("file:");
    for &b in path.as_os_str().as_encoded_bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            uri.push(char::from(b));
        } else {
            let _ = write!(uri, "%{b:02X}");
        }
    }
    uri.push_str("?immutable=1");
    uri
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_escape_every_odd_byte() {
        assert_eq!(
            immutable_uri(Path::new("/a b/v?#%.db")),
            "file:/a%20b/v%3F%23%25.db?immutable=1"
        );
    }
}
