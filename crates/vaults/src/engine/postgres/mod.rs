//! PostgreSQL, the shared engine: many vaults in one database, reached by
//! many hosts, each through a small pool of connections. The server holds
//! only what SQLite's file holds (blind indexes, sealed names and values,
//! expiry times, sealed meta records); every key stays on the client.
//!
//! Every SQL statement on the server is in this folder: rows in `rows.rs`,
//! the layout and its checks in `layout.rs`.
//!
//! ## Time
//! With the default clock, expiry is decided by the server's clock inside
//! the statement (`now()`, the start of the transaction), so hosts with
//! skewed clocks agree. New expiries are computed before the write (a
//! sealed value binds its expiry) from the server's time as estimated at
//! connect (its offset from the local clock, measured within one round
//! trip). A clock given in the options (a `ManualClock` in tests) is used
//! instead, never running backwards within a handle.
//!
//! ## Concurrency
//! Reads take no lock (each statement, or a snapshot's transaction, sees
//! committed data). A write transaction takes its vault's advisory lock
//! exclusively before its first read, so read-then-write operations on
//! different hosts run one after another, as SQLite's `BEGIN IMMEDIATE`
//! makes them; a one-statement write takes it shared in the same statement.
//! A lock wait past the busy timeout is [`Error::Busy`].

mod errors;
mod layout;
mod pool;
mod rows;
pub(crate) mod target;

use std::cell::{Cell, RefCell};
use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use layout::Header;
use pool::{Conn, Pool, Pooled};
use rows::{LOCK_CLASS, PgRows};

use super::{Engine, Init, Mode, Rows, Settings};
use crate::{Clock, Error, Kind, Result, SystemClock};

/// A vault on a PostgreSQL server.
pub(crate) struct PgEngine {
    pool: Pool,
    header: Header,
    /// The clock the options gave, or `None` for the server's.
    clock: Option<Arc<dyn Clock>>,
    /// The server's clock minus the local one (ms), from the last connect.
    offset_ms: AtomicI64,
    /// The latest instant this handle used (a given clock never runs back).
    seen: AtomicI64,
}

impl fmt::Debug for PgEngine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgEngine")
            .field("url", &self.pool.shown())
            .field("kind", &self.header.kind)
            .finish_non_exhaustive()
    }
}

/// Opens the vault that `url` names as a vault of `kind`. With `init`, a
/// missing vault is created holding `init`'s records (and the layout, on
/// a database that has none); `exclusive` refuses an existing vault.
/// `system_clock` says that `clock` is the system's: the server's is used.
pub(crate) fn open(
    url: &str,
    kind: Kind,
    init: Option<&Init<'_>>,
    exclusive: bool,
    settings: &Settings,
    clock: Arc<dyn Clock>,
    system_clock: bool,
) -> Result<PgEngine> {
    if settings.max_size.is_some() {
        return Err(Error::Unsupported {
            what: "a size cap on a server vault (set a quota on the server)",
        });
    }
    let target = target::parse(url)?;
    let pool = Pool::new(target, settings)?;
    let header = {
        let mut conn = pool.get()?;
        layout::ensure(&mut conn, pool.shown())?;
        layout::open_vault(
            &mut conn,
            pool.vault_name(),
            kind,
            init,
            exclusive,
            pool.shown(),
        )?
    };
    if header.kind != kind {
        return Err(Error::WrongKind {
            expected: kind,
            found: header.kind,
        });
    }
    let offset = pool.get()?.offset_ms;
    tracing::debug!(kind = %header.kind, "opened a vault on the server");
    Ok(PgEngine {
        pool,
        header,
        clock: (!system_clock).then_some(clock),
        offset_ms: AtomicI64::new(offset),
        seen: AtomicI64::new(i64::MIN),
    })
}

impl PgEngine {
    /// The time now: the given clock's (never running back), or the
    /// server's as estimated here.
    fn time(&self) -> i64 {
        match &self.clock {
            Some(c) => {
                let now = c.now_ms();
                self.seen.fetch_max(now, Ordering::SeqCst).max(now)
            }
            None => SystemClock
                .now_ms()
                .saturating_add(self.offset_ms.load(Ordering::Relaxed)),
        }
    }

    /// Runs `f` once on a connection. A pooled connection found stale
    /// when its transaction begins (a server restart, a dropped link) is
    /// replaced, and the transaction begun again on a fresh one; a
    /// one-statement operation runs on a connection checked after idling
    /// (see `pool.rs`), since it cannot be sent twice.
    fn run_rows(&self, mode: Mode, f: &mut dyn FnMut(&dyn Rows) -> Result<()>) -> Result<()> {
        let _held = Held::take(self)?;
        let mut conn = self.pool.get()?;
        match self.run_on(&mut conn, mode, f) {
            Attempt::Ran(out) => out,
            Attempt::NotBegun(Error::Unavailable { .. }) if conn.reused => {
                drop(conn);
                tracing::debug!("a pooled connection had gone stale; beginning on a new one");
                let mut conn = self.pool.fresh()?;
                self.offset_ms.store(conn.offset_ms, Ordering::Relaxed);
                match self.run_on(&mut conn, mode, f) {
                    Attempt::Ran(out) => out,
                    Attempt::NotBegun(e) => Err(e),
                }
            }
            Attempt::NotBegun(e) => Err(e),
        }
    }

