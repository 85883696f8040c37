//! The crate's one error type.
//!
//! Every message is lowercase, names no secret, no entry name and no value:
//! errors end up in logs and terminals. Paths of vault files do appear, since a
//! user needs them to act and they are not secret.

use std::fmt;
use std::path::PathBuf;

/// Which kind of vault a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Kind {
    /// Values and names stored as they are (`Vault`).
    Plain,
    /// Values and names sealed with a key (`EncryptedVault`).
    Encrypted,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Plain => "plain",
            Kind::Encrypted => "encrypted",
        })
    }
}

/// What failed an integrity check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Integrity {
    /// A sealed value failed to open: edited, moved, or from another vault.
    Entry,
    /// A sealed name failed to open.
    Name,
    /// The vault's metadata (slots, generation, id) fails its MAC.
    Metadata,
    /// A key slot is malformed.
    Slot,
    /// The vault's kind record says plain, but the file carries an
    /// encrypted vault's records: the kind was edited (it is outside the
    /// metadata MAC), and the file is never opened as plain.
    Kind,
}

impl fmt::Display for Integrity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Integrity::Entry => "an entry",
            Integrity::Name => "an entry's name",
            Integrity::Metadata => "the vault metadata",
            Integrity::Slot => "a key slot",
            Integrity::Kind => "the vault kind",
        })
    }
}

