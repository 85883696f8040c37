//! Every SQL statement on a server vault's entries and meta records:
//! PostgreSQL's [`Rows`]. Each statement names its vault (`vault = $1`) and
//! decides which rows are alive at the operation's instant in SQL: the
//! server's `now()` (the start of the transaction, so every statement of
//! an operation agrees), or the handle's clock when one was given (tests).
//!
//! A row is *alive* when `expires_at` is NULL or later than that instant.

use std::cell::{Cell, RefCell};

use postgres::Row;

use super::pool::Conn;
use crate::engine::{IdRowFn, RowFn, Rows};
use crate::row::{Resealed, RowRef};
use crate::{Error, Result};

/// The advisory lock class of every vault lock (ASCII "VALT"); the object id
/// is the vault's number. A write transaction holds it exclusively, a
/// single-statement write shared.
pub(crate) const LOCK_CLASS: i32 = 0x5641_4C54;

/// Longest column a vault writes; a longer one was planted and is refused
/// unread (as SQLite's length limit does).
const LONGEST: usize = crate::limits::MAX_STORED_LEN;

/// Rows per statement of a bulk upsert (a bound on one statement's size).
const UPSERT_CHUNK: usize = 2_000;

/// The operation's instant in SQL, from parameter `$n` (NULL: the server's).
fn now_sql(n: u8) -> String {
    format!("coalesce(${n}::int8, floor(extract(epoch FROM now()) * 1000)::int8)")
}

/// Whether a row is alive at the instant of parameter `$n`.
fn alive_sql(n: u8) -> String {
    format!("(e.expires_at IS NULL OR e.expires_at > {})", now_sql(n))
}

/// Selects a row as `too_long, key, name, expires_at, value` (the value
/// empty unless `values`); a planted over-long column is not sent.
fn columns(values: bool) -> String {
    let value = match values {
        true => "e.value",
        false => "''::bytea",
    };
    format!(
        "greatest(octet_length(e.key), coalesce(octet_length(e.name), 0), octet_length(e.value)) > {LONGEST} AS too_long, \
         CASE WHEN octet_length(e.key) <= {LONGEST} THEN e.key END, \
         CASE WHEN coalesce(octet_length(e.name), 0) <= {LONGEST} THEN e.name END, \
         e.expires_at, \
         CASE WHEN octet_length(e.value) <= {LONGEST} THEN {value} END"
    )
}

/// The row selected by [`columns`] from column `first` on.
fn row_ref(row: &Row, first: usize) -> Result<RowRef<'_>> {
    let too_long: Option<bool> = row.try_get(first).map_err(|_| wrong_type())?;
    if too_long.unwrap_or(false) {
        return Err(Error::Corrupt {
            detail: "a stored row is longer than any vault stores",
        });
    }
    Ok(RowRef {
        key: row.try_get(first + 1).map_err(|_| wrong_type())?,
        name: row.try_get(first + 2).map_err(|_| wrong_type())?,
        expires_at: row.try_get(first + 3).map_err(|_| wrong_type())?,
        value: row.try_get(first + 4).map_err(|_| wrong_type())?,
    })
}

