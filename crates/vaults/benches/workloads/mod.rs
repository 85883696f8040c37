//! The workloads measured by the divan benches (`benches/ops.rs`) and the
//! comparison program (`examples/compare/`), each done three ways on the
//! same schema: raw rusqlite running the vault's own SQL with its pragmas
//! (the limit of this design), `Vault`, and `EncryptedVault`.
//!
//! Included by path (`#[path = "../benches/workloads/mod.rs"] mod workloads;`)
//! so that both measure exactly the same thing.
#![allow(
    dead_code,
    clippy::expect_used,
    reason = "each includer uses a subset; a failing benchmark setup aborts"
)]

use std::fmt;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};
use vaults::{
    Durability, EncryptedVault, KdfParams, LockedVault, OpenOptions, Passphrase, Store, Vault,
};

/// Entries in every measured store.
pub const ENTRIES: usize = 100_000;
/// Value sizes measured, in bytes.
pub const SIZES: [usize; 2] = [100, 4096];
/// The passphrase of every encrypted store (floor Argon2 parameters: unlock
/// time is measured on its own, with the defaults).
pub const PASSPHRASE: &str = "benchmark passphrase";

/// Who does the work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Way {
    /// rusqlite with the vault's SQL and pragmas, no wrapper.
    Raw,
    /// `Vault`.
    Plain,
    /// `EncryptedVault`.
    Encrypted,
}

impl Way {
    pub const ALL: [Way; 3] = [Way::Raw, Way::Plain, Way::Encrypted];
}

impl fmt::Display for Way {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Way::Raw => "raw",
            Way::Plain => "vault",
            Way::Encrypted => "encrypted",
        })
    }
}

// The names, values and orders, shared with the peers (`peers/`).
#[path = "../../../../peers/src/data.rs"]
mod data;
pub use data::*;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The vault's statements, copied from `src/storage/rows.rs`.
const SQL_GET: &str = "SELECT name, expires_at, value FROM entries \
     WHERE key = ?1 AND (expires_at IS NULL OR expires_at > ?2)";
const SQL_UPSERT: &str = "INSERT INTO entries (key, name, expires_at, value) VALUES (?1, ?2, ?3, ?4) \
     ON CONFLICT (key) DO UPDATE SET \
     rowid = CASE WHEN expires_at <= ?5 THEN (SELECT max(rowid) + 1 FROM entries) ELSE rowid END, \
     name = excluded.name, expires_at = excluded.expires_at, value = excluded.value";
const SQL_NAMES: &str = "SELECT key, name, expires_at FROM entries \
     WHERE key > ?1 AND (expires_at IS NULL OR expires_at > ?2) ORDER BY key LIMIT ?3";
const SQL_DELETE: &str = "DELETE FROM entries WHERE key = ?1 RETURNING name, expires_at, value";
/// `cleanup_expired`'s statement.
pub const SQL_CLEANUP: &str = "DELETE FROM entries WHERE expires_at <= ?1";

/// A raw connection with the vault's pragmas (`src/storage/schema.rs`).
pub fn raw_connection(path: &Path, durability: Durability) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.pragma_update(None, "trusted_schema", false)?;
    conn.pragma_update(None, "cell_size_check", true)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    let sync = match durability {
        Durability::Normal => "NORMAL",
        _ => "FULL",
    };
    conn.pragma_update(None, "synchronous", sync)?;
    conn.pragma_update(None, "secure_delete", true)?;
    // The vault's default page cache (`OpenOptions::page_cache`), in KiB.
    conn.pragma_update(None, "cache_size", -65_536)?;
    Ok(conn)
}

/// One store, done one of the three ways.
pub enum Target {
    Raw(Connection),
    Plain(Vault),
    Encrypted(EncryptedVault),
}

pub type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

impl Target {
    /// Creates an empty store of `way` at `path` (durable commits).
    pub fn create(way: Way, path: &Path) -> Result<Target> {
        // The raw store is a vault file too: same schema, same pragmas.
        Vault::open_or_create(path)?.close()?;
        Ok(match way {
            Way::Raw => Target::Raw(raw_connection(path, Durability::Full)?),
            Way::Plain => Target::Plain(Vault::open_or_create(path)?),
            Way::Encrypted => {
                std::fs::remove_file(path)?;
                let pass = Passphrase::new(PASSPHRASE)?;
                Target::Encrypted(EncryptedVault::create(path, &pass, KdfParams::MIN)?)
            }
        })
    }

    /// Another handle on the store at `path`, with `durability`.
    pub fn open(way: Way, path: &Path, durability: Durability) -> Result<Target> {
        let options = OpenOptions::new().durability(durability);
        Ok(match way {
            Way::Raw => Target::Raw(raw_connection(path, durability)?),
            Way::Plain => Target::Plain(options.open(path)?),
            Way::Encrypted => Target::Encrypted(
                LockedVault::open_with(&options, path)?.unlock(&Passphrase::new(PASSPHRASE)?)?,
            ),
        })
    }

    /// Creates the store of `way` at `path` holding `entries` entries of
    /// `size` bytes.
    pub fn filled(way: Way, path: &Path, entries: usize, size: usize) -> Result<Target> {
        let target = Target::create(way, path)?;
        let items: Vec<(String, Vec<u8>)> =
            (0..entries).map(|i| (name(i), value(i, size))).collect();
        target.bulk_put(&items)?;
        Ok(target)
    }

