//! Running a closure inside a transaction or savepoint, undone when it
//! fails or panics.

use rusqlite::Connection;

use crate::Result;

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
