//! Read connections beside the writer, so that reads from several threads
//! on one handle run at once.
//!
//! A vault file is in WAL mode, where readers never wait for each other nor
//! for the writer. One connection serves one thread at a time, so a handle
//! with one connection gives a multi-threaded program one core of reads. A
//! read that finds the main connection busy takes an idle read connection
//! instead, opening one when there are fewer than the machine has cores;
//! when all are busy it waits for the main one, as before. A program that
//! reads from one thread never opens a second connection.
//!
//! A read connection opens the vault's path again, so it is checked to be
//! the same file before it serves: the same (device, inode) the main
//! connection opened, and the same vault id and kind. When it is not (the
//! file was replaced meanwhile), no read connection is used again and
//! reads keep to the main connection, which stays on the file it opened.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

use rusqlite::Connection;

use super::file::{self, Create};
use super::schema::{self, Header};
use crate::Result;
use crate::engine::Settings;

/// The (device, inode) of a file.
pub(super) type Identity = (u64, u64);

/// The identity of the file at `path` now.
pub(super) fn identity(path: &Path) -> Result<Identity> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path)?;
    Ok((meta.dev(), meta.ino()))
}

/// One read connection and its serial number (unique within the handle,
/// never reused: see [`Readers::serial`]).
pub(super) struct Reader {
    pub(super) conn: Connection,
    pub(super) serial: u32,
}

/// The idle read connections of one handle, and what opening another needs.
pub(super) struct Readers {
    idle: Mutex<Vec<Reader>>,
    /// Read connections opened (idle or serving), at most `max`.
    opened: AtomicUsize,
    max: usize,
    /// Set when a read connection failed to open as the same file: no more
    /// are tried.
    refused: AtomicBool,
    path: PathBuf,
    identity: Identity,
    header: Header,
    settings: Settings,
}

impl Readers {
    /// Read connections for the file at `path`, which the main connection
    /// opened as `identity` with `header`.
    pub(super) fn new(
        path: &Path,
        identity: Identity,
        header: Header,
        settings: &Settings,
    ) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        Readers {
            idle: Mutex::new(Vec::new()),
            opened: AtomicUsize::new(0),
            max: cores.clamp(1, 8),
            refused: AtomicBool::new(false),
            path: path.to_owned(),
            identity,
            header,
            settings: settings.clone(),
        }
    }

    /// An idle read connection, or a new one while fewer than `max` are
    /// open; `None` when all are serving or none can be opened. It goes
    /// back to the idle ones when dropped (after a panic too).
    pub(super) fn take(&self) -> Option<Lent<'_>> {
        self.take_reader().map(|reader| Lent {
            readers: self,
            reader: Some(reader),
        })
    }

    fn take_reader(&self) -> Option<Reader> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        if let Some(reader) = idle {
            if !reader.conn.is_autocommit() {
                // An operation that failed midway rolled back on unwind; a
                // transaction still open here is undone before reuse.
                let _ = reader.conn.execute_batch("ROLLBACK");
            }
            return Some(reader);
        }
        if self.refused.load(Ordering::Acquire) {
            return None;
        }
        let serial = self
            .opened
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.max).then_some(n + 1)
            })
            .ok()?;
        match self.open() {
            Ok(conn) => Some(Reader {
                conn,
                // Serial 0 is the main connection's.
                serial: u32::try_from(serial + 1).unwrap_or(u32::MAX),
            }),
            Err(e) => {
                tracing::debug!(error = %e, "no read connection; reads keep to the main one");
                self.refused.store(true, Ordering::Release);
                None
            }
        }
    }

    /// Hands a read connection back for the next read.
    fn give_back(&self, reader: Reader) {
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(reader);
    }

    /// Closes every idle read connection.
    pub(super) fn close(&self) -> Result<()> {
        let idle = std::mem::take(&mut *self.idle.lock().unwrap_or_else(PoisonError::into_inner));
        for reader in idle {
            reader
                .conn
                .close()
                .map_err(|(_, e)| crate::Error::from(e))?;
        }
        Ok(())
    }

    /// Opens a read connection on the file, as the main one was opened,
    /// and checks it is the same file and the same vault.
    fn open(&self) -> Result<Connection> {
        let (conn, access) = file::open(&self.path, Create::No, &self.settings)?;
        let header = schema::prepare(&conn, Some(&self.path), self.header.kind, None)?;
        let same = identity(&self.path)? == self.identity
            && header.vault_id == self.header.vault_id
            && header.kind == self.header.kind;
        if !same {
            return Err(crate::Error::Moved);
        }
        schema::configure(&conn, &self.settings, access == schema::Access::Immutable)?;
        Ok(conn)
    }
}

/// A read connection lent to one operation.
pub(super) struct Lent<'r> {
    readers: &'r Readers,
    reader: Option<Reader>,
}

impl Lent<'_> {
    /// The connection and its serial number.
    pub(super) fn get(&self) -> Option<&Reader> {
        self.reader.as_ref()
    }
}

impl Drop for Lent<'_> {
    fn drop(&mut self) {
        if let Some(reader) = self.reader.take() {
            self.readers.give_back(reader);
        }
    }
}
