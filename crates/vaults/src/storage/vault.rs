//! [`Vault`]: a handle on one vault file, and [`Transaction`].

use std::cell::Cell;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rusqlite::Connection;

use super::backend::{Backend, Mode, scoped};
use super::envelope::{Envelope, Plain};
use super::file::{self, Create};
use super::mark::ClockMark;
use super::rows::Rows;
use super::schema::{self, Access, ConnSettings, Durability, Header, Init};
use crate::{Clock, Error, Kind, Result, SystemClock};

/// A plain (unencrypted) key-value store in one SQLite file, with expiry.
///
/// Every operation is in the [`Store`](crate::Store) trait. A `Vault` is
/// `Send + Sync`: share one across threads with an `Arc`. Several processes
/// may open the same file at once.
///
/// ```
/// use vaults::{Store, Vault};
///
/// let vault = Vault::open_in_memory()?;
/// vault.put("host", "localhost")?;
/// assert_eq!(vault.get::<String>("host")?.as_deref(), Some("localhost"));
/// # Ok::<(), vaults::Error>(())
/// ```
pub struct Vault {
    conn: Mutex<Connection>,
    clock: Arc<dyn Clock>,
    mark: ClockMark,
    busy_timeout: Duration,
    path: Option<PathBuf>,
    header: Header,
}

impl fmt::Debug for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vault")
            .field("path", &self.path)
            .field("kind", &self.header.kind)
            .finish_non_exhaustive()
    }
}