/// Everything that can go wrong in this crate.
///
/// Matching on it is the way to tell classes of failure apart: a missing vault
/// ([`Error::VaultNotFound`]), a wrong passphrase ([`Error::WrongPassphrase`]),
/// tampered data ([`Error::Integrity`]), contention ([`Error::Busy`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The vault file does not exist and the caller asked not to create it.
    #[error("no vault at {}", path.display())]
    VaultNotFound {
        /// Where it was looked for.
        path: PathBuf,
    },
    /// A vault already exists where a new one was to be created.
    #[error("a vault already exists at {}", path.display())]
    VaultExists {
        /// The existing file.
        path: PathBuf,
    },
    /// A vault name (under a [`crate::VaultDir`]) is not allowed.
    #[error("invalid vault name: {reason}")]
    InvalidVaultName {
        /// Why, without repeating the name.
        reason: &'static str,
    },
    /// An entry name is not allowed (empty, too long, or, for a write, with
    /// a control character).
    #[error("invalid entry name: {reason}")]
    InvalidName {
        /// Why, without repeating the name.
        reason: &'static str,
    },
    /// A value is larger than a vault stores.
    #[error("value of {len} bytes exceeds the limit of {limit} bytes")]
    ValueTooLarge {
        /// Size of the encoded value.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// The file is not a vault: another SQLite database, or not SQLite at all.
    #[error("{} is not a vault file", path.display())]
    NotAVault {
        /// The file.
        path: PathBuf,
    },
    /// The file was written by the original Python `vaults` module (a
    /// `dict` table of msgpack or pickle blobs): it must be migrated first
    /// (see [`crate::legacy`]).
    #[error(
        "{} was written by the original Python vaults module; convert it first \
         (Python: vaults.migrate_legacy(...); CLI: vaults import --format legacy FILE)",
        path.display()
    )]
    LegacyFormat {
        /// The file.
        path: PathBuf,
    },
    /// A file of the original Python module holds something this crate does
    /// not convert (a pickled value, a key that is not text, an unknown
    /// marker).
    #[error("cannot convert the legacy file: {reason}")]
    LegacyUnsupported {
        /// Why, naming no key or value.
        reason: String,
    },
    /// The file was written by a newer version of this crate.
    #[error("vault format version {found} is newer than this build supports ({supported})")]
    UnsupportedVersion {
        /// Version found in the file.
        found: i64,
        /// Highest version this build reads.
        supported: i64,
    },
    /// The file holds the other kind of vault.
    #[error("the vault is {found}, not {expected}")]
    WrongKind {
        /// Kind the caller asked for.
        expected: Kind,
        /// Kind the file holds.
        found: Kind,
    },
    /// The file is damaged (SQLite reports corruption, or a record is malformed).
    #[error("the vault file is corrupt: {detail}")]
    Corrupt {
        /// What is wrong, naming no secret.
        detail: &'static str,
    },
    /// Another connection held the lock longer than the busy timeout.
    #[error("the vault is busy: another connection holds its lock")]
    Busy,
    /// The disk or the database's size limit is full.
    #[error("the vault cannot grow: disk or size limit full")]
    Full,
    /// The file, one of SQLite's companion files (`-wal`, `-shm`, which keep
    /// the mode the file had when they were made) or the folder is read-only.
    #[error("the vault is read-only (its file, its -wal or -shm file, or its folder)")]
    ReadOnly,
    /// The vault file was removed or replaced (its folder deleted, another
    /// file moved to its path) while it was open: a write would have gone to
    /// a file nobody can open any more, so it was rolled back.
    #[error("the vault file was removed or replaced while open; the write was not made")]
    Moved,
    /// A stored value does not decode as the requested type.
    #[error("stored value does not decode as the requested type: {reason}")]
    Decode {
        /// What did not fit, without any part of the value.
        reason: String,
    },
    /// A value could not be encoded.
    #[error("value could not be encoded: {reason}")]
    Encode {
        /// Why, without any part of the value.
        reason: String,
    },
    /// The passphrase (or keyring secret) does not open any matching key slot.
    #[error("wrong passphrase")]
    WrongPassphrase,
    /// An empty passphrase was given.
    #[error("the passphrase is empty")]
    EmptyPassphrase,
    /// Sealed data failed its authentication: it was edited, moved or swapped.
    #[error("integrity check failed for {0}")]
    Integrity(Integrity),
    /// Key-derivation parameters outside the accepted range (refused before
    /// any work is done).
    #[error("key derivation parameters refused: {reason}")]
    KdfParams {
        /// Which bound was crossed.
        reason: &'static str,
    },
    /// Another handle rotated the vault key since this one was unlocked.
    #[error("the vault key was rotated by another handle; open the vault again")]
    KeyRotated,
    /// No key slot with this id.
    #[error("no key slot with id {id}")]
    SlotNotFound {
        /// The id asked for.
        id: u32,
    },
    /// The last key slot that is not held in a keyring cannot be removed.
    #[error("refusing to remove the last passphrase slot: the vault would have no way in")]
    LastSlot,
    /// A rotation needs the secret of every slot, and one was not given.
    #[error("no secret given for key slot {id}; pass it or remove the slot first")]
    SlotSecretMissing {
        /// The slot that could not be rewrapped.
        id: u32,
    },
    /// A vault holds at most [`MAX_SLOTS`](crate::MAX_SLOTS) key slots:
    /// adding one more is refused, and so is unlocking a file with more
    /// (before any slot is tried).
    #[error("too many key slots: a vault holds at most {max}")]
    TooManySlots {
        /// The most a vault holds.
        max: usize,
    },
    /// The OS keyring failed.
    #[error("keyring: {reason}")]
    Keyring {
        /// The keyring's own message (it carries no secret).
        reason: String,
    },
    /// The vault was used directly from inside one of its own transactions
    /// (which would deadlock): use the transaction handle instead.
    #[error(
        "the vault was used inside its own transaction; use the transaction handle passed to the closure"
    )]
    Reentrant,
    /// A write with a time to live was refused: the system clock is behind
    /// the latest time this vault has seen (its clock mark, see
    /// `docs/format.md`), so the entry would have expired before it was
    /// written and never been seen. A longer time to live is accepted; it
    /// counts from the clock.
    #[error(
        "the system clock is behind the latest time this vault has seen by {behind_secs} s: fix the clock"
    )]
    ClockBehind {
        /// How far behind, in whole seconds rounded up.
        behind_secs: u64,
    },
    /// The operating system's random generator failed.
    #[error("the operating system's random generator failed")]
    Rng,
    /// A vault URL (`postgres://…?vault=NAME`) is malformed.
    #[error("invalid vault URL: {reason}")]
    InvalidUrl {
        /// What is wrong, never quoting a password.
        reason: String,
    },
    /// The database server could not be reached, or the connection to it
    /// broke (a restart, a network fault, a timeout). Nothing of the
    /// operation was committed, unless the connection broke while its
    /// commit was in flight: then it may have been. Worth retrying; see
    /// [`Error::is_transient`].
    #[error("the database server is unavailable: {reason}")]
    Unavailable {
        /// What failed, naming no secret.
        reason: String,
    },
    /// The database server refused the credentials or the access (a wrong
    /// password, no `pg_hba.conf` entry, a missing privilege).
    #[error("the database server refused access: {reason}")]
    AccessDenied {
        /// The server's reason, naming no secret.
        reason: String,
    },
    /// An option that this vault's storage does not have (such as a size
    /// cap on a server).
    #[error("not supported on this storage: {what}")]
    Unsupported {
        /// What was asked for.
        what: &'static str,
    },
    /// Any other error the database server reported.
    #[error("the database server reported an error: {message} (SQLSTATE {code})")]
    Server {
        /// The SQLSTATE code.
        code: String,
        /// The server's message (without its detail lines, which may quote
        /// row contents).
        message: String,
    },
    /// An I/O error outside SQLite (creating folders, removing files).
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// Any other SQLite error.
    #[error("sqlite: {0}")]
    Sqlite(#[source] rusqlite::Error),
}

