//! Every SQL statement on entries and meta: SQLite's [`Rows`]. The layers
//! above work with rows (stored key, sealed or plain name, expiry, value
//! bytes) and never write SQL.
//!
//! A row is *alive* when `expires_at` is NULL or later than `now`; reads skip
//! the rest, so an expired entry is invisible without being deleted.

use std::cell::Cell;

use rusqlite::{Connection, FileControl, MAIN_DB, OptionalExtension};

use super::scoped::scoped;
use crate::Result;
use crate::engine::{IdRowFn, RowFn, Rows};
use crate::row::{Resealed, RowRef};

/// Row-level access on one connection at one instant.
///
/// `now` is read once per operation (or transaction), so every statement of
/// an operation agrees on which rows are alive. It is the later of the clock
/// and the vault's clock mark; `clock` is the clock alone, which new
/// expiries are computed from (a mark edited forward must not lengthen them).
///
/// Reads of entries note in `expired` the latest expiry among the expired
/// rows they skipped (`i64::MIN` for none): a read raises the stored mark
/// only when that is past it, so a read that hid nothing never writes.
#[derive(Clone, Copy)]
pub(crate) struct SqliteRows<'c> {
    pub(crate) conn: &'c Connection,
    /// The connection's number within its handle: part of the change token.
    serial: u32,
    pub(crate) now: i64,
    pub(crate) clock: i64,
    expired: &'c Cell<i64>,
}

const ALIVE: &str = "(expires_at IS NULL OR expires_at > ?2)";

/// Longest column, in bytes, that a connection lets SQLite read
/// (`SQLITE_LIMIT_LENGTH`, set by `schema::harden`); no vault writes one.
const LONGEST_COLUMN: usize = crate::limits::MAX_STORED_LEN;

/// The longest of a row's columns. `octet_length` reads only the record
/// header, never the content: it works on a row too long to read.
const ROW_LENGTH: &str =
    "max(octet_length(key), ifnull(octet_length(name), 0), octet_length(value))";

/// [`LONGEST_COLUMN`] as an SQL parameter.
fn longest() -> i64 {
    i64::try_from(LONGEST_COLUMN).unwrap_or(i64::MAX)
}

/// The row a scan selected as `key, name, expires_at[, value]` from column
/// `first` on (the value left empty unless `values`).
fn scanned<'r>(row: &'r rusqlite::Row<'_>, first: usize, values: bool) -> Result<RowRef<'r>> {
    Ok(RowRef {
        key: row.get_ref(first)?.as_blob()?,
        name: row.get_ref(first + 1)?.as_blob_or_null()?,
        expires_at: row.get(first + 2)?,
        value: match values {
            true => row.get_ref(first + 3)?.as_blob()?,
            false => &[],
        },
    })
}

impl<'c> SqliteRows<'c> {
    pub(crate) fn new(
        conn: &'c Connection,
        serial: u32,
        now: i64,
        clock: i64,
        expired: &'c Cell<i64>,
    ) -> Self {
        Self {
            conn,
            serial,
            now,
            clock,
            expired,
        }
    }

    /// Whether a row with this expiry is alive now; an expired one is noted.
    fn alive(&self, expires_at: Option<i64>) -> bool {
        let alive = crate::expiry::alive(expires_at, self.now);
        if let (false, Some(at)) = (alive, expires_at) {
            self.expired.set(self.expired.get().max(at));
        }
        alive
    }

    /// Notes the latest expiry among all expired rows (one step down the
    /// expiry index), for a read that skips expired rows in bulk.
    fn note_expired(&self) -> Result<()> {
        let latest: Option<i64> = self
            .conn
            .prepare_cached(
                "SELECT expires_at FROM entries WHERE expires_at <= ?1 \
                 ORDER BY expires_at DESC LIMIT 1",
            )?
            .query_row([self.now], |r| r.get(0))
            .optional()?;
        if let Some(at) = latest {
            self.expired.set(self.expired.get().max(at));
        }
        Ok(())
    }
}

