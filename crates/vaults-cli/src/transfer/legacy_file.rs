//! Files of the original Python `vaults` module (`--format legacy`): its
//! msgpack values convert exactly (to the same CBOR the Python package
//! writes); pickled ones are refused, since unpickling runs code chosen by
//! whoever wrote the file (the Python package's `migrate_legacy` can take
//! them, with `allow_pickle=True`).

use std::path::Path;

use vaults::legacy::{self, LegacyItem};

use super::Item;
use crate::error::{Error, Result};
use crate::values::Stored;

/// Whether `head` (the start of a file) is an SQLite database.
pub fn is_sqlite(head: &[u8]) -> bool {
    head.starts_with(b"SQLite format 3\0")
}

/// Every entry of the legacy file at `path`, ready to store.
pub fn read_legacy(path: &Path) -> Result<Vec<Item>> {
    if path.as_os_str() == "-" {
        return Err(Error::other(
            "a legacy vault is an SQLite file: give its path, not stdin",
        ));
    }
    let entries = legacy::read(path)?;
    let pickled = entries
        .iter()
        .filter(|e| {
            matches!(e.key, LegacyItem::Pickled(_)) || matches!(e.value, LegacyItem::Pickled(_))
        })
        .count();
    if pickled > 0 {
        return Err(Error::other(format!(
            "{pickled} of its {} entries are pickled, and unpickling runs code from the file: \
             nothing was imported (if you trust the file, convert it with the Python package: \
             vaults.migrate_legacy(path, allow_pickle=True))",
            entries.len()
        )));
    }
    entries
        .into_iter()
        .map(|entry| {
            let LegacyItem::Value(ciborium::Value::Text(name)) = entry.key else {
                return Err(Error::other(
                    "a key of the legacy file is not text: nothing was imported",
                ));
            };
            let LegacyItem::Value(value) = entry.value else {
                return Err(Error::other("a value of the legacy file is pickled"));
            };
            let mut cbor = Vec::new();
            ciborium::into_writer(&value, &mut cbor)
                .map_err(|_| Error::other("a value of the legacy file cannot be encoded"))?;
            Ok(Item {
                name,
                value: Stored::Raw(cbor),
                expires_at: None,
            })
        })
        .collect()
}
