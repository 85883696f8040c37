//! SQLite, the default engine: one vault is one file (or one in-memory
//! database), behind one connection that every write takes, and read
//! connections beside it for reads from several threads (`readers.rs`).
//!
//! Every SQL statement of the crate is in this folder: the rows in
//! `rows.rs`, the file's creation and checks in `schema.rs` and `file.rs`,
//! the clock mark in `mark.rs`.

mod exposure;
mod file;
pub(crate) mod legacy;
mod mark;
mod readers;
mod rows;
pub(crate) mod schema;
mod scoped;

use std::cell::Cell;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError};
use std::time::Duration;

use rusqlite::Connection;

pub use exposure::Exposure;
use file::Create;
use mark::ClockMark;
use readers::Readers;
use rows::SqliteRows;
use schema::{Access, Header};
use scoped::scoped;

use super::{Engine, Init, Mode, Rows, Settings};
use crate::{Clock, Error, Kind, Result};

/// A vault in one SQLite file, or in memory.
///
/// One connection behind a mutex: an operation holds it from its first
/// statement to its commit. A read that finds it busy may take a read
/// connection instead (`readers.rs`; none in memory). Expiry is decided at
/// the later of the clock and the vault's clock mark (see `mark.rs`).
pub(crate) struct SqliteEngine {
    conn: Mutex<Connection>,
    readers: Option<Readers>,
    clock: Arc<dyn Clock>,
    mark: ClockMark,
    busy_timeout: Duration,
    path: Option<PathBuf>,
    header: Header,
}

impl fmt::Debug for SqliteEngine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteEngine")
            .field("path", &self.path)
            .field("kind", &self.header.kind)
            .finish_non_exhaustive()
    }
}

/// Opens the vault file at `path` (in memory when `None`) as a vault of
/// `kind`. With `init`, a missing or empty file becomes a new vault holding
/// `init`'s records; `exclusive` refuses an existing file.
pub(crate) fn open(
    path: Option<&Path>,
    kind: Kind,
    init: Option<&Init<'_>>,
    exclusive: bool,
    settings: &Settings,
    clock: Arc<dyn Clock>,
) -> Result<SqliteEngine> {
    let (conn, access) = match path {
        Some(p) => {
            let create = match (init, exclusive) {
                (None, _) => Create::No,
                (Some(_), false) => Create::IfMissing,
                (Some(_), true) => Create::Exclusive,
            };
            file::open(p, create, settings)?
        }
        None => (
            schema::connect(None, Access::ReadWrite, settings)?,
            Access::ReadWrite,
        ),
    };
    let header = schema::prepare(&conn, path, kind, init)?;
    if header.kind != kind {
        return Err(Error::WrongKind {
            expected: kind,
            found: header.kind,
        });
    }
    // An immutable file stays in the journal mode it has (WAL, which
    // SQLite reads without a `-shm` here): no switch, like in memory.
    let no_wal_switch = path.is_none() || access == Access::Immutable;
    schema::configure(&conn, settings, no_wal_switch)?;
    let mark = ClockMark::load(&conn)?;
    let readers = match path {
        Some(p) => main_identity(&conn, p)?.map(|id| Readers::new(p, id, header, settings)),
        None => None,
    };
    tracing::debug!(kind = %header.kind, "opened a vault");
    Ok(SqliteEngine {
        conn: Mutex::new(conn),
        readers,
        clock,
        mark,
        busy_timeout: settings.busy_timeout,
        path: path.map(Path::to_owned),
        header,
    })
}

/// The (device, inode) of the file the main connection `conn` opened at
/// `path`, for read connections to check theirs against; `None` when it
/// cannot be told (the file moved since), and then no read connection is
/// opened.
fn main_identity(conn: &Connection, path: &Path) -> Result<Option<readers::Identity>> {
    let Ok(identity) = readers::identity(path) else {
        return Ok(None);
    };
    // Taken before this check, the identity is the connection's own file.
    let mut moved = 0;
    conn.file_control(
        Some(rusqlite::MAIN_DB),
        rusqlite::FileControl::HasMoved(&mut moved),
    )?;
    Ok((moved == 0).then_some(identity))
}

