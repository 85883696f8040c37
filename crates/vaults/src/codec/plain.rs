//! The codec of a plain vault: the stored key is the name, and the value
//! column holds the value as it is.

use crate::row::RowRef;
use crate::{Error, Result};

/// The name of a plain row: its key, which must be UTF-8.
pub(super) fn open_name(row: &RowRef<'_>) -> Result<String> {
    std::str::from_utf8(row.key)
        .map(str::to_owned)
        .map_err(|_| Error::Corrupt {
            detail: "a stored name is not UTF-8",
        })
}

/// The value of a plain row, borrowed from it.
pub(super) fn open_value<'r>(row: &RowRef<'r>) -> Result<&'r [u8]> {
    // A value planted in the file may exceed what `put` accepts.
    super::cbor::check_len(row.value.len())?;
    Ok(row.value)
}
