//! One stored row, as the storage engine hands it up and the row codec reads
//! it: the vocabulary the two layers share without either naming the other.

/// One borrowed row, handed to a callback so values are read without a copy.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RowRef<'r> {
    /// The stored key (the name in a plain vault, its blind index otherwise).
    pub(crate) key: &'r [u8],
    /// The sealed name (NULL in a plain vault).
    pub(crate) name: Option<&'r [u8]>,
    /// Expiry in ms since the epoch; `None` = never.
    pub(crate) expires_at: Option<i64>,
    /// The stored value bytes (empty when the read asked for no value).
    pub(crate) value: &'r [u8],
}

/// A row's name and value columns sealed again, for a new expiry.
#[derive(Debug)]
pub(crate) struct Resealed {
    /// The new `name` column.
    pub(crate) name: Option<Vec<u8>>,
    /// The new `value` column.
    pub(crate) value: Vec<u8>,
}