impl SqliteEngine {
    /// Runs `f` on the rows in `mode`: the entry point of every operation.
    /// A read runs on the main connection when it is free, else on a read
    /// connection if one is free or can be opened, else it waits for the
    /// main one.
    fn run_rows(&self, mode: Mode, f: &mut dyn FnMut(&dyn Rows) -> Result<()>) -> Result<()> {
        if let (Mode::Read | Mode::Snapshot, Some(readers)) = (mode, &self.readers) {
            if let Some(held) = self.try_lock()? {
                return self.run_on(&held, 0, mode, f);
            }
            if let Some(lent) = readers.take()
                && let Some(reader) = lent.get()
            {
                let _mark = Mark::new(self);
                return self.run_on(&reader.conn, reader.serial, mode, f);
            }
        }
        let held = self.lock()?;
        self.run_on(&held, 0, mode, f)
    }

    /// Runs `f` on the rows of `conn` (the connection numbered `serial`) in
    /// `mode`.
    ///
    /// Expiry is decided at the later of the clock and the vault's clock
    /// mark (see `mark.rs`); a write raises the mark in its own transaction,
    /// a read only when it skipped an entry that expired after the mark.
    fn run_on(
        &self,
        conn: &Connection,
        serial: u32,
        mode: Mode,
        f: &mut dyn FnMut(&dyn Rows) -> Result<()>,
    ) -> Result<()> {
        let clock = self.clock.now_ms();
        let now = self.mark.now(clock);
        let expired = Cell::new(i64::MIN);
        let rows = |c| SqliteRows::new(c, serial, now, clock, &expired);
        let raise = |c: &Connection| match self.mark.due(now) {
            true => self.mark.raise(c, now),
            false => Ok(()),
        };
        let read = |out: Result<()>| {
            self.mark
                .raise_after_read(conn, now, expired.get(), self.busy_timeout);
            out
        };
        match mode {
            Mode::Read => read(f(&rows(conn))),
            Mode::Snapshot => read(scoped(conn, "BEGIN DEFERRED", "COMMIT", "ROLLBACK", || {
                f(&rows(conn))
            })),
            // One statement, one commit, unless the mark is due.
            Mode::Single if !self.mark.due(now) => f(&rows(conn)),
            Mode::Single | Mode::Write => {
                scoped(conn, "BEGIN IMMEDIATE", "COMMIT", "ROLLBACK", || {
                    f(&rows(conn))?;
                    raise(conn)
                })
            }
        }
    }

