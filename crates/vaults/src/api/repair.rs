//! Repair: finding the rows of an encrypted vault that do not open under
//! its keys, and deleting them.
//!
//! Such a row was planted from another vault, edited, or relabelled with
//! another key generation. Reads that meet one fail loudly (a listing
//! cannot tell what else it would hide), so until it is gone `keys`,
//! `items` and [`rotate`](EncryptedVault::rotate) fail too. Its secret
//! cannot be read by anyone holding this vault's keys, so deleting it loses
//! nothing that could be recovered here.

use std::fmt;

use super::encrypted::EncryptedVault;
use super::op::Op;
use crate::crypto::{aead, meta};
use crate::engine::Mode;
use crate::row::RowRef;
use crate::{Error, Result};

/// A row that fails to open, as [`EncryptedVault::unreadable_rows`] lists
/// it: where it is and what failed, never what it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct UnreadableRow {
    /// The row's SQLite rowid: the only name it has, since its own does
    /// not open.
    pub rowid: i64,
    /// Whether the sealed name fails to open (which also hides its expiry).
    pub name_fails: bool,
    /// Whether the sealed value fails to open.
    pub value_fails: bool,
    /// The key generation the sealed name claims, when it is not the
    /// vault's current one (a relabelled row, or one a rotation never saw).
    pub other_generation: Option<u32>,
    /// Whether a column is longer than any vault writes and SQLite reads:
    /// the row is deleted unread, and neither its name nor its value opens.
    pub too_large: bool,
}

impl UnreadableRow {
    /// A row with a column too long to read.
    pub(crate) fn too_large(rowid: i64) -> UnreadableRow {
        UnreadableRow {
            rowid,
            name_fails: true,
            value_fails: true,
            other_generation: None,
            too_large: true,
        }
    }
}

impl fmt::Display for UnreadableRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.too_large {
            return write!(f, "row {}: too large to open", self.rowid);
        }
        let what = match (self.name_fails, self.value_fails) {
            (true, true) => "its sealed name and value fail to open",
            (true, false) => "its sealed name fails to open",
            _ => "its sealed value fails to open",
        };
        write!(f, "row {}: {what}", self.rowid)?;
        if let Some(generation) = self.other_generation {
            write!(f, " (labelled key generation {generation})")?;
        }
        Ok(())
    }
}

impl EncryptedVault {
    /// Every row, live or expired, whose sealed name or value fails to open
    /// under this vault's keys, by rowid.
    ///
    /// ```
    /// use vaults::{EncryptedVault, KdfParams, Passphrase, Store};
    ///
    /// let pass = Passphrase::new("correct horse battery staple")?;
    /// let vault = EncryptedVault::create_in_memory(&pass, KdfParams::MIN)?;
    /// vault.put("token", "abc")?;
    /// assert!(vault.unreadable_rows()?.is_empty());
    /// # Ok::<(), vaults::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::KeyRotated`] if another handle rotated the key; a storage
    /// error.
    pub fn unreadable_rows(&self) -> Result<Vec<UnreadableRow>> {
        self.vault.run(Mode::Snapshot, |op| {
            let rows = op.rows;
            // Measured, never read: SQLite refuses to read them.
            let mut found: Vec<UnreadableRow> = rows
                .too_long_ids()?
                .into_iter()
                .map(UnreadableRow::too_large)
                .collect();
            let mut last = 0;
            loop {
                let mut seen = 0;
                rows.scan_ids(last, BATCH, &mut |rowid, row| {
                    seen += 1;
                    last = rowid;
                    found.extend(examine(op, rowid, &row)?);
                    Ok(())
                })?;
                if seen < BATCH {
                    found.sort_by_key(|r| r.rowid);
                    return Ok(found);
                }
            }
        })
    }

    /// Deletes the rows with these rowids that still fail to open, in one
    /// write transaction, and returns them. Each is checked again under the
    /// write lock, so a row that was replaced since it was listed (and now
    /// opens) is kept, and an id that names no row is ignored.
    ///
    /// ```
    /// use vaults::{EncryptedVault, KdfParams, Passphrase, Store};
    ///
    /// let pass = Passphrase::new("correct horse battery staple")?;
    /// let vault = EncryptedVault::create_in_memory(&pass, KdfParams::MIN)?;
    /// let rowids: Vec<i64> = vault.unreadable_rows()?.iter().map(|r| r.rowid).collect();
    /// let dropped = vault.drop_unreadable(&rowids)?;
    /// assert_eq!(dropped.len(), rowids.len());
    /// # Ok::<(), vaults::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::KeyRotated`] if another handle rotated the key; a storage
    /// error (nothing is deleted then).
    pub fn drop_unreadable(&self, rowids: &[i64]) -> Result<Vec<UnreadableRow>> {
        let dropped = self.vault.run(Mode::Write, |op| {
            let rows = op.rows;
            let mut dropped = Vec::new();
            for &rowid in rowids {
                let bad = match rows.is_too_long(rowid)? {
                    None => None,
                    Some(true) => Some(UnreadableRow::too_large(rowid)),
                    Some(false) => rows
                        .get_id(rowid, |row| examine(op, rowid, &row))?
                        .flatten(),
                };
                if let Some(bad) = bad {
                    rows.delete_id(rowid)?;
                    dropped.push(bad);
                }
            }
            Ok(dropped)
        })?;
        if !dropped.is_empty() {
            tracing::info!(rows = dropped.len(), "deleted unreadable rows");
        }
        Ok(dropped)
    }
}

/// Rows examined per statement.
const BATCH: usize = 512;

/// What fails to open in one row, if anything. Errors other than a failed
/// integrity check (storage, another handle's rotation) are the caller's.
pub(crate) fn examine(op: &Op<'_>, rowid: i64, row: &RowRef<'_>) -> Result<Option<UnreadableRow>> {
    let name_fails = fails(op.open_name(row).map(drop))?;
    let value_fails = fails(op.open_value(row).map(drop))?;
    if !name_fails && !value_fails {
        return Ok(None);
    }
    let current = op.rows.meta_get(meta::META_GENERATION)?;
    let current = meta::parse_generation(current.as_deref())?;
    let other_generation = row
        .name
        .and_then(|sealed| aead::generation(sealed).ok())
        .filter(|&g| g != current);
    Ok(Some(UnreadableRow {
        rowid,
        name_fails,
        value_fails,
        other_generation,
        too_large: false,
    }))
}

/// Whether an open failed its integrity check, or met a sealed value longer
/// than any `put` makes (or opening to a plaintext over the value cap);
/// other errors pass through.
fn fails(opened: Result<()>) -> Result<bool> {
    match opened {
        Ok(()) => Ok(false),
        Err(Error::Integrity(_) | Error::ValueTooLarge { .. }) => Ok(true),
        Err(e) => Err(e),
    }
}