fn wrong_type() -> Error {
    Error::Corrupt {
        detail: "a stored column has the wrong type",
    }
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// Row-level access on one connection, for one operation.
pub(crate) struct PgRows<'c, 'k> {
    pub(crate) conn: &'c RefCell<&'k mut Conn>,
    /// The vault's number in `vaults.vaults`.
    pub(crate) vault: i32,
    /// The handle's clock for this operation, or `None` for the server's.
    pub(crate) at: Option<i64>,
    /// The operation's instant as this handle knows it (the server's time
    /// estimated from its offset, or the handle's clock).
    pub(crate) now: i64,
    /// The clock new expiries are computed from.
    pub(crate) clock: i64,
    /// Whether a write must take the vault's lock shared (a write outside
    /// a write transaction, which holds it exclusively).
    pub(crate) shared_lock: bool,
    /// The vault's meta version as last read in this operation.
    pub(crate) token: &'c Cell<Option<u64>>,
    /// Whether lookups read the meta version too (an encrypted vault's
    /// generation check needs it; a plain vault never asks).
    pub(crate) with_token: bool,
}

impl<'k> PgRows<'_, 'k> {
    fn conn(&self) -> std::cell::RefMut<'_, &'k mut Conn> {
        self.conn.borrow_mut()
    }

    /// `WITH` clause that takes the vault's lock shared, when needed, and
    /// the condition that makes a statement wait for it.
    fn lock_clause(&self) -> (&'static str, &'static str) {
        /// `LOCK_CLASS`, spelled out: SQL text is built at compile time.
        const SHARED_LOCK: &str =
            "WITH l AS (SELECT pg_advisory_xact_lock_shared(1447119956, $1) AS held) ";
        const _: () = assert!(LOCK_CLASS == 1_447_119_956);
        match self.shared_lock {
            true => (SHARED_LOCK, " AND EXISTS (SELECT 1 FROM l)"),
            false => ("", ""),
        }
    }

    /// The operation's instant as an SQL literal (numbers only).
    fn now_literal(&self) -> String {
        match self.at {
            Some(ms) => format!("{ms}::int8"),
            None => "floor(extract(epoch FROM now()) * 1000)::int8".into(),
        }
    }

    /// Runs a `DELETE` of many rows (`sql`, whose only values are numbers
    /// of ours). Outside a write transaction it runs in one of its own,
    /// after the vault's lock is taken shared, all in one round trip: its
    /// snapshot is then taken after the lock, so it sees everything a write
    /// transaction that held the lock committed (a `DELETE` that waited for
    /// the lock inside its own statement would miss that transaction's new
    /// rows yet delete the rows it changed).
    fn delete_many(&self, sql: &str) -> Result<u64> {
        if !self.shared_lock {
            return self.conn().batch_count(sql);
        }
        let vault = self.vault;
        let counts = self.conn().atomic(&format!(
            "BEGIN; SELECT pg_advisory_xact_lock_shared({LOCK_CLASS}, {vault}); {sql}; COMMIT"
        ))?;
        counts.get(2).copied().ok_or(Error::Corrupt {
            detail: "the server did not say how many rows it deleted",
        })
    }

    /// Notes a meta change of this transaction: the version was raised.
    fn bump_meta_version(&self) -> Result<()> {
        let row = self.conn().query_opt(
            "UPDATE vaults.vaults SET meta_version = meta_version + 1 WHERE vault = $1 \
             RETURNING meta_version",
            &[&self.vault],
        )?;
        let v: Option<i64> = row
            .map(|r| r.try_get(0))
            .transpose()
            .map_err(|_| wrong_type())?;
        self.token.set(v.map(count));
        Ok(())
    }
}

impl Rows for PgRows<'_, '_> {
    fn now(&self) -> i64 {
        self.now
    }

    fn clock(&self) -> i64 {
        self.clock
    }

    /// One statement. In an encrypted vault it also reads the vault's meta
    /// version, so a missed lookup confirms its key generation without
    /// another round trip.
    fn read(&self, key: &[u8], values: bool, f: RowFn<'_>) -> Result<bool> {
        if !self.with_token {
            let sql = format!(
                "SELECT {} FROM vaults.entries e WHERE e.vault = $1 AND e.key = $2 AND {}",
                columns(values),
                alive_sql(3)
            );
            let row = self
                .conn()
                .query_opt(&sql, &[&self.vault, &key, &self.at])?;
            return match row {
                None => Ok(false),
                Some(row) => f(row_ref(&row, 0)?).map(|()| true),
            };
        }
        let sql = format!(
            "SELECT v.meta_version, e.key IS NOT NULL, {} FROM vaults.vaults v \
             LEFT JOIN vaults.entries e ON e.vault = v.vault AND e.key = $2 AND {} \
             WHERE v.vault = $1",
            columns(values),
            alive_sql(3)
        );
        let row = self
            .conn()
            .query_opt(&sql, &[&self.vault, &key, &self.at])?;
        let Some(row) = row else {
            return Err(Error::Corrupt {
                detail: "the vault was deleted from the server while open",
            });
        };
        let version: i64 = row.try_get(0).map_err(|_| wrong_type())?;
        self.token.set(Some(count(version)));
        let found: bool = row.try_get(1).map_err(|_| wrong_type())?;
        if !found {
            return Ok(false);
        }
        f(row_ref(&row, 2)?)?;
        Ok(true)
    }

    /// Inserts or replaces the row under `key`; replacing an expired row
    /// gives it a new id, as if it were new. One statement.
    fn upsert(
        &self,
        key: &[u8],
        name: Option<&[u8]>,
        expires_at: Option<i64>,
        value: &[u8],
    ) -> Result<()> {
        let (with, _) = self.lock_clause();
        let from = match self.shared_lock {
            true => " FROM l",
            false => "",
        };
        let sql = format!(
            "{with}INSERT INTO vaults.entries AS e (vault, key, name, expires_at, value) \
             SELECT $1, $2, $3, $4, $5{from} \
             ON CONFLICT (vault, key) DO UPDATE SET \
             id = CASE WHEN e.expires_at <= {} THEN nextval('vaults.entry_ids') ELSE e.id END, \
             name = excluded.name, expires_at = excluded.expires_at, value = excluded.value",
            now_sql(6)
        );
        self.conn().execute(
            &sql,
            &[&self.vault, &key, &name, &expires_at, &value, &self.at],
        )?;
        Ok(())
    }

