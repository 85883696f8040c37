//! SQLCipher through rusqlite, as a user of it would write a key-value store
//! with expiry: one table keyed by the name, an index on the expiry, WAL, the
//! key given by `PRAGMA key` (SQLCipher 4's defaults: PBKDF2-HMAC-SHA512,
//! 256,000 iterations, at open, not timed; AES-256-CBC and an HMAC-SHA512 per
//! 4 KiB page).

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

use crate::{Peer, Result};

/// The key every peer file is opened with.
const PASSPHRASE: &str = "benchmark passphrase";

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS kv (
        name TEXT PRIMARY KEY, value BLOB NOT NULL, expires_at INTEGER);
    CREATE INDEX IF NOT EXISTS kv_expires ON kv (expires_at) WHERE expires_at IS NOT NULL;";
const GET: &str =
    "SELECT value FROM kv WHERE name = ?1 AND (expires_at IS NULL OR expires_at > ?2)";
const UPSERT: &str = "INSERT INTO kv (name, value, expires_at) VALUES (?1, ?2, ?3) \
    ON CONFLICT (name) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at";
const NAMES: &str = "SELECT name FROM kv WHERE expires_at IS NULL OR expires_at > ?1 ORDER BY name";
const DELETE: &str = "DELETE FROM kv WHERE name = ?1";
const CLEANUP: &str = "DELETE FROM kv WHERE expires_at <= ?1";

pub(crate) struct Sqlcipher {
    conn: Connection,
    path: PathBuf,
}

impl Sqlcipher {
    /// Opens (creating) the file at `path` with a page cache of `cache_kib`
    /// KiB (0: SQLCipher's default) and `synchronous` FULL or NORMAL.
    pub(crate) fn open(path: &Path, cache_kib: usize, synchronous: &str) -> Result<Sqlcipher> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "key", PASSPHRASE)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", synchronous)?;
        if cache_kib > 0 {
            conn.pragma_update(None, "cache_size", -i64::try_from(cache_kib)?)?;
        }
        conn.execute_batch(SCHEMA)?;
        Ok(Sqlcipher {
            conn,
            path: path.to_owned(),
        })
    }

    fn upsert_all<'a>(
        &self,
        rows: impl Iterator<Item = (&'a str, &'a [u8], Option<i64>)>,
    ) -> Result<()> {
        let tx = rusqlite::Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
        {
            let mut stmt = tx.prepare_cached(UPSERT)?;
            for row in rows {
                stmt.execute(row)?;
            }
        }
        tx.commit()?;
        Ok(())
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl Peer for Sqlcipher {
    fn bulk_put(&mut self, items: &[(String, Vec<u8>)]) -> Result<()> {
        self.upsert_all(items.iter().map(|(n, v)| (n.as_str(), &v[..], None)))
    }

    fn remove_all(&mut self, names: &[String]) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut stmt = tx.prepare_cached(DELETE)?;
            for name in names {
                stmt.execute([name])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn get(&mut self, name: &str) -> Result<Option<usize>> {
        let mut stmt = self.conn.prepare_cached(GET)?;
        Ok(stmt
            .query_row((name, now_ms()), |r| Ok(r.get_ref(0)?.as_blob()?.to_vec()))
            .optional()?
            .map(|v| v.len()))
    }

    fn put(&mut self, name: &str, value: &[u8]) -> Result<()> {
        let mut stmt = self.conn.prepare_cached(UPSERT)?;
        stmt.execute((name, value, None::<i64>))?;
        Ok(())
    }

    fn names(&mut self) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare_cached(NAMES)?;
        let mut rows = stmt.query([now_ms()])?;
        let mut names = Vec::new();
        while let Some(row) = rows.next()? {
            names.push(row.get(0)?);
        }
        Ok(names)
    }

    fn version(&mut self) -> Result<String> {
        let cipher: String = self
            .conn
            .query_row("PRAGMA cipher_version", [], |r| r.get(0))?;
        Ok(format!(
            "SQLCipher {cipher} (SQLite {})",
            rusqlite::version()
        ))
    }

    fn bytes(&mut self) -> Result<u64> {
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(std::fs::metadata(&self.path)?.len())
    }

    fn cleanup_fill(&mut self, n: usize, every: usize, at: i64) -> Result<()> {
        let rows: Vec<(String, Vec<u8>, Option<i64>)> = (0..n)
            .map(|i| {
                let expires = match (i % every == 0, i % 2 == 0) {
                    (true, _) => Some(at),
                    (false, true) => None,
                    (false, false) => Some(at + 86_400_000),
                };
                (crate::data::name(i), crate::data::cleanup_value(i), expires)
            })
            .collect();
        self.upsert_all(rows.iter().map(|(n, v, e)| (n.as_str(), &v[..], *e)))
    }

    fn cleanup(&mut self, now: i64) -> Result<usize> {
        Ok(self.conn.execute(CLEANUP, [now])?)
    }
}
