//! The CLI's one error type, the line a user sees, and the exit code each
//! kind of failure ends the process with ([`Error::exit_code`]).

use std::fmt;

/// Exit codes (scripts depend on them).
pub const FAILURE: u8 = 1;
pub const USAGE: u8 = 2;
pub const NOT_FOUND: u8 = 3;
pub const AUTH: u8 = 4;
/// The vault stayed locked by another writer past `--busy-timeout`: nothing
/// was changed, and the same command may simply be run again.
pub const BUSY: u8 = 5;
/// The vault's server could not be reached, or the connection to it broke
/// (sysexits' `EX_TEMPFAIL`): worth running again once the server is back.
/// Nothing was changed, unless the connection broke while a write was
/// being committed.
pub const UNAVAILABLE: u8 = 75;
/// `exec` found its command but could not run it (as shells answer).
pub const CANNOT_EXECUTE: u8 = 126;
/// `exec` did not find its command.
pub const COMMAND_NOT_FOUND: u8 = 127;

/// Why a command failed, by meaning. Messages are one lowercase line and
/// never hold a secret (a value, a passphrase, a key): an entry's name may
/// appear, as the user needs it to act on their own terminal.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The command line or an input asks for something that cannot be (2).
    Usage(String),
    /// No such entry or vault (3).
    NotFound(String),
    /// Authentication failed, or data failed its integrity check (4).
    Auth(String),
    /// Writing or reading a stream failed; a closed stdout
    /// ([`std::io::ErrorKind::BrokenPipe`]) ends the command quietly (1).
    Io {
        /// What was being done, when the bare I/O error would not say it.
        doing: Option<String>,
        source: std::io::Error,
    },
    /// The library failed; its variant decides the code and any hint.
    Library(vaults::Error),
    /// `rotate` met a row that fails to open.
    RotateBlocked(vaults::Error),
    /// Entry `n` (from 1) of an import failed.
    InEntry { n: usize, source: Box<Error> },
    /// `exec` could not run the command (126, or 127 when not found).
    Exec {
        program: String,
        source: std::io::Error,
    },
    /// Any other failure (1).
    Other(String),
}

/// `Result` with the CLI's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn usage(message: impl Into<String>) -> Self {
        Error::Usage(message.into())
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Error::NotFound(message.into())
    }

    pub fn auth(message: impl Into<String>) -> Self {
        Error::Auth(message.into())
    }

    pub fn other(message: impl Into<String>) -> Self {
        Error::Other(message.into())
    }

    /// An I/O failure while `doing` something.
    pub fn io(doing: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            doing: Some(doing.into()),
            source,
        }
    }

    /// An error about entry `key`: names are not secret on the user's own
    /// terminal, and they need it to act.
    pub fn no_entry(key: &str) -> Self {
        Self::not_found(format!("no entry named {key:?}"))
    }

    /// The code the process exits with: the one place that decides it.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_) => USAGE,
            Error::NotFound(_) => NOT_FOUND,
            Error::Auth(_) => AUTH,
            Error::Io { .. } | Error::Other(_) => FAILURE,
            Error::Library(e) | Error::RotateBlocked(e) => match e {
                vaults::Error::VaultNotFound { .. } | vaults::Error::SlotNotFound { .. } => {
                    NOT_FOUND
                }
                vaults::Error::WrongPassphrase
                | vaults::Error::Integrity(_)
                | vaults::Error::AccessDenied { .. } => AUTH,
                vaults::Error::Busy => BUSY,
                vaults::Error::Unavailable { .. } => UNAVAILABLE,
                vaults::Error::InvalidName { .. }
                | vaults::Error::InvalidVaultName { .. }
                | vaults::Error::InvalidUrl { .. }
                | vaults::Error::Unsupported { .. }
                | vaults::Error::EmptyPassphrase => USAGE,
                // `Server` (any other error the server reports) among them.
                _ => FAILURE,
            },
            Error::InEntry { source, .. } => source.exit_code(),
            Error::Exec { source, .. } => match source.kind() {
                std::io::ErrorKind::NotFound => COMMAND_NOT_FOUND,
                _ => CANNOT_EXECUTE,
            },
        }
    }

    /// Whether this failure is stdout's reader going away (`vaults ls |
    /// head`): the reader has what it wanted, so it is no failure at all.
    pub fn is_broken_pipe(&self) -> bool {
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(self);
        while let Some(e) = cause {
            if let Some(io) = e.downcast_ref::<std::io::Error>()
                && io.kind() == std::io::ErrorKind::BrokenPipe
            {
                return true;
            }
            cause = e.source();
        }
        false
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(m) | Error::NotFound(m) | Error::Auth(m) | Error::Other(m) => {
                f.write_str(m)
            }
            Error::Io {
                doing: Some(doing),
                source,
            } => write!(f, "{doing}: {source}"),
            Error::Io {
                doing: None,
                source,
            } => write!(f, "{source}"),
            Error::Library(e) => library_message(f, e),
            Error::RotateBlocked(e) => {
                library_message(f, e)?;
                f.write_str(" (or `vaults rotate --drop-unreadable`)")
            }
            Error::InEntry { n, source } => write!(f, "entry {n} of the export: {source}"),
            Error::Exec { program, source } => write!(f, "cannot run {program}: {source}"),
        }
    }
}