    /// Many rows in one statement per [`UPSERT_CHUNK`] (arrays `unnest`ed
    /// in order, so ids follow it); of two rows under one key only the
    /// later is sent (one statement may not update a row twice).
    fn upsert_many(&self, rows: &[RowRef<'_>]) -> Result<()> {
        if self.shared_lock {
            for r in rows {
                self.upsert(r.key, r.name, r.expires_at, r.value)?;
            }
            return Ok(());
        }
        let mut seen = std::collections::HashSet::new();
        let mut last: Vec<&RowRef<'_>> = rows.iter().rev().filter(|r| seen.insert(r.key)).collect();
        last.reverse();
        let sql = format!(
            "INSERT INTO vaults.entries AS e (vault, key, name, expires_at, value) \
             SELECT $1, u.k, u.n, u.x, u.v \
             FROM unnest($2::bytea[], $3::bytea[], $4::int8[], $5::bytea[]) AS u (k, n, x, v) \
             ON CONFLICT (vault, key) DO UPDATE SET \
             id = CASE WHEN e.expires_at <= {} THEN nextval('vaults.entry_ids') ELSE e.id END, \
             name = excluded.name, expires_at = excluded.expires_at, value = excluded.value",
            now_sql(6)
        );
        for chunk in last.chunks(UPSERT_CHUNK) {
            let keys: Vec<&[u8]> = chunk.iter().map(|r| r.key).collect();
            let names: Vec<Option<&[u8]>> = chunk.iter().map(|r| r.name).collect();
            let expiries: Vec<Option<i64>> = chunk.iter().map(|r| r.expires_at).collect();
            let values: Vec<&[u8]> = chunk.iter().map(|r| r.value).collect();
            self.conn().execute(
                &sql,
                &[&self.vault, &keys, &names, &expiries, &values, &self.at],
            )?;
        }
        Ok(())
    }

    fn set_expiry(
        &self,
        key: &[u8],
        expires_at: Option<i64>,
        resealed: Option<&Resealed>,
    ) -> Result<()> {
        let (with, wait) = self.lock_clause();
        match resealed {
            None => {
                let sql = format!(
                    "{with}UPDATE vaults.entries SET expires_at = $3 WHERE vault = $1 AND key = $2{wait}"
                );
                self.conn()
                    .execute(&sql, &[&self.vault, &key, &expires_at])?;
            }
            Some(r) => {
                let sql = format!(
                    "{with}UPDATE vaults.entries SET expires_at = $3, name = $4, value = $5 \
                     WHERE vault = $1 AND key = $2{wait}"
                );
                let name = r.name.as_deref();
                let value = r.value.as_slice();
                self.conn()
                    .execute(&sql, &[&self.vault, &key, &expires_at, &name, &value])?;
            }
        }
        Ok(())
    }

    /// Deletes the row under `key` (alive or not) and hands it to `f` if it
    /// was alive; the server says which, at the operation's instant.
    fn delete(&self, key: &[u8], f: RowFn<'_>) -> Result<bool> {
        let (with, wait) = self.lock_clause();
        let sql = format!(
            "{with}DELETE FROM vaults.entries e WHERE e.vault = $1 AND e.key = $2{wait} \
             RETURNING {}, {}",
            alive_sql(3),
            columns(true)
        );
        let row = self
            .conn()
            .query_opt(&sql, &[&self.vault, &key, &self.at])?;
        let Some(row) = row else { return Ok(false) };
        let alive: bool = row.try_get(0).map_err(|_| wrong_type())?;
        if alive {
            f(row_ref(&row, 1)?)?;
        }
        Ok(alive)
    }

    fn count(&self) -> Result<u64> {
        let sql = format!(
            "SELECT count(*) FROM vaults.entries e WHERE e.vault = $1 AND {}",
            alive_sql(2)
        );
        let rows = self.conn().query(&sql, &[&self.vault, &self.at])?;
        let n: i64 = rows
            .first()
            .map(|r| r.try_get(0))
            .transpose()
            .map_err(|_| wrong_type())?
            .unwrap_or(0);
        Ok(count(n))
    }

    fn scan(
        &self,
        after: Option<&[u8]>,
        limit: Option<usize>,
        values: bool,
        f: RowFn<'_>,
    ) -> Result<usize> {
        let sql = format!(
            "SELECT {} FROM vaults.entries e WHERE e.vault = $1 AND e.key > $2 AND {} \
             ORDER BY e.key LIMIT $4",
            columns(values),
            alive_sql(3)
        );
        let limit = limit.map(|l| i64::try_from(l).unwrap_or(i64::MAX));
        let after: &[u8] = after.unwrap_or(&[]);
        let rows = self
            .conn()
            .query(&sql, &[&self.vault, &after, &self.at, &limit])?;
        for row in &rows {
            f(row_ref(row, 0)?)?;
        }
        Ok(rows.len())
    }

    /// Every live row, in insertion order (as SQLite's table order).
    fn scan_all(&self, values: bool, f: RowFn<'_>) -> Result<()> {
        let sql = format!(
            "SELECT {} FROM vaults.entries e WHERE e.vault = $1 AND {} ORDER BY e.id",
            columns(values),
            alive_sql(2)
        );
        let rows = self.conn().query(&sql, &[&self.vault, &self.at])?;
        for row in &rows {
            f(row_ref(row, 0)?)?;
        }
        Ok(())
    }

    fn last_key(&self) -> Result<Option<Vec<u8>>> {
        let sql = format!(
            "SELECT e.key FROM vaults.entries e WHERE e.vault = $1 AND {} \
             ORDER BY e.id DESC LIMIT 1",
            alive_sql(2)
        );
        let row = self.conn().query_opt(&sql, &[&self.vault, &self.at])?;
        row.map(|r| r.try_get(0))
            .transpose()
            .map_err(|_| wrong_type())
    }

    fn clear(&self) -> Result<u64> {
        let vault = self.vault;
        self.delete_many(&format!("DELETE FROM vaults.entries WHERE vault = {vault}"))
    }

    /// Deletes expired rows through the expiry index.
    fn delete_expired(&self) -> Result<u64> {
        let (vault, now) = (self.vault, self.now_literal());
        self.delete_many(&format!(
            "DELETE FROM vaults.entries WHERE expires_at <= {now} AND vault = {vault}"
        ))
    }

    fn scan_ids(&self, after: i64, limit: usize, f: IdRowFn<'_>) -> Result<()> {
        let sql = format!(
            "SELECT e.id, {} FROM vaults.entries e WHERE e.vault = $1 AND e.id > $2 \
             AND greatest(octet_length(e.key), coalesce(octet_length(e.name), 0), octet_length(e.value)) <= {LONGEST} \
             ORDER BY e.id LIMIT $3",
            columns(true)
        );
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self.conn().query(&sql, &[&self.vault, &after, &limit])?;
        for row in &rows {
            let id: i64 = row.try_get(0).map_err(|_| wrong_type())?;
            f(id, row_ref(row, 1)?)?;
        }
        Ok(())
    }

    fn read_id(&self, id: i64, f: RowFn<'_>) -> Result<bool> {
        let sql = format!(
            "SELECT {} FROM vaults.entries e WHERE e.vault = $1 AND e.id = $2",
            columns(true)
        );
        let row = self.conn().query_opt(&sql, &[&self.vault, &id])?;
        match row {
            None => Ok(false),
            Some(row) => f(row_ref(&row, 0)?).map(|()| true),
        }
    }

    fn too_long_ids(&self) -> Result<Vec<i64>> {
        let sql = format!(
            "SELECT e.id FROM vaults.entries e WHERE e.vault = $1 AND \
             greatest(octet_length(e.key), coalesce(octet_length(e.name), 0), octet_length(e.value)) > {LONGEST} \
             ORDER BY e.id"
        );
        let rows = self.conn().query(&sql, &[&self.vault])?;
        rows.iter()
            .map(|r| r.try_get(0).map_err(|_| wrong_type()))
            .collect()
    }

    fn is_too_long(&self, id: i64) -> Result<Option<bool>> {
        let sql = format!(
            "SELECT greatest(octet_length(e.key), coalesce(octet_length(e.name), 0), octet_length(e.value)) > {LONGEST} \
             FROM vaults.entries e WHERE e.vault = $1 AND e.id = $2"
        );
        let row = self.conn().query_opt(&sql, &[&self.vault, &id])?;
        row.map(|r| r.try_get(0))
            .transpose()
            .map_err(|_| wrong_type())
    }

    fn delete_id(&self, id: i64) -> Result<bool> {
        let n = self.conn().execute(
            "DELETE FROM vaults.entries WHERE vault = $1 AND id = $2",
            &[&self.vault, &id],
        )?;
        Ok(n > 0)
    }

    fn count_all(&self) -> Result<u64> {
        let rows = self.conn().query(
            "SELECT count(*) FROM vaults.entries WHERE vault = $1",
            &[&self.vault],
        )?;
        let n: i64 = rows
            .first()
            .map(|r| r.try_get(0))
            .transpose()
            .map_err(|_| wrong_type())?
            .unwrap_or(0);
        Ok(count(n))
    }

    fn rewrite(&self, id: i64, key: &[u8], name: Option<&[u8]>, value: &[u8]) -> Result<()> {
        self.conn().execute(
            "UPDATE vaults.entries SET key = $3, name = $4, value = $5 WHERE vault = $1 AND id = $2",
            &[&self.vault, &id, &key, &name, &value],
        )?;
        Ok(())
    }

    /// The vault's meta version: raised by every transaction that changes
    /// a meta record (a rotation, a slot change), which is all an
    /// encrypted vault's generation check needs. Read in the same round
    /// trip as the operation's lookup or lock where it can be.
    fn change_token(&self) -> Result<u64> {
        if let Some(t) = self.token.get() {
            return Ok(t);
        }
        let row = self.conn().query_opt(
            "SELECT meta_version FROM vaults.vaults WHERE vault = $1",
            &[&self.vault],
        )?;
        let v: i64 = row
            .map(|r| r.try_get(0))
            .transpose()
            .map_err(|_| wrong_type())?
            .ok_or(Error::Corrupt {
                detail: "the vault was deleted from the server while open",
            })?;
        // Outside a transaction the next statement may see a newer
        // version: only a transaction's (or a statement's) read is kept.
        Ok(count(v))
    }

    fn meta_get(&self, name: &str) -> Result<Option<Vec<u8>>> {
        let row = self.conn().query_opt(
            "SELECT value FROM vaults.meta WHERE vault = $1 AND name = $2",
            &[&self.vault, &name],
        )?;
        row.map(|r| r.try_get(0))
            .transpose()
            .map_err(|_| wrong_type())
    }

    fn meta_list(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>> {
        let rows = self.conn().query(
            "SELECT name, value FROM vaults.meta WHERE vault = $1 \
             AND left(name, length($2)) = $2 ORDER BY name COLLATE \"C\"",
            &[&self.vault, &prefix],
        )?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect::<std::result::Result<_, postgres::Error>>()
            .map_err(|_| wrong_type())
    }

    fn meta_put(&self, name: &str, value: &[u8]) -> Result<()> {
        self.conn().execute(
            "INSERT INTO vaults.meta (vault, name, value) VALUES ($1, $2, $3) \
             ON CONFLICT (vault, name) DO UPDATE SET value = excluded.value",
            &[&self.vault, &name, &value],
        )?;
        self.bump_meta_version()
    }

    fn meta_delete(&self, name: &str) -> Result<bool> {
        let n = self.conn().execute(
            "DELETE FROM vaults.meta WHERE vault = $1 AND name = $2",
            &[&self.vault, &name],
        )?;
        if n > 0 {
            self.bump_meta_version()?;
        }
        Ok(n > 0)
    }

    /// Runs `f` inside a savepoint, rolled back to when `f` fails or
    /// panics.
    fn savepoint(&self, f: &mut dyn FnMut() -> Result<()>) -> Result<()> {
        self.conn().batch("SAVEPOINT vaults_op")?;
        let undo = UndoSavepoint {
            rows: self,
            token: self.token.get(),
        };
        let out = f();
        match out {
            Ok(()) => {
                std::mem::forget(undo);
                self.conn().batch("RELEASE SAVEPOINT vaults_op")
            }
            Err(e) => {
                drop(undo);
                Err(e)
            }
        }
    }
}

/// Rolls back to the savepoint when dropped (on an error or a panic), and
/// forgets the meta version read since.
struct UndoSavepoint<'r, 'c, 'k> {
    rows: &'r PgRows<'c, 'k>,
    token: Option<u64>,
}

impl Drop for UndoSavepoint<'_, '_, '_> {
    fn drop(&mut self) {
        self.rows.token.set(self.token);
        let Ok(mut conn) = self.rows.conn.try_borrow_mut() else {
            return;
        };
        if let Err(e) = conn.batch("ROLLBACK TO SAVEPOINT vaults_op; RELEASE SAVEPOINT vaults_op") {
            tracing::warn!(error = %e, "rolling back to a savepoint failed");
        }
    }
}
