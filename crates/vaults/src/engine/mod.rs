//! The storage engine: where rows and meta records live, and the
//! transactions that read and write them.
//!
//! The public API drives an engine through two object-safe traits:
//! [`Engine`] (one vault's storage: run an operation in a [`Mode`]) and
//! [`Rows`] (what an operation may do inside it). Rows are handed up as
//! borrowed [`RowRef`]s through `&mut dyn FnMut` callbacks, so a value is
//! read where the engine holds it, without a copy; each call is one
//! indirect call, per operation for point reads and per row for scans.
//!
//! Everything engine-specific (SQL, files, locks, the clock mark) lives in
//! an implementation: [`sqlite`] (a file) or [`postgres`] (a server). This module and its
//! implementations name no public API type and know nothing of codecs or
//! keys: a row's columns are bytes.

#[cfg(feature = "postgres")]
pub(crate) mod postgres;
pub(crate) mod sqlite;

use std::fmt;
use std::path::Path;
use std::time::Duration;

use crate::row::{Resealed, RowRef};
use crate::{Error, Kind, Result};

/// Whether `path` names a vault on a PostgreSQL server: it starts with
/// `postgres://` or `postgresql://`. (A file of such a name is reached as
/// `./postgres:…`.)
pub(crate) fn is_server_url(path: &Path) -> bool {
    path.to_str()
        .is_some_and(|s| s.starts_with("postgres://") || s.starts_with("postgresql://"))
}

/// What an operation needs from its transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// One read statement: it is its own snapshot.
    Read,
    /// Several reads that must agree (a read transaction).
    Snapshot,
    /// One write statement with no read before it: autocommit.
    Single,
    /// A read-then-write or several writes: a write transaction taken before
    /// the first read (SQLite's `BEGIN IMMEDIATE`), committed on `Ok`,
    /// rolled back on `Err` or panic.
    Write,
}

/// How hard a commit waits for the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Durability {
    /// `synchronous=FULL`: an acknowledged write survives power loss. Default.
    #[default]
    Full,
    /// `synchronous=NORMAL`: the last commits may be lost on power loss (never
    /// on a crash of the process). Faster single writes; for session stores.
    Normal,
}

/// Settings an engine applies when it connects.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) durability: Durability,
    /// How long a write waits for another connection's lock.
    pub(crate) busy_timeout: Duration,
    /// A cap on the storage size, in bytes.
    pub(crate) max_size: Option<u64>,
    /// SQLite's page cache per connection, in bytes.
    pub(crate) page_cache: u64,
}

/// What to write into a new vault.
pub(crate) struct Init<'a> {
    /// The vault id to use; random when `None`.
    pub(crate) vault_id: Option<[u8; 16]>,
    /// Extra meta records (an encrypted vault's slots and MAC).
    pub(crate) meta: &'a [(String, Vec<u8>)],
}