    fn run_on(
        &self,
        conn: &mut Pooled<'_>,
        mode: Mode,
        f: &mut dyn FnMut(&dyn Rows) -> Result<()>,
    ) -> Attempt {
        let vault = self.header.vault;
        let now = self.time();
        let token = Cell::new(None);
        let conn: &mut Conn = conn;
        let cell = RefCell::new(conn);
        let rows = |shared_lock| PgRows {
            conn: &cell,
            vault,
            at: self.clock.as_ref().map(|_| now),
            now,
            clock: now,
            shared_lock,
            token: &token,
            with_token: self.header.kind == Kind::Encrypted,
        };
        match mode {
            Mode::Read => Attempt::Ran(f(&rows(false))),
            Mode::Single => Attempt::Ran(f(&rows(true))),
            Mode::Snapshot => {
                let begun = cell
                    .borrow_mut()
                    .begin("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
                if let Err(e) = begun {
                    return not_begun(&cell, e);
                }
                let out = f(&rows(false));
                Attempt::Ran(finish(&cell, out))
            }
            Mode::Write => {
                let begun = cell.borrow_mut().begin_returning(&format!(
                    "BEGIN; SELECT pg_advisory_xact_lock({LOCK_CLASS}, {vault}); \
                     SELECT meta_version FROM vaults.vaults WHERE vault = {vault}"
                ));
                match begun {
                    Ok(version) => token.set(version.and_then(|v| v.parse().ok())),
                    Err(e) => return not_begun(&cell, e),
                }
                let out = f(&rows(false));
                Attempt::Ran(finish(&cell, out))
            }
        }
    }
}

/// How far an operation got.
enum Attempt {
    /// Its transaction could not begin: nothing was sent that can commit.
    NotBegun(Error),
    /// It ran, with this outcome.
    Ran(Result<()>),
}

/// A transaction that failed to begin (a lock wait timed out, the link
/// broke): rolled back where the connection still answers.
fn not_begun(cell: &RefCell<&mut Conn>, e: Error) -> Attempt {
    if !matches!(e, Error::Unavailable { .. }) {
        let _ = cell.borrow_mut().end("ROLLBACK");
    }
    Attempt::NotBegun(e)
}

/// Commits on `Ok`, rolls back on `Err`.
fn finish(cell: &RefCell<&mut Conn>, out: Result<()>) -> Result<()> {
    let mut conn = cell.borrow_mut();
    match out {
        Ok(()) => conn.end("COMMIT"),
        Err(e) => {
            if let Err(undo) = conn.end("ROLLBACK") {
                tracing::debug!(error = %undo, "rolling back failed");
            }
            Err(e)
        }
    }
}

thread_local! {
    /// The vaults whose connection this thread holds (a short stack).
    static HELD: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
}

/// This thread's mark that it is inside an operation on an engine: a
/// second operation on the same engine from inside the first (the vault
/// used in its own transaction closure) is [`Error::Reentrant`].
struct Held(usize);

impl Held {
    fn take(engine: &PgEngine) -> Result<Held> {
        let me = std::ptr::from_ref(engine) as usize;
        if HELD.with_borrow(|held| held.contains(&me)) {
            return Err(Error::Reentrant);
        }
        HELD.with_borrow_mut(|held| held.push(me));
        Ok(Held(me))
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        HELD.with_borrow_mut(|held| {
            if let Some(at) = held.iter().rposition(|m| *m == self.0) {
                held.remove(at);
            }
        });
    }
}

impl Engine for PgEngine {
    fn vault_id(&self) -> [u8; 16] {
        self.header.vault_id
    }

    fn kind(&self) -> Kind {
        self.header.kind
    }

    fn path(&self) -> Option<&Path> {
        None
    }

    fn clock_ms(&self) -> i64 {
        self.time()
    }

    fn run(&self, mode: Mode, f: &mut dyn FnMut(&dyn Rows) -> Result<()>) -> Result<()> {
        self.run_rows(mode, f)
    }

    /// PostgreSQL keeps old row versions until `VACUUM`, and even then
    /// their bytes may stay in freed page space, the WAL and backups: old
    /// key material may remain. Vacuums the meta table and says so.
    fn purge_old_versions(&self) -> Result<bool> {
        let mut conn = self.pool.get()?;
        if let Err(e) = conn.batch("VACUUM vaults.meta") {
            tracing::debug!(error = %e, "vacuuming the meta table failed");
        }
        Ok(false)
    }

    fn close(self: Box<Self>) -> Result<()> {
        self.pool.close();
        Ok(())
    }

    fn destroy(self: Box<Self>) -> Result<()> {
        {
            let mut conn = self.pool.get()?;
            layout::destroy(&mut conn, self.header.vault)?;
        }
        self.pool.close();
        Ok(())
    }
}