    /// The value under `name`, if any (its length, so nothing is optimised
    /// away and nothing is kept).
    pub fn get(&self, name: &str) -> Result<Option<usize>> {
        Ok(match self {
            Target::Raw(conn) => {
                let mut stmt = conn.prepare_cached(SQL_GET)?;
                stmt.query_row((name.as_bytes(), now_ms()), |r| {
                    r.get_ref(2)?
                        .as_blob()
                        .map(<[u8]>::to_vec)
                        .map_err(Into::into)
                })
                .optional()?
                .map(|v| v.len())
            }
            Target::Plain(v) => v.get_bytes(name)?.map(|v| v.len()),
            Target::Encrypted(v) => v.get_bytes(name)?.map(|v| v.len()),
        })
    }

    /// Stores `value` under `name` in one commit.
    pub fn put(&self, name: &str, value: &[u8]) -> Result<()> {
        match self {
            Target::Raw(conn) => {
                let mut stmt = conn.prepare_cached(SQL_UPSERT)?;
                stmt.execute((name.as_bytes(), None::<&[u8]>, None::<i64>, value, now_ms()))?;
            }
            Target::Plain(v) => v.put_bytes(name, value)?,
            Target::Encrypted(v) => v.put_bytes(name, value)?,
        }
        Ok(())
    }

    /// Stores every item in one transaction.
    pub fn bulk_put(&self, items: &[(String, Vec<u8>)]) -> Result<()> {
        let pairs = || items.iter().map(|(n, v)| (n, v));
        match self {
            Target::Raw(conn) => {
                raw_upsert_all(
                    conn,
                    items.iter().map(|(n, v)| (n.as_bytes(), None, &v[..])),
                )?;
            }
            Target::Plain(v) => v.put_many_bytes(pairs())?,
            Target::Encrypted(v) => v.put_many_bytes(pairs())?,
        }
        Ok(())
    }

    /// Removes every one of `names` in one transaction.
    pub fn remove_all(&self, names: &[String]) -> Result<()> {
        fn each<S: Store>(s: &S, names: &[String]) -> vaults::Result<()> {
            s.transaction(|tx| names.iter().try_for_each(|n| tx.remove(n).map(drop)))
        }
        match self {
            Target::Raw(conn) => {
                let tx =
                    rusqlite::Transaction::new_unchecked(conn, TransactionBehavior::Immediate)?;
                {
                    let mut stmt = tx.prepare_cached(SQL_DELETE)?;
                    for name in names {
                        let mut rows = stmt.query([name.as_bytes()])?;
                        while rows.next()?.is_some() {}
                    }
                }
                tx.commit()?;
            }
            Target::Plain(v) => each(v, names)?,
            Target::Encrypted(v) => each(v, names)?,
        }
        Ok(())
    }

    /// Every live name, sorted.
    pub fn keys(&self) -> Result<Vec<String>> {
        Ok(match self {
            Target::Raw(conn) => {
                let mut stmt = conn.prepare_cached(SQL_NAMES)?;
                let mut rows = stmt.query((&[] as &[u8], now_ms(), -1))?;
                let mut names = Vec::new();
                while let Some(row) = rows.next()? {
                    names.push(String::from_utf8(row.get_ref(0)?.as_blob()?.to_vec())?);
                }
                names
            }
            Target::Plain(v) => v.keys()?,
            Target::Encrypted(v) => v.keys()?,
        })
    }
}

/// Raw rusqlite writing `rows` (stored key, `name` column, value) in one
/// transaction with the vault's upsert: a bulk put with no wrapper.
pub fn raw_upsert_all<'r>(
    conn: &Connection,
    rows: impl Iterator<Item = (&'r [u8], Option<&'r [u8]>, &'r [u8])>,
) -> Result<()> {
    let tx = rusqlite::Transaction::new_unchecked(conn, TransactionBehavior::Immediate)?;
    {
        let mut stmt = tx.prepare_cached(SQL_UPSERT)?;
        let now = now_ms();
        for (key, name, value) in rows {
            stmt.execute((key, name, None::<i64>, value, now))?;
        }
    }
    tx.commit()?;
    Ok(())
}

/// Reads and decodes every row to find those expired at `now`, then deletes
/// them by rowid: what a store without an expiry index has to do (the
/// Python module's approach). Returns how many it deleted.
pub fn full_scan_delete(conn: &mut Connection, now: i64) -> Result<usize> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut expired = Vec::new();
    {
        let mut stmt = tx.prepare("SELECT rowid, expires_at, value FROM entries")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let value: ciborium::Value = ciborium::from_reader(row.get_ref(2)?.as_blob()?)?;
            let expires_at: Option<i64> = row.get(1)?;
            if expires_at.is_some_and(|at| at <= now) {
                expired.push(row.get::<_, i64>(0)?);
            }
            std::hint::black_box(value);
        }
        let mut delete = tx.prepare("DELETE FROM entries WHERE rowid = ?1")?;
        for rowid in &expired {
            delete.execute([rowid])?;
        }
    }
    tx.commit()?;
    Ok(expired.len())
}

/// Runs `f` and returns how long it took.
pub fn timed<T>(f: impl FnOnce() -> Result<T>) -> Result<(Duration, T)> {
    let start = std::time::Instant::now();
    let out = f()?;
    Ok((start.elapsed(), out))
}
