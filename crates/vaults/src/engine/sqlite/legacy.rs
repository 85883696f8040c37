//! Files of the original Python `vaults` module: one table
//! `dict (key BLOB PRIMARY KEY, value BLOB)` and nothing else, where each key
//! and each value is a marker byte (`M` msgpack, `P` pickle) and its payload.
//!
//! Recognising one lets an open say "convert it" instead of "not a vault";
//! reading one hands the raw blobs up, for the codec to decode.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use super::{file, schema};
use crate::{Error, Result};

/// Whether the database on `conn` has the original module's shape: a table
/// named `dict` with columns `key` and `value`, and no `meta` table of ours.
pub(crate) fn has_legacy_shape(conn: &Connection) -> Result<bool> {
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    if tables.iter().any(|t| t == "meta") || !tables.iter().any(|t| t == "dict") {
        return Ok(false);
    }
    let columns: Vec<String> = conn
        .prepare("SELECT name FROM pragma_table_info('dict')")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(columns.len() == 2
        && columns.iter().any(|c| c == "key")
        && columns.iter().any(|c| c == "value"))
}

/// Every `(key, value)` blob pair of the legacy file at `path`, read in one
/// read transaction through a read-only connection (the file is not changed).
///
/// # Errors
/// [`Error::VaultNotFound`] when there is no file, [`Error::NotAVault`] when
/// it is not a legacy file, or a storage error.
pub(crate) fn read_rows(path: &Path) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
    schema::check_file(path)?;
    let conn = file::sqlite_open(|| {
        Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
    })
    .map_err(|e| file::not_a_vault_if_notadb(Error::from(e), Some(path)))?;
    let not_a_legacy_file = || Error::NotAVault {
        path: path.to_owned(),
    };
    let tx = conn.unchecked_transaction()?;
    if !has_legacy_shape(&tx).map_err(|e| file::not_a_vault_if_notadb(e, Some(path)))? {
        return Err(not_a_legacy_file());
    }
    let rows = tx
        .prepare("SELECT key, value FROM dict")?
        .query_map([], |r| Ok((blob(r, 0)?, blob(r, 1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    tx.finish()?;
    Ok(rows)
}

/// Column `i` as bytes: the original stored blobs, but SQLite's dynamic
/// typing lets any value in; text is taken as its bytes, NULL as empty.
fn blob(row: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Vec<u8>> {
    use rusqlite::types::ValueRef;
    Ok(match row.get_ref(i)? {
        ValueRef::Blob(b) | ValueRef::Text(b) => b.to_vec(),
        ValueRef::Null => Vec::new(),
        ValueRef::Integer(n) => n.to_string().into_bytes(),
        ValueRef::Real(x) => x.to_string().into_bytes(),
    })
}