    /// Checkpoints the WAL into the main file and truncates it, so old
    /// versions of pages do not linger in the `-wal` file (nor, for pages
    /// the WAL holds newer versions of, in the main file). Returns whether
    /// that was done.
    ///
    /// Another connection's read transaction, or its checkpoint, blocks it:
    /// it is tried again, with short pauses, for up to the busy timeout.
    /// SQLite's own busy handler does not wait on another checkpointer, so
    /// the waiting is done here, with the handler off meanwhile.
    fn checkpoint_truncate(&self) -> Result<bool> {
        const PAUSE: Duration = Duration::from_millis(20);
        let conn = self.lock()?;
        let deadline = std::time::Instant::now() + self.busy_timeout;
        conn.busy_timeout(Duration::ZERO)?;
        let done = loop {
            // Returns (busy, log frames, checkpointed frames).
            let busy = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                r.get::<_, i64>(0)
            });
            match busy {
                Ok(0) => break Ok(true),
                Ok(_) => {}
                Err(e) => break Err(Error::from(e)),
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                break Ok(false);
            }
            std::thread::sleep(left.min(PAUSE));
        };
        conn.busy_timeout(self.busy_timeout)?;
        done
    }

    /// Takes the connection. A thread that already holds it (the vault used
    /// inside its own transaction closure) gets [`Error::Reentrant`] instead
    /// of a deadlock.
    fn lock(&self) -> Result<Held<'_>> {
        self.check_not_held()?;
        // A panic inside an operation rolled its transaction back on unwind,
        // so the connection behind a poisoned lock is sound.
        let conn = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(Held::new(self, conn))
    }

    /// The connection if it is free now, as [`lock`](Self::lock).
    fn try_lock(&self) -> Result<Option<Held<'_>>> {
        self.check_not_held()?;
        match self.conn.try_lock() {
            Ok(conn) => Ok(Some(Held::new(self, conn))),
            Err(TryLockError::Poisoned(p)) => Ok(Some(Held::new(self, p.into_inner()))),
            Err(TryLockError::WouldBlock) => Ok(None),
        }
    }

    /// [`Error::Reentrant`] when this thread already holds the connection:
    /// the vault used inside its own transaction closure, where a read on
    /// another connection would not see the transaction's own writes.
    fn check_not_held(&self) -> Result<()> {
        let me = std::ptr::from_ref(self) as usize;
        match HELD.with_borrow(|held| held.contains(&me)) {
            true => Err(Error::Reentrant),
            false => Ok(()),
        }
    }
}

thread_local! {
    /// The vaults whose connection this thread holds (a short stack).
    static HELD: std::cell::RefCell<Vec<usize>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A held connection; releases its mark on the thread when dropped.
struct Held<'v> {
    conn: MutexGuard<'v, Connection>,
    _mark: Mark,
}

impl<'v> Held<'v> {
    fn new(engine: &SqliteEngine, conn: MutexGuard<'v, Connection>) -> Self {
        if !conn.is_autocommit() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        Held {
            conn,
            _mark: Mark::new(engine),
        }
    }
}

/// This thread's note that it is inside an operation of one vault, removed
/// when dropped.
struct Mark {
    me: usize,
}

impl Mark {
    fn new(engine: &SqliteEngine) -> Self {
        let me = std::ptr::from_ref(engine) as usize;
        HELD.with_borrow_mut(|held| held.push(me));
        Mark { me }
    }
}

impl std::ops::Deref for Held<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        &self.conn
    }
}

impl Drop for Mark {
    fn drop(&mut self) {
        HELD.with_borrow_mut(|held| {
            if let Some(at) = held.iter().rposition(|m| *m == self.me) {
                held.remove(at);
            }
        });
    }
}

/// Deletes a vault file and its WAL companions; a missing file is not an error.
pub(crate) fn remove_vault_files(path: &Path) -> Result<()> {
    let mut names = vec![path.to_owned()];
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        names.push(PathBuf::from(p));
    }
    for p in names {
        match std::fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::Io(e)),
        }
    }
    Ok(())
}

impl Engine for SqliteEngine {
    fn vault_id(&self) -> [u8; 16] {
        self.header.vault_id
    }

    fn kind(&self) -> Kind {
        self.header.kind
    }

    fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    fn clock_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    fn run(&self, mode: Mode, f: &mut dyn FnMut(&dyn Rows) -> Result<()>) -> Result<()> {
        self.run_rows(mode, f)
    }

    fn purge_old_versions(&self) -> Result<bool> {
        // In memory, no old page outlives the connection.
        if self.path.is_none() {
            return Ok(true);
        }
        self.checkpoint_truncate()
    }

    fn close(self: Box<Self>) -> Result<()> {
        if let Some(readers) = &self.readers {
            readers.close()?;
        }
        let conn = self
            .conn
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        conn.close().map_err(|(_, e)| Error::from(e))
    }

    fn destroy(self: Box<Self>) -> Result<()> {
        let path = self.path.clone();
        self.close()?;
        if let Some(path) = path {
            remove_vault_files(&path)?;
        }
        Ok(())
    }
}