impl From<rusqlite::Error> for Error {
    fn from(err: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode;
        if matches!(
            err,
            rusqlite::Error::InvalidColumnType(..)
                | rusqlite::Error::FromSqlConversionFailure(..)
                | rusqlite::Error::IntegralValueOutOfRange(..)
        ) {
            return Error::Corrupt {
                detail: "a stored column has the wrong type",
            };
        }
        if let rusqlite::Error::SqliteFailure(e, _) = &err
            && matches!(
                e.extended_code,
                rusqlite::ffi::SQLITE_CONSTRAINT_COMMITHOOK
                    | rusqlite::ffi::SQLITE_READONLY_DBMOVED
            )
        {
            // Only the identity check of `storage::file` vetoes a commit.
            return Error::Moved;
        }
        match err.sqlite_error_code() {
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => Error::Busy,
            Some(ErrorCode::DiskFull) => Error::Full,
            Some(ErrorCode::ReadOnly) => Error::ReadOnly,
            Some(ErrorCode::DatabaseCorrupt) => Error::Corrupt {
                detail: "sqlite reports a malformed database",
            },
            // Only a planted row can pass SQLITE_LIMIT_LENGTH: `put` refuses
            // values over the cap before SQLite sees them.
            Some(ErrorCode::TooBig) => Error::Corrupt {
                detail: "a stored row is longer than any vault stores",
            },
            _ => Error::Sqlite(err),
        }
    }
}

impl From<rusqlite::types::FromSqlError> for Error {
    fn from(_: rusqlite::types::FromSqlError) -> Self {
        Error::Corrupt {
            detail: "a stored column has the wrong type",
        }
    }
}

impl Error {
    /// Whether the operation may succeed if simply tried again: the server
    /// was unavailable ([`Error::Unavailable`]) or another connection held
    /// the lock too long ([`Error::Busy`]).
    ///
    /// ```
    /// assert!(vaults::Error::Busy.is_transient());
    /// assert!(!vaults::Error::WrongPassphrase.is_transient());
    /// ```
    pub fn is_transient(&self) -> bool {
        matches!(self, Error::Unavailable { .. } | Error::Busy)
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_codes_map_to_typed_errors() {
        let busy = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
            None,
        );
        assert!(matches!(Error::from(busy), Error::Busy));
        let full = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL),
            None,
        );
        assert!(matches!(Error::from(full), Error::Full));
    }
}
