//! Copying a vault between storages (a file and a server, or two of
//! either) as it is stored: sealed rows and meta records move unopened, so
//! no key is needed and nothing is decrypted on the way.

use std::path::Path;

use zeroize::Zeroizing;

use super::options::OpenOptions;
use crate::engine::{Engine, Init, Mode};
use crate::row::RowRef;
use crate::{Error, Kind, Result};

/// What [`copy_vault`] copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Copied {
    /// The vault's kind.
    pub kind: Kind,
    /// How many live entries were copied.
    pub entries: u64,
}

/// One stored row, owned (values wiped when dropped: a plain vault's are
/// plaintext).
struct OwnedRow {
    key: Vec<u8>,
    name: Option<Vec<u8>>,
    expires_at: Option<i64>,
    value: Zeroizing<Vec<u8>>,
}

/// Meta records every new vault gets from its engine: not copied.
const ENGINE_RECORDS: [&str; 3] = ["vault_id", "kind", "clock_mark"];

/// Copies the vault at `from` (a file path or a `postgres://` URL) to a new
/// vault at `to`, as stored: the same vault id, meta records and sealed
/// rows, so an encrypted copy opens with the same passphrases and keyring
/// slots, and no key is asked for. Expired entries are left behind; live
/// ones keep their expiry and their order. The source is read in one
/// snapshot; the copy is written in one transaction (all or nothing).
///
/// ```
/// use vaults::{Store, Vault};
///
/// let dir = tempfile::tempdir()?;
/// let (from, to) = (dir.path().join("a.db"), dir.path().join("b.db"));
/// Vault::create(&from)?.put("k", "v")?;
/// let copied = vaults::copy_vault(&vaults::OpenOptions::new(), &from, &to)?;
/// assert_eq!(copied.entries, 1);
/// assert_eq!(Vault::open(&to)?.get::<String>("k")?.as_deref(), Some("v"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`Error::VaultNotFound`] when `from` does not exist;
/// [`Error::VaultExists`] when `to` does;
/// the errors of opening either (a file that is not a vault, a server that
/// is unavailable).
pub fn copy_vault(
    options: &OpenOptions,
    from: impl AsRef<Path>,
    to: impl AsRef<Path>,
) -> Result<Copied> {
    let source = open_any(options, from.as_ref())?;
    let kind = source.kind();
    let (meta, rows) = source.with(Mode::Snapshot, |r| {
        let meta: Vec<(String, Vec<u8>)> = r
            .meta_list("")?
            .into_iter()
            .filter(|(name, _)| !ENGINE_RECORDS.contains(&name.as_str()))
            .collect();
        let mut rows = Vec::new();
        r.scan_all(true, &mut |row| {
            rows.push(OwnedRow {
                key: row.key.to_vec(),
                name: row.name.map(<[u8]>::to_vec),
                expires_at: row.expires_at,
                value: Zeroizing::new(row.value.to_vec()),
            });
            Ok(())
        })?;
        Ok((meta, rows))
    })?;
    let init = Init {
        vault_id: Some(source.vault_id()),
        meta: &meta,
    };
    let target = options.engine(Some(to.as_ref()), kind, Some(&init), true)?;
    if target.vault_id() != source.vault_id() {
        return Err(Error::VaultExists {
            path: super::shown_path(to.as_ref()),
        });
    }
    let refs: Vec<RowRef<'_>> = rows
        .iter()
        .map(|row| RowRef {
            key: &row.key,
            name: row.name.as_deref(),
            expires_at: row.expires_at,
            value: &row.value,
        })
        .collect();
    target.with(Mode::Write, |r| r.upsert_many(&refs))?;
    target.close()?;
    source.close()?;
    Ok(Copied {
        kind,
        entries: u64::try_from(rows.len()).unwrap_or(u64::MAX),
    })
}

/// Opens the storage at `path` as whichever kind it is.
fn open_any(options: &OpenOptions, path: &Path) -> Result<Box<dyn Engine>> {
    match options.engine(Some(path), Kind::Plain, None, false) {
        Err(Error::WrongKind { found, .. }) => options.engine(Some(path), found, None, false),
        other => other,
    }
}
