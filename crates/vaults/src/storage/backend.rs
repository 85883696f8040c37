//! The seam between the public [`Store`](crate::Store) API and a connection:
//! how an operation gets its rows, inside which kind of transaction.

use rusqlite::Connection;

use super::envelope::Envelope;
use super::rows::Rows;
use crate::Result;

/// What an operation needs from SQLite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// One read statement: it is its own snapshot.
    Read,
    /// Several reads that must agree: `BEGIN DEFERRED`.
    Snapshot,
    /// One write statement with no read before it: autocommit.
    Single,
    /// A read-then-write or several writes: `BEGIN IMMEDIATE`, committed on
    /// `Ok`, rolled back on `Err` or panic.
    Write,
}

/// Implemented by every handle that offers the [`Store`](crate::Store) API.
///
/// Sealed: it lives in a private module, so only this crate implements it.
pub trait Backend {
    /// How names and values are stored.
    type Env: Envelope;

    /// The envelope.
    fn env(&self) -> &Self::Env;

    /// The time an operation started now would see (ms).
    fn now_ms(&self) -> i64;

    /// Runs `f` on this handle's rows in `mode`.
    fn with_rows<R>(&self, mode: Mode, f: impl FnOnce(&Rows<'_>) -> Result<R>) -> Result<R>;
}

/// Runs `f` between `begin` and `commit`, undoing with `undo` if `f` fails or
/// panics.
pub(crate) fn scoped<R>(
    conn: &Connection,
    begin: &str,
    commit: &str,
    undo: &'static str,
    f: impl FnOnce() -> Result<R>,
) -> Result<R> {
    conn.prepare_cached(begin)?.execute([])?;
    let guard = Undo { conn, sql: undo };
    let out = f()?;
    conn.prepare_cached(commit)?.execute([])?;
    std::mem::forget(guard);
    Ok(out)
}

/// Undoes an open transaction or savepoint when dropped (on error or unwind).
struct Undo<'c> {
    conn: &'c Connection,
    sql: &'static str,
}

impl Drop for Undo<'_> {
    fn drop(&mut self) {
        if let Err(e) = self.conn.execute_batch(self.sql) {
            tracing::warn!(error = %e, "rolling back failed");
        }
    }
}
