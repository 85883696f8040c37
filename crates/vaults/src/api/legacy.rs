//! Files written by the original Python `vaults` module, and their
//! conversion into a plain vault.
//!
//! The original kept one SQLite table, `dict (key BLOB PRIMARY KEY, value
//! BLOB)`, each key and value a marker byte and a payload: `M` then msgpack,
//! or `P` then pickle. Opening such a file as a vault is
//! [`Error::LegacyFormat`]; [`read`] decodes it without changing it, and
//! [`migrate`] writes a new-format vault in its place, keeping the original
//! beside it as `NAME.db.legacy`.
//!
//! Pickle is never run here (unpickling executes code chosen by whoever
//! wrote the file): a pickled item comes back as [`LegacyItem::Pickled`],
//! and only a caller that can unpickle, and chose to, converts it.

use std::path::{Path, PathBuf};

pub use crate::codec::legacy::LegacyItem;
use crate::codec::legacy::decode_item;
use crate::engine::sqlite::legacy::read_rows;
use crate::{Error, Result, Store, Vault};

/// One entry of a legacy file: its key and its value, each decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct LegacyEntry {
    /// The key (a `str` for every known caller of the original).
    pub key: LegacyItem,
    /// The value.
    pub value: LegacyItem,
}

/// Whether `path` is a file of the original module.
///
/// ```
/// # let dir = tempfile::tempdir()?;
/// let path = dir.path().join("app.db");
/// vaults::Vault::create(&path)?;
/// assert!(!vaults::legacy::is_legacy(&path)?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`Error::VaultNotFound`] when there is no file, or a storage error.
pub fn is_legacy(path: impl AsRef<Path>) -> Result<bool> {
    match read_rows_checked(path.as_ref(), false) {
        Ok(_) => Ok(true),
        Err(Error::NotAVault { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Every entry of the legacy file at `path`, decoded; the file is opened
/// read-only and not changed.
///
/// ```
/// # let dir = tempfile::tempdir()?;
/// # let path = dir.path().join("old.db");
/// # let c = rusqlite::Connection::open(&path)?;
/// # c.execute("CREATE TABLE dict (key BLOB PRIMARY KEY, value BLOB)", [])?;
/// # c.execute("INSERT INTO dict VALUES (x'4da4686f7374', x'4da96c6f63616c686f7374')", [])?;
/// # drop(c);
/// use vaults::legacy::{self, LegacyItem};
///
/// let entries = legacy::read(&path)?; // {"host": "localhost"}, written by the original
/// assert_eq!(entries[0].key, LegacyItem::Value("host".into()));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`Error::LegacyUnsupported`] when the file is not a legacy file or a blob
/// does not decode.
pub fn read(path: impl AsRef<Path>) -> Result<Vec<LegacyEntry>> {
    let path = path.as_ref();
    read_rows_checked(path, true).map_err(|e| not_legacy(e, path))
}

/// [`Error::NotAVault`] from reading a file as a legacy one, said as what it
/// means here.
fn not_legacy(e: Error, path: &Path) -> Error {
    match e {
        Error::NotAVault { .. } => Error::LegacyUnsupported {
            reason: format!(
                "{} is not a file of the original Python vaults module",
                path.display()
            ),
        },
        other => other,
    }
}

fn read_rows_checked(path: &Path, decode: bool) -> Result<Vec<LegacyEntry>> {
    let rows = read_rows(path)?;
    if !decode {
        return Ok(Vec::new());
    }
    rows.iter()
        .map(|(k, v)| {
            Ok(LegacyEntry {
                key: decode_item(k)?,
                value: decode_item(v)?,
            })
        })
        .collect()
}

/// Replaces the legacy file at `path` with a plain vault holding `entries`,
/// keeping the original as `PATH.legacy`; returns that path.
///
/// The new vault is written in full beside the original first; the original
/// is then linked to `PATH.legacy` and the new file renamed over `PATH`, so
/// at every instant `PATH` is either the whole old file or the whole new one.
/// Run again after a crash, it starts over.
///
/// ```
/// # let dir = tempfile::tempdir()?;
/// # let path = dir.path().join("old.db");
/// # let c = rusqlite::Connection::open(&path)?;
/// # c.execute("CREATE TABLE dict (key BLOB PRIMARY KEY, value BLOB)", [])?;
/// # drop(c);
/// use vaults::{Store, Vault};
///
/// let kept = vaults::legacy::migrate(&path, [("host".to_owned(), "localhost".into())])?;
/// assert!(kept.ends_with("old.db.legacy"));
/// assert_eq!(Vault::open(&path)?.get::<String>("host")?.as_deref(), Some("localhost"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`Error::LegacyUnsupported`] when `path` is not a legacy file or
/// `PATH.legacy` already holds another file, a name or value error from storing `entries`, or an I/O error.
/// Nothing at `PATH` changes on error.
pub fn migrate(
    path: impl AsRef<Path>,
    entries: impl IntoIterator<Item = (String, ciborium::Value)>,
) -> Result<PathBuf> {
    let path = path.as_ref();
    read_rows(path).map_err(|e| not_legacy(e, path))?;
    let kept = with_suffix(path, ".legacy");
    if kept.exists() && !same_file(path, &kept)? {
        return Err(Error::LegacyUnsupported {
            reason: format!("{} already exists; move it away first", kept.display()),
        });
    }
    let fresh = with_suffix(path, ".migrating");
    if fresh.exists() {
        // Ours, left by an earlier run that stopped before its rename.
        crate::engine::sqlite::remove_vault_files(&fresh)?;
    }
    let vault = Vault::create(&fresh)?;
    let written = vault.put_many(entries);
    let closed = vault.close();
    if let Err(e) = written.and(closed) {
        crate::engine::sqlite::remove_vault_files(&fresh)?;
        return Err(e);
    }
    if !kept.exists() {
        std::fs::hard_link(path, &kept)?;
    }
    std::fs::rename(&fresh, path)?;
    if let Some(dir) = path.parent() {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(kept)
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn same_file(a: &Path, b: &Path) -> Result<bool> {
    use std::os::unix::fs::MetadataExt;
    let (a, b) = (std::fs::metadata(a)?, std::fs::metadata(b)?);
    Ok(a.dev() == b.dev() && a.ino() == b.ino())
}
