//! Reading and writing an encrypted vault's metadata records through the
//! engine (their encoding and MAC are `crypto::meta`'s).

use crate::Result;
use crate::crypto::keys::{SubKeys, VAULT_ID_LEN};
use crate::crypto::meta::{Meta, SLOT_PREFIX};
use crate::engine::Rows;

/// Reads the records. Structure is checked here; authenticity only by
/// [`Meta::verify`], once a key is at hand.
///
/// # Errors
/// As [`Meta::parse`], or a storage error.
pub(crate) fn read(rows: &dyn Rows) -> Result<Meta> {
    Meta::parse(&rows.meta_list("")?)
}

/// Replaces the stored records with those of `meta`, under a MAC by `keys`
/// (inside a write transaction).
pub(crate) fn write(
    rows: &dyn Rows,
    meta: &Meta,
    keys: &SubKeys,
    vault_id: &[u8; VAULT_ID_LEN],
) -> Result<()> {
    for (name, _) in rows.meta_list(SLOT_PREFIX)? {
        rows.meta_delete(&name)?;
    }
    for (name, value) in meta.records(keys, vault_id) {
        rows.meta_put(&name, &value)?;
    }
    Ok(())
}