impl Rows for SqliteRows<'_> {
    fn now(&self) -> i64 {
        self.now
    }

    fn clock(&self) -> i64 {
        self.clock
    }

    fn read(&self, key: &[u8], values: bool, f: RowFn<'_>) -> Result<bool> {
        // Aliveness is decided here, not in SQL, so a hidden row is noted.
        let sql = match values {
            true => "SELECT name, expires_at, value FROM entries WHERE key = ?1",
            false => "SELECT name, expires_at FROM entries WHERE key = ?1",
        };
        let mut stmt = self.conn.prepare_cached(sql)?;
        let mut rows = stmt.query([key])?;
        match rows.next()? {
            Some(row) if self.alive(row.get(1)?) => {
                f(RowRef {
                    key,
                    name: row.get_ref(0)?.as_blob_or_null()?,
                    expires_at: row.get(1)?,
                    value: match values {
                        true => row.get_ref(2)?.as_blob()?,
                        false => &[],
                    },
                })?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// Inserts or replaces the row under `key`.
    ///
    /// Replacing a live row keeps its rowid (its place in insertion order);
    /// replacing an expired one gives it a new rowid, as if it were new, so
    /// `pop_item` sees it as the latest insert. One statement: a durable put
    /// costs one commit.
    fn upsert(
        &self,
        key: &[u8],
        name: Option<&[u8]>,
        expires_at: Option<i64>,
        value: &[u8],
    ) -> Result<()> {
        let mut stmt = self.conn.prepare_cached(
            "INSERT INTO entries (key, name, expires_at, value) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (key) DO UPDATE SET \
             rowid = CASE WHEN expires_at <= ?5 THEN (SELECT max(rowid) + 1 FROM entries) ELSE rowid END, \
             name = excluded.name, expires_at = excluded.expires_at, value = excluded.value",
        )?;
        stmt.execute((key, name, expires_at, value, self.now))?;
        Ok(())
    }

    /// Changes the expiry of the row under `key` and, when given, its name
    /// and value columns (sealed again for the new expiry).
    fn set_expiry(
        &self,
        key: &[u8],
        expires_at: Option<i64>,
        resealed: Option<&Resealed>,
    ) -> Result<()> {
        match resealed {
            None => {
                let mut stmt = self
                    .conn
                    .prepare_cached("UPDATE entries SET expires_at = ?2 WHERE key = ?1")?;
                stmt.execute((key, expires_at))?;
            }
            Some(r) => {
                let mut stmt = self.conn.prepare_cached(
                    "UPDATE entries SET expires_at = ?2, name = ?3, value = ?4 WHERE key = ?1",
                )?;
                stmt.execute((key, expires_at, r.name.as_deref(), r.value.as_slice()))?;
            }
        }
        Ok(())
    }

    /// Deletes the row under `key` and hands it to `f` if it was alive.
    ///
    /// An expired row is deleted too, silently. Run it inside a write
    /// transaction when `f` can fail, so a failure puts the row back.
    fn delete(&self, key: &[u8], f: RowFn<'_>) -> Result<bool> {
        let mut stmt = self.conn.prepare_cached(
            "DELETE FROM entries WHERE key = ?1 RETURNING name, expires_at, value",
        )?;
        let mut rows = stmt.query([key])?;
        let out = match rows.next()? {
            None => false,
            Some(row) => {
                let expires_at: Option<i64> = row.get(1)?;
                let alive = self.alive(expires_at);
                if alive {
                    f(RowRef {
                        key,
                        name: row.get_ref(0)?.as_blob_or_null()?,
                        expires_at,
                        value: row.get_ref(2)?.as_blob()?,
                    })?;
                }
                alive
            }
        };
        // Step to the end so the DELETE completes before the statement is reset.
        while rows.next()?.is_some() {}
        Ok(out)
    }

    /// Number of live rows: all rows minus expired ones (counted through the
    /// expiry index, so the cost is one count of the table).
    fn count(&self) -> Result<u64> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT (SELECT count(*) FROM entries) - count(*), max(expires_at) \
             FROM entries WHERE expires_at <= ?1",
        )?;
        let (n, latest): (i64, Option<i64>) =
            stmt.query_row([self.now], |r| Ok((r.get(0)?, r.get(1)?)))?;
        if let Some(at) = latest {
            self.expired.set(self.expired.get().max(at));
        }
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Hands up to `limit` live rows with keys after `after` (all when
    /// `None`), in key order, to `f`. With `values == false` the value is
    /// empty and its pages are never read. Returns the number of rows seen.
    fn scan(
        &self,
        after: Option<&[u8]>,
        limit: Option<usize>,
        values: bool,
        f: RowFn<'_>,
    ) -> Result<usize> {
        let sql = match values {
            true => format!(
                "SELECT key, name, expires_at, value FROM entries \
                 WHERE key > ?1 AND {ALIVE} ORDER BY key LIMIT ?3"
            ),
            false => format!(
                "SELECT key, name, expires_at FROM entries \
                 WHERE key > ?1 AND {ALIVE} ORDER BY key LIMIT ?3"
            ),
        };
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let limit = limit.map_or(-1, |l| i64::try_from(l).unwrap_or(i64::MAX));
        // Every key sorts after the empty blob.
        let mut rows = stmt.query((after.unwrap_or(&[]), self.now, limit))?;
        let mut seen = 0;
        while let Some(row) = rows.next()? {
            f(scanned(row, 0, values)?)?;
            seen += 1;
        }
        self.note_expired()?;
        Ok(seen)
    }

    /// Hands every live row to `f` in table order (the order of insertion),
    /// which reads the table's pages one after another. With
    /// `values == false` the value is empty and its pages are never read.
    fn scan_all(&self, values: bool, f: RowFn<'_>) -> Result<()> {
        let sql = match values {
            true => {
                "SELECT key, name, expires_at, value FROM entries \
                 WHERE expires_at IS NULL OR expires_at > ?1"
            }
            false => {
                "SELECT key, name, expires_at FROM entries \
                 WHERE expires_at IS NULL OR expires_at > ?1"
            }
        };
        let mut stmt = self.conn.prepare_cached(sql)?;
        let mut rows = stmt.query([self.now])?;
        while let Some(row) = rows.next()? {
            f(scanned(row, 0, values)?)?;
        }
        self.note_expired()
    }

    /// Hands up to `limit` rows, alive or not, with rowids after `after`, in
    /// rowid order, to `f` (for rotation, which rewrites every row once).
    /// Rows too long to read are skipped: see [`Rows::too_long_ids`].
    fn scan_ids(&self, after: i64, limit: usize, f: IdRowFn<'_>) -> Result<()> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT rowid, key, name, expires_at, value FROM entries \
             WHERE rowid > ?1 AND {ROW_LENGTH} <= ?3 ORDER BY rowid LIMIT ?2"
        ))?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut rows = stmt.query((after, limit, longest()))?;
        while let Some(row) = rows.next()? {
            f(row.get(0)?, scanned(row, 1, true)?)?;
        }
        Ok(())
    }

    /// Hands the row with this rowid, alive or not, to `f` (for repair,
    /// which names rows by rowid since their names may not open).
    fn read_id(&self, rowid: i64, f: RowFn<'_>) -> Result<bool> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT key, name, expires_at, value FROM entries WHERE rowid = ?1")?;
        let mut rows = stmt.query([rowid])?;
        match rows.next()? {
            None => Ok(false),
            Some(row) => f(scanned(row, 0, true)?).map(|()| true),
        }
    }

    /// The rowids of the rows, alive or not, with a column longer than
    /// [`LONGEST_COLUMN`]: only a planted row has one, and SQLite refuses to
    /// read it (for repair, which deletes them unread).
    fn too_long_ids(&self) -> Result<Vec<i64>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT rowid FROM entries WHERE {ROW_LENGTH} > ?1 ORDER BY rowid"
        ))?;
        let rowids = stmt.query_map([longest()], |r| r.get(0))?;
        Ok(rowids.collect::<rusqlite::Result<_>>()?)
    }

    /// Whether the row with this rowid has a column longer than
    /// [`LONGEST_COLUMN`]; `None` when there is no such row.
    fn is_too_long(&self, rowid: i64) -> Result<Option<bool>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {ROW_LENGTH} > ?2 FROM entries WHERE rowid = ?1"
        ))?;
        Ok(stmt
            .query_row((rowid, longest()), |r| r.get(0))
            .optional()?)
    }

    /// Deletes the row with this rowid; whether there was one.
    fn delete_id(&self, rowid: i64) -> Result<bool> {
        let n = self
            .conn
            .prepare_cached("DELETE FROM entries WHERE rowid = ?1")?
            .execute([rowid])?;
        Ok(n > 0)
    }

    /// Number of rows, alive or not.
    fn count_all(&self) -> Result<u64> {
        let n: i64 = self
            .conn
            .prepare_cached("SELECT count(*) FROM entries")?
            .query_row([], |r| r.get(0))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Rewrites the row with this rowid (for rotation).
    fn rewrite(&self, rowid: i64, key: &[u8], name: Option<&[u8]>, value: &[u8]) -> Result<()> {
        let mut stmt = self.conn.prepare_cached(
            "UPDATE entries SET key = ?2, name = ?3, value = ?4 WHERE rowid = ?1",
        )?;
        stmt.execute((rowid, key, name, value))?;
        Ok(())
    }

    /// The key of the most recently inserted live row.
    fn last_key(&self) -> Result<Option<Vec<u8>>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT key FROM entries WHERE expires_at IS NULL OR expires_at > ?1 \
             ORDER BY rowid DESC LIMIT 1",
        )?;
        Ok(stmt.query_row([self.now], |r| r.get(0)).optional()?)
    }

    /// Deletes every row.
    fn clear(&self) -> Result<u64> {
        let n = self
            .conn
            .prepare_cached("DELETE FROM entries")?
            .execute([])?;
        Ok(n as u64)
    }

    /// Deletes expired rows through the expiry index; returns how many.
    fn delete_expired(&self) -> Result<u64> {
        let n = self
            .conn
            .prepare_cached("DELETE FROM entries WHERE expires_at <= ?1")?
            .execute([self.now])?;
        Ok(n as u64)
    }

    /// SQLite's data version of the main file for this connection: it
    /// changes whenever a transaction commits, on this connection or on any
    /// other (seen when this one next starts reading), and may change at
    /// other times too; an unchanged version means nothing committed. Read
    /// between statements it belongs to the snapshot the last one saw.
    /// Versions of two connections say nothing of each other, so the token
    /// carries the connection's serial number above the version.
    fn change_token(&self) -> Result<u64> {
        let mut version: std::ffi::c_uint = 0;
        self.conn
            .file_control(Some(MAIN_DB), FileControl::DataVersion(&mut version))?;
        Ok(u64::from(self.serial) << 32 | u64::from(version))
    }

    /// Reads a meta record.
    fn meta_get(&self, name: &str) -> Result<Option<Vec<u8>>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT value FROM meta WHERE name = ?1")?;
        Ok(stmt.query_row([name], |r| r.get(0)).optional()?)
    }

    /// Reads every meta record whose name starts with `prefix`, sorted by name.
    fn meta_list(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT name, value FROM meta WHERE substr(name, 1, length(?1)) = ?1 ORDER BY name",
        )?;
        let rows = stmt.query_map([prefix], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Writes a meta record.
    fn meta_put(&self, name: &str, value: &[u8]) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO meta (name, value) VALUES (?1, ?2) \
                 ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            )?
            .execute((name, value))?;
        Ok(())
    }

    /// Deletes a meta record; whether it existed.
    fn meta_delete(&self, name: &str) -> Result<bool> {
        let n = self
            .conn
            .prepare_cached("DELETE FROM meta WHERE name = ?1")?
            .execute([name])?;
        Ok(n > 0)
    }

    fn savepoint(&self, f: &mut dyn FnMut() -> Result<()>) -> Result<()> {
        scoped(
            self.conn,
            "SAVEPOINT vaults_op",
            "RELEASE vaults_op",
            "ROLLBACK TO vaults_op; RELEASE vaults_op",
            f,
        )
    }
}