/// A callback that receives one borrowed row.
pub(crate) type RowFn<'f> = &'f mut dyn FnMut(RowRef<'_>) -> Result<()>;

/// A callback that receives one borrowed row with its row id.
pub(crate) type IdRowFn<'f> = &'f mut dyn FnMut(i64, RowRef<'_>) -> Result<()>;

/// One vault's storage.
///
/// Every operation runs through [`Engine::run`]: the engine takes its lock,
/// opens the transaction `mode` asks for, decides the operation's `now`
/// (see [`Rows::now`]), hands `f` the rows, and commits (or rolls back when
/// `f` fails or panics).
pub(crate) trait Engine: fmt::Debug + Send + Sync {
    /// The vault's random 16-byte id, fixed at creation.
    fn vault_id(&self) -> [u8; 16];

    /// Whether the vault is plain or encrypted, as its records say.
    fn kind(&self) -> Kind;

    /// The file behind this vault (`None` in memory or on a server).
    fn path(&self) -> Option<&Path>;

    /// The clock's time now (ms), for expiries computed before an operation.
    fn clock_ms(&self) -> i64;

    /// Runs `f` once on the rows in `mode`.
    ///
    /// # Errors
    /// [`Error::Reentrant`] when this thread is already inside an operation
    /// on this engine; whatever `f` returns; a storage error.
    fn run(&self, mode: Mode, f: &mut dyn FnMut(&dyn Rows) -> Result<()>) -> Result<()>;

    /// Removes old versions of changed pages or records from storage (after
    /// a key change), waiting up to the busy timeout for other readers;
    /// whether that was done.
    ///
    /// # Errors
    /// A storage error.
    fn purge_old_versions(&self) -> Result<bool>;

    /// Closes the connection, reporting any error on the way.
    ///
    /// # Errors
    /// A storage error.
    fn close(self: Box<Self>) -> Result<()>;

    /// Closes the connection and deletes the vault's storage.
    ///
    /// # Errors
    /// [`Error::Io`] if a file cannot be removed.
    fn destroy(self: Box<Self>) -> Result<()>;
}

impl dyn Engine + '_ {
    /// [`Engine::run`] for an `f` that returns a value.
    pub(crate) fn with<R>(&self, mode: Mode, f: impl FnOnce(&dyn Rows) -> Result<R>) -> Result<R> {
        let mut f = Some(f);
        let mut out = None;
        self.run(mode, &mut |rows| {
            if let Some(f) = f.take() {
                out = Some(f(rows)?);
            }
            Ok(())
        })?;
        out.ok_or(Error::Corrupt {
            detail: "the storage engine skipped an operation",
        })
    }
}

/// Row-level access inside one operation (or transaction), at one instant.
///
/// A row is *alive* when its expiry is unset or later than [`Rows::now`];
/// every read of entries skips the rest, so an expired entry is invisible
/// without being deleted. Reads by row id (for rotation and repair) see
/// every row.
pub(crate) trait Rows {
    /// The instant this operation decides expiry at (ms): the later of the
    /// clock and every instant the vault has seen, read once per operation.
    fn now(&self) -> i64;

    /// The clock's time for this operation (ms), which new expiries are
    /// computed from.
    fn clock(&self) -> i64;

    /// Hands the live row under `key` to `f`; whether there was one. With
    /// `values == false` the value is left empty and never read.
    fn read(&self, key: &[u8], values: bool, f: RowFn<'_>) -> Result<bool>;

    /// Inserts or replaces the row under `key`. Replacing an expired row
    /// makes it the latest inserted (see [`Rows::last_key`]).
    fn upsert(
        &self,
        key: &[u8],
        name: Option<&[u8]>,
        expires_at: Option<i64>,
        value: &[u8],
    ) -> Result<()>;

    /// Inserts or replaces each of `rows`, in order, as [`Rows::upsert`]
    /// would one after another (of two rows under one key, the later wins).
    /// An engine may do it in fewer statements.
    fn upsert_many(&self, rows: &[RowRef<'_>]) -> Result<()> {
        for r in rows {
            self.upsert(r.key, r.name, r.expires_at, r.value)?;
        }
        Ok(())
    }

    /// Changes the expiry of the row under `key` and, when given, its name
    /// and value columns (sealed again for the new expiry).
    fn set_expiry(
        &self,
        key: &[u8],
        expires_at: Option<i64>,
        resealed: Option<&Resealed>,
    ) -> Result<()>;

    /// Deletes the row under `key` and hands it to `f` if it was alive;
    /// whether it was. An expired row is deleted too, silently.
    fn delete(&self, key: &[u8], f: RowFn<'_>) -> Result<bool>;

    /// Number of live rows.
    fn count(&self) -> Result<u64>;

    /// Hands up to `limit` live rows with keys after `after` (all when
    /// `None`), in key order, to `f`; returns how many.
    fn scan(
        &self,
        after: Option<&[u8]>,
        limit: Option<usize>,
        values: bool,
        f: RowFn<'_>,
    ) -> Result<usize>;

    /// Hands every live row to `f` in the storage's own order (fastest to
    /// read).
    fn scan_all(&self, values: bool, f: RowFn<'_>) -> Result<()>;

    /// The key of the most recently inserted live row.
    fn last_key(&self) -> Result<Option<Vec<u8>>>;

    /// Deletes every row; returns how many.
    fn clear(&self) -> Result<u64>;

    /// Deletes expired rows; returns how many.
    fn delete_expired(&self) -> Result<u64>;

    /// Hands up to `limit` rows, alive or not, with row ids after `after`,
    /// in row id order, to `f`. Rows too long to read are skipped (see
    /// [`Rows::too_long_ids`]).
    fn scan_ids(&self, after: i64, limit: usize, f: IdRowFn<'_>) -> Result<()>;

    /// Hands the row with this id, alive or not, to `f`; whether there was one.
    fn read_id(&self, id: i64, f: RowFn<'_>) -> Result<bool>;

    /// The ids of the rows with a column longer than any vault writes (only
    /// a planted row has one; storage refuses to read it).
    fn too_long_ids(&self) -> Result<Vec<i64>>;

    /// Whether the row with this id has a column too long to read; `None`
    /// when there is no such row.
    fn is_too_long(&self, id: i64) -> Result<Option<bool>>;

    /// Deletes the row with this id; whether there was one.
    fn delete_id(&self, id: i64) -> Result<bool>;

    /// Number of rows, alive or not.
    fn count_all(&self) -> Result<u64>;

    /// Rewrites the key, name and value of the row with this id.
    fn rewrite(&self, id: i64, key: &[u8], name: Option<&[u8]>, value: &[u8]) -> Result<()>;

    /// A token that changes whenever a transaction commits (on any
    /// connection), for caches of what storage held: an unchanged token
    /// means nothing committed. Read between statements, it belongs to the
    /// snapshot the last one saw.
    fn change_token(&self) -> Result<u64>;

    /// Reads a meta record.
    fn meta_get(&self, name: &str) -> Result<Option<Vec<u8>>>;

    /// Reads every meta record whose name starts with `prefix`, sorted by name.
    fn meta_list(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>>;

    /// Writes a meta record.
    fn meta_put(&self, name: &str, value: &[u8]) -> Result<()>;

    /// Deletes a meta record; whether it existed.
    fn meta_delete(&self, name: &str) -> Result<bool>;

    /// Runs `f` as one step inside the enclosing write transaction: if it
    /// fails, what it did is undone and the transaction goes on.
    fn savepoint(&self, f: &mut dyn FnMut() -> Result<()>) -> Result<()>;
}

impl dyn Rows + '_ {
    /// Reads the live row under `key` and opens it with `f`.
    pub(crate) fn get<R>(
        &self,
        key: &[u8],
        f: impl FnOnce(RowRef<'_>) -> Result<R>,
    ) -> Result<Option<R>> {
        let mut f = Some(f);
        let mut out = None;
        self.read(key, true, &mut once(&mut f, &mut out))?;
        Ok(out)
    }

    /// Hands the head of the live row under `key` (name and expiry; the
    /// value is left empty and never read) to `f`.
    pub(crate) fn head<R>(
        &self,
        key: &[u8],
        f: impl FnOnce(RowRef<'_>) -> Result<R>,
    ) -> Result<Option<R>> {
        let mut f = Some(f);
        let mut out = None;
        self.read(key, false, &mut once(&mut f, &mut out))?;
        Ok(out)
    }

    /// Deletes the row under `key`, handing it to `f` if it was alive.
    /// Run it inside a write transaction when `f` can fail, so a failure
    /// puts the row back.
    pub(crate) fn take<R>(
        &self,
        key: &[u8],
        f: impl FnOnce(RowRef<'_>) -> Result<R>,
    ) -> Result<Option<R>> {
        let mut f = Some(f);
        let mut out = None;
        self.delete(key, &mut once(&mut f, &mut out))?;
        Ok(out)
    }

    /// Hands the row with this id, alive or not, to `f`.
    pub(crate) fn get_id<R>(
        &self,
        id: i64,
        f: impl FnOnce(RowRef<'_>) -> Result<R>,
    ) -> Result<Option<R>> {
        let mut f = Some(f);
        let mut out = None;
        self.read_id(id, &mut once(&mut f, &mut out))?;
        Ok(out)
    }

    /// Runs `f` as a savepoint (see [`Rows::savepoint`]).
    pub(crate) fn step<R>(&self, f: impl FnOnce() -> Result<R>) -> Result<R> {
        let mut f = Some(f);
        let mut out = None;
        self.savepoint(&mut || {
            if let Some(f) = f.take() {
                out = Some(f()?);
            }
            Ok(())
        })?;
        out.ok_or(Error::Corrupt {
            detail: "the storage engine skipped an operation",
        })
    }

    /// Refuses a new expiry `at` that this operation's time has already
    /// passed because the clock is behind the vault's clock mark: the entry
    /// would be acknowledged and never seen. (With the mark not ahead, a
    /// time to live that ran out while the write waited is just a short
    /// life.)
    pub(crate) fn check_new_expiry(&self, at: i64) -> Result<()> {
        let (now, clock) = (self.now(), self.clock());
        if at > now || now <= clock {
            return Ok(());
        }
        Err(Error::ClockBehind {
            behind_secs: now.abs_diff(clock).div_ceil(1_000),
        })
    }
}

/// Adapts a one-shot row callback to the engine's `FnMut`: the first row
/// is handed to `f`, its answer kept in `out`.
fn once<'a, R, F: FnOnce(RowRef<'_>) -> Result<R>>(
    f: &'a mut Option<F>,
    out: &'a mut Option<R>,
) -> impl FnMut(RowRef<'_>) -> Result<()> + 'a {
    move |row| {
        if let Some(f) = f.take() {
            *out = Some(f(row)?);
        }
        Ok(())
    }
}