/// Settings for opening a [`Vault`]; [`Vault::open`] uses the defaults.
///
/// ## Defaults
/// - create the file if it is missing: yes; insist on creating it: no;
/// - durability: [`Durability::Full`] (`synchronous=FULL`);
/// - busy timeout: 5 s (how long a write waits for another connection's lock,
///   and a key change for other readers before it reports that old key
///   material may remain);
/// - size cap: none;
/// - clock: [`SystemClock`].
///
/// ```
/// use std::time::Duration;
/// use vaults::{Durability, OpenOptions};
///
/// let dir = tempfile::tempdir()?;
/// let sessions = OpenOptions::new()
///     .durability(Durability::Normal)
///     .busy_timeout(Duration::from_secs(1))
///     .open(dir.path().join("sessions.db"))?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct OpenOptions {
    create: bool,
    create_new: bool,
    settings: ConnSettings,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for OpenOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenOptions")
            .field("create", &self.create)
            .field("create_new", &self.create_new)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Default for OpenOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl OpenOptions {
    /// The defaults listed above.
    pub fn new() -> Self {
        Self {
            create: true,
            create_new: false,
            settings: ConnSettings {
                durability: Durability::Full,
                busy_timeout: Duration::from_secs(5),
                max_size: None,
            },
            clock: Arc::new(SystemClock),
        }
    }

    /// Whether a missing file is created (default) or reported as
    /// [`Error::VaultNotFound`].
    pub fn create(mut self, create: bool) -> Self {
        self.create = create;
        self
    }

    /// Whether [`open`](OpenOptions::open) must create a new vault: a file
    /// (or symlink) already at the path is [`Error::VaultExists`] and is
    /// left as it is. The file is created with `O_EXCL`, so a file that
    /// appears between a check of yours and the open is never taken for
    /// the new vault. Default: no. Overrides [`create`](OpenOptions::create).
    ///
    /// ```
    /// use vaults::{Error, OpenOptions};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("new.db");
    /// let fresh = OpenOptions::new().create_new(true);
    /// fresh.open(&path)?.close()?;
    /// assert!(matches!(fresh.open(&path), Err(Error::VaultExists { .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn create_new(mut self, create_new: bool) -> Self {
        self.create_new = create_new;
        self
    }

    /// How hard a commit waits for the disk.
    pub fn durability(mut self, durability: Durability) -> Self {
        self.settings.durability = durability;
        self
    }

    /// How long a write waits for another connection's lock before failing
    /// with [`Error::Busy`]; also how long a key change waits for other
    /// connections to end their reads before it reports, in its
    /// [`KeyChange`](crate::KeyChange), that old key material may remain.
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.settings.busy_timeout = timeout;
        self
    }

    /// Caps the vault file at about `bytes` (whole pages; never below its
    /// current size). A write that would pass it fails with [`Error::Full`],
    /// and succeeds again once entries are removed. Default: no cap.
    pub fn max_size(mut self, bytes: u64) -> Self {
        self.settings.max_size = Some(bytes);
        self
    }

    /// The clock expiry is decided against (a [`ManualClock`](crate::ManualClock) in tests).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Opens (or creates) the plain vault at `path`.
    ///
    /// # Errors
    /// [`Error::VaultNotFound`] when the file is missing and creation is off;
    /// [`Error::VaultExists`] when it exists and
    /// [`create_new`](OpenOptions::create_new) is on;
    /// [`Error::NotAVault`] for a file that is not a vault;
    /// [`Error::UnsupportedVersion`] for a vault from a newer version;
    /// [`Error::WrongKind`] for an encrypted vault;
    /// [`Error::Integrity`] ([`Integrity::Kind`](crate::Integrity::Kind))
    /// for a file whose kind record says plain but that carries an encrypted
    /// vault's records (its kind was edited).
    pub fn open(&self, path: impl AsRef<Path>) -> Result<Vault> {
        let init = Init {
            vault_id: None,
            meta: &[],
        };
        self.open_kind(
            Some(path.as_ref()),
            Kind::Plain,
            (self.create || self.create_new).then_some(&init),
            self.create_new,
        )
    }

    /// Opens a new plain vault that lives in memory and disappears on drop.
    ///
    /// # Errors
    /// Only if SQLite cannot allocate.
    pub fn open_in_memory(&self) -> Result<Vault> {
        let init = Init {
            vault_id: None,
            meta: &[],
        };
        self.open_kind(None, Kind::Plain, Some(&init), false)
    }

    /// Opens a vault of `kind`. With `init`, a missing or empty file becomes
    /// a new vault holding `init`'s records; `exclusive` refuses an existing file.
    pub(crate) fn open_kind(
        &self,
        path: Option<&Path>,
        kind: Kind,
        init: Option<&Init<'_>>,
        exclusive: bool,
    ) -> Result<Vault> {
        let (conn, access) = match path {
            Some(p) => {
                let create = match (init, exclusive) {
                    (None, _) => Create::No,
                    (Some(_), false) => Create::IfMissing,
                    (Some(_), true) => Create::Exclusive,
                };
                file::open(p, create, &self.settings)?
            }
            None => (
                schema::connect(None, Access::ReadWrite, &self.settings)?,
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
        schema::configure(&conn, &self.settings, no_wal_switch)?;
        let mark = ClockMark::load(&conn)?;
        tracing::debug!(kind = %header.kind, "opened a vault");
        Ok(Vault {
            conn: Mutex::new(conn),
            clock: Arc::clone(&self.clock),
            mark,
            busy_timeout: self.settings.busy_timeout,
            path: path.map(Path::to_owned),
            header,
        })
    }
}

impl Vault {
    /// Opens the plain vault at `path`, creating it if it is missing.
    ///
    /// # Errors
    /// See [`OpenOptions::open`].
    pub fn open(path: impl AsRef<Path>) -> Result<Vault> {
        OpenOptions::new().open(path)
    }

    /// Opens the plain vault at `path` only if it exists.
    ///
    /// # Errors
    /// [`Error::VaultNotFound`] if there is no file; otherwise as [`OpenOptions::open`].
    pub fn open_existing(path: impl AsRef<Path>) -> Result<Vault> {
        OpenOptions::new().create(false).open(path)
    }

    /// A new, empty vault in memory (for tests and scratch work).
    ///
    /// # Errors
    /// Only if SQLite cannot allocate.
    pub fn open_in_memory() -> Result<Vault> {
        OpenOptions::new().open_in_memory()
    }

    /// Settings for opening a vault (durability, busy timeout, clock).
    pub fn options() -> OpenOptions {
        OpenOptions::new()
    }

    /// The file behind this vault (`None` in memory).
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The vault's random 16-byte id, fixed at creation.
    pub fn id(&self) -> [u8; 16] {
        self.header.vault_id
    }

    /// Closes the connection, reporting any error SQLite has on the way.
    ///
    /// # Errors
    /// [`Error::Sqlite`] if SQLite fails to close cleanly.
    pub fn close(self) -> Result<()> {
        let conn = self
            .conn
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        conn.close().map_err(|(_, e)| Error::from(e))
    }

    /// Closes the vault and deletes its file (with its `-wal` and `-shm`).
    ///
    /// ```
    /// use vaults::Vault;
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("temporary.db");
    /// Vault::open(&path)?.destroy()?;
    /// assert!(!path.exists());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Io`] if a file cannot be removed.
    pub fn destroy(self) -> Result<()> {
        let path = self.path.clone();
        self.close()?;
        if let Some(path) = path {
            remove_vault_files(&path)?;
        }
        Ok(())
    }

    /// Runs `f` on the rows in `mode`: the entry point of every operation.
    ///
    /// Expiry is decided at the later of the clock and the vault's clock
    /// mark (see `mark.rs`); a write raises the mark in its own transaction,
    /// a read only when it skipped an entry that expired after the mark.
    pub(crate) fn run<R>(&self, mode: Mode, f: impl FnOnce(&Rows<'_>) -> Result<R>) -> Result<R> {
        let conn = self.lock()?;
        let clock = self.clock.now_ms();
        let now = self.mark.now(clock);
        let expired = Cell::new(i64::MIN);
        let rows = |c| Rows::new(c, now, clock, &expired);
        let raise = |c: &Connection| match self.mark.due(now) {
            true => self.mark.raise(c, now),
            false => Ok(()),
        };
        let read = |out: Result<R>| {
            self.mark
                .raise_after_read(&conn, now, expired.get(), self.busy_timeout);
            out
        };
        match mode {
            Mode::Read => read(f(&rows(&conn))),
            Mode::Snapshot => read(scoped(
                &conn,
                "BEGIN DEFERRED",
                "COMMIT",
                "ROLLBACK",
                || f(&rows(&conn)),
            )),
            // One statement, one commit, unless the mark is due.
            Mode::Single if !self.mark.due(now) => f(&rows(&conn)),
            Mode::Single | Mode::Write => {
                scoped(&conn, "BEGIN IMMEDIATE", "COMMIT", "ROLLBACK", || {
                    let out = f(&rows(&conn))?;
                    raise(&conn)?;
                    Ok(out)
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
    pub(crate) fn checkpoint_truncate(&self) -> Result<bool> {
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
        let me = std::ptr::from_ref(self) as usize;
        if HELD.with_borrow(|held| held.contains(&me)) {
            return Err(Error::Reentrant);
        }
        // A panic inside an operation rolled its transaction back on unwind,
        // so the connection behind a poisoned lock is sound.
        let conn = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        if !conn.is_autocommit() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        HELD.with_borrow_mut(|held| held.push(me));
        Ok(Held { conn, me })
    }
}

thread_local! {
    /// The vaults whose connection this thread holds (a short stack).
    static HELD: std::cell::RefCell<Vec<usize>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A held connection; releases its mark on the thread when dropped.
struct Held<'v> {
    conn: MutexGuard<'v, Connection>,
    me: usize,
}

impl std::ops::Deref for Held<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        &self.conn
    }
}

impl Drop for Held<'_> {
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

impl Backend for Vault {
    type Env = Plain;

    fn env(&self) -> &Plain {
        &Plain
    }

    fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    fn with_rows<R>(&self, mode: Mode, f: impl FnOnce(&Rows<'_>) -> Result<R>) -> Result<R> {
        self.run(mode, f)
    }
}

impl crate::Store for Vault {}

/// An open write transaction, handed to the closure of
/// [`Store::transaction`](crate::Store::transaction).
///
/// It offers the whole [`Store`](crate::Store) API. Everything done through
/// it commits together when the closure returns `Ok`, and is rolled back when
/// it returns `Err` or panics. Time stands still inside a transaction: every
/// operation sees the instant it began.
pub struct Transaction<'a, E: Envelope = Plain> {
    rows: Rows<'a>,
    env: &'a E,
}

impl<E: Envelope> fmt::Debug for Transaction<'_, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transaction").finish_non_exhaustive()
    }
}

impl<'a, E: Envelope> Transaction<'a, E> {
    pub(crate) fn new(rows: Rows<'a>, env: &'a E) -> Self {
        Self { rows, env }
    }
}

impl<E: Envelope> Backend for Transaction<'_, E> {
    type Env = E;

    fn env(&self) -> &E {
        self.env
    }

    fn now_ms(&self) -> i64 {
        self.rows.clock()
    }

    fn with_rows<R>(&self, mode: Mode, f: impl FnOnce(&Rows<'_>) -> Result<R>) -> Result<R> {
        match mode {
            // A failing multi-step operation inside a transaction must not
            // leave half its work behind.
            Mode::Write => scoped(
                self.rows.conn,
                "SAVEPOINT vaults_op",
                "RELEASE vaults_op",
                "ROLLBACK TO vaults_op; RELEASE vaults_op",
                || f(&self.rows),
            ),
            _ => f(&self.rows),
        }
    }
}

impl<E: Envelope> crate::Store for Transaction<'_, E> {}