/// A library error, with what the user can do about it.
fn library_message(f: &mut fmt::Formatter<'_>, e: &vaults::Error) -> fmt::Result {
    use vaults::{Error as E, Integrity};
    match e {
        E::VaultNotFound { path } => write!(
            f,
            "no vault at {}; run `vaults init` to create it",
            path.display()
        ),
        E::Integrity(Integrity::Entry | Integrity::Name) => write!(
            f,
            "{e}: the vault file was modified or damaged; `vaults doctor` lists and deletes unreadable rows"
        ),
        E::Integrity(Integrity::Kind) => f.write_str(
            "the vault looks tampered with: its file says it is plain, but it carries an \
             encrypted vault's records",
        ),
        E::Integrity(_) => write!(f, "{e}: the vault file was modified or damaged"),
        E::Busy => write!(
            f,
            "{e}; nothing was changed: try again, or wait longer with --busy-timeout"
        ),
        E::Unavailable { .. } => write!(f, "{e}; try again once it is reachable"),
        E::AccessDenied { .. } => write!(
            f,
            "{e}; check the user and the password (PGPASSWORD, or the URL's user part)"
        ),
        _ => write!(f, "{e}"),
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } | Error::Exec { source, .. } => Some(source),
            Error::Library(e) | Error::RotateBlocked(e) => Some(e),
            Error::InEntry { source, .. } => Some(&**source),
            Error::Usage(_) | Error::NotFound(_) | Error::Auth(_) | Error::Other(_) => None,
        }
    }
}

impl From<vaults::Error> for Error {
    fn from(e: vaults::Error) -> Self {
        Error::Library(e)
    }
}

impl From<std::io::Error> for Error {
    fn from(source: std::io::Error) -> Self {
        Error::Io {
            doing: None,
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pipe() -> std::io::Error {
        std::io::Error::from(std::io::ErrorKind::BrokenPipe)
    }

    #[test]
    fn a_broken_pipe_is_found_wherever_it_is() {
        assert!(Error::from(pipe()).is_broken_pipe());
        assert!(Error::from(vaults::Error::Io(pipe())).is_broken_pipe());
        let nested = Error::InEntry {
            n: 1,
            source: Box::new(Error::io("cannot write the export", pipe())),
        };
        assert!(nested.is_broken_pipe());
        assert!(!Error::other("broken pipe").is_broken_pipe());
        assert!(!Error::from(std::io::Error::other("x")).is_broken_pipe());
    }

    #[test]
    fn codes_follow_the_meaning() {
        assert_eq!(Error::usage("x").exit_code(), USAGE);
        assert_eq!(Error::no_entry("k").exit_code(), NOT_FOUND);
        assert_eq!(Error::from(vaults::Error::Busy).exit_code(), BUSY);
        let reason = String::from("x");
        let server = [
            (
                vaults::Error::Unavailable {
                    reason: reason.clone(),
                },
                UNAVAILABLE,
            ),
            (
                vaults::Error::AccessDenied {
                    reason: reason.clone(),
                },
                AUTH,
            ),
            (vaults::Error::InvalidUrl { reason }, USAGE),
            (vaults::Error::Unsupported { what: "x" }, USAGE),
            (
                vaults::Error::Server {
                    code: "XX000".into(),
                    message: "x".into(),
                },
                FAILURE,
            ),
        ];
        for (e, code) in server {
            assert_eq!(Error::from(e).exit_code(), code);
        }
        assert_eq!(
            Error::from(vaults::Error::WrongPassphrase).exit_code(),
            AUTH
        );
        let entry = Error::InEntry {
            n: 2,
            source: Box::new(Error::from(vaults::Error::InvalidName { reason: "empty" })),
        };
        assert_eq!(entry.exit_code(), USAGE);
        assert_eq!(
            entry.to_string(),
            "entry 2 of the export: invalid entry name: empty"
        );
        let exec = |kind| Error::Exec {
            program: "x".into(),
            source: std::io::Error::from(kind),
        };
        assert_eq!(exec(std::io::ErrorKind::NotFound).exit_code(), 127);
        assert_eq!(exec(std::io::ErrorKind::PermissionDenied).exit_code(), 126);
    }
}
