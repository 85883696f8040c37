//! Exit codes and the one line of error a user sees.

use std::fmt;

use vaults::Error;

/// Exit codes (scripts depend on them).
pub const FAILURE: u8 = 1;
pub const USAGE: u8 = 2;
pub const NOT_FOUND: u8 = 3;
pub const AUTH: u8 = 4;
/// The vault stayed locked by another writer past `--busy-timeout`: nothing
/// was changed, and the same command may simply be run again.
pub const BUSY: u8 = 5;

/// An error on its way to stderr, with the exit code it ends the process with.
#[derive(Debug)]
pub struct CliError {
    pub code: u8,
    pub message: String,
}

impl CliError {
    pub fn new(code: u8, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    pub fn failure(message: impl Into<String>) -> Self {
        Self::new(FAILURE, message)
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(USAGE, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(NOT_FOUND, message)
    }

    /// An error about entry `key`: names are not secret on the user's own
    /// terminal, and they need it to act.
    pub fn no_entry(key: &str) -> Self {
        Self::not_found(format!("no entry named {key:?}"))
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<Error> for CliError {
    fn from(e: Error) -> Self {
        let code = match &e {
            Error::VaultNotFound { .. } => NOT_FOUND,
            Error::WrongPassphrase | Error::Integrity(_) => AUTH,
            Error::Busy => BUSY,
            Error::InvalidName { .. } | Error::InvalidVaultName { .. } | Error::EmptyPassphrase => {
                USAGE
            }
            _ => FAILURE,
        };
        let message = match &e {
            Error::VaultNotFound { path } => {
                format!(
                    "no vault at {}; run `vaults init` to create it",
                    path.display()
                )
            }
            Error::Integrity(vaults::Integrity::Entry | vaults::Integrity::Name) => format!(
                "{e}: the vault file was modified or damaged; `vaults doctor` lists and deletes unreadable rows"
            ),
            Error::Integrity(vaults::Integrity::Kind) => "the vault looks tampered with: its file \
                says it is plain, but it carries an encrypted vault's records"
                .to_owned(),
            Error::Integrity(_) => format!("{e}: the vault file was modified or damaged"),
            Error::Busy => {
                format!("{e}; nothing was changed: try again, or wait longer with --busy-timeout")
            }
            _ => e.to_string(),
        };
        Self { code, message }
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        Self::failure(e.to_string())
    }
}

pub type CliResult<T> = Result<T, CliError>;
