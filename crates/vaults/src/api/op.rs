//! Where an operation runs, and what it has at hand while it runs.
//!
//! [`Scope`] is a vault (every operation its own transaction) or an open
//! [`Transaction`](crate::Transaction) (its rows); the [`Store`] methods get
//! theirs through the sealed [`Scoped`] supertrait, which only this crate
//! can call (its [`Token`] cannot be made outside). [`Op`] is one
//! operation's rows with the vault's codec: it opens rows and, when a
//! sealed column names another key generation, asks storage whether the
//! key was rotated.
//!
//! [`Store`]: crate::Store

use super::vault::Vault;
use crate::codec::{Codec, Plaintext};
use crate::engine::{Mode, Rows};
use crate::row::RowRef;
use crate::{Error, Integrity, Result};

/// Proof that a caller is inside this crate: its field is private, so
/// code outside cannot make one, and so cannot call [`Scoped::scope`].
#[derive(Debug, Clone, Copy)]
pub struct Token(());

/// The one token.
pub(crate) const TOKEN: Token = Token(());

/// Implemented by every type that offers the [`Store`](crate::Store) API:
/// where its operations run. Sealed: callable only with a [`Token`].
pub trait Scoped {
    /// Where this handle's operations run.
    fn scope(&self, token: Token) -> Scope<'_>;
}

/// Where an operation runs: on a vault, in a transaction of its own, or
/// on the rows of an open transaction.
#[derive(Clone, Copy)]
pub struct Scope<'a> {
    pub(crate) vault: &'a Vault,
    pub(crate) tx: Option<&'a dyn Rows>,
}

impl<'a> Scope<'a> {
    /// The codec of the vault.
    pub(crate) fn codec(&self) -> &'a Codec {
        &self.vault.codec
    }

    /// The time an operation started now would see (ms): the clock, or the
    /// instant the open transaction began.
    pub(crate) fn now_ms(&self) -> i64 {
        match self.tx {
            Some(rows) => rows.clock(),
            None => self.vault.engine.clock_ms(),
        }
    }

    /// Runs `f` on the rows in `mode`. Inside a transaction, a write runs
    /// as a savepoint: a failing multi-step operation must not leave half
    /// its work behind.
    pub(crate) fn run<R>(&self, mode: Mode, f: impl FnOnce(&Op<'_>) -> Result<R>) -> Result<R> {
        match self.tx {
            None => self.vault.run(mode, f),
            Some(rows) => {
                let op = Op {
                    vault: self.vault,
                    rows,
                };
                match mode {
                    Mode::Write => rows.step(|| f(&op)),
                    _ => f(&op),
                }
            }
        }
    }
}

/// One operation's rows, with the vault's codec.
pub(crate) struct Op<'a> {
    pub(crate) vault: &'a Vault,
    pub(crate) rows: &'a dyn Rows,
}

impl Op<'_> {
    /// The codec of the vault.
    pub(crate) fn codec(&self) -> &Codec {
        &self.vault.codec
    }

    /// See [`Vault::confirm_current`].
    pub(crate) fn confirm_current(&self) -> Result<()> {
        self.vault.confirm_current(self.rows)
    }

    /// Passes on the answer of a lookup, but first, when it found nothing,
    /// confirms the keys are current: under stale keys (another handle
    /// rotated them) every lookup misses, and "absent" would be a lie.
    pub(crate) fn confirm<T>(&self, found: Option<T>) -> Result<Option<T>> {
        if found.is_none() {
            self.confirm_current()?;
        }
        Ok(found)
    }

    /// Before opening a sealed column: one from another generation means
    /// either that another handle rotated the key (say so) or that it was
    /// relabelled (let the open fail as tampering).
    fn check_generation(&self, sealed: &[u8], what: Integrity) -> Result<()> {
        if self.codec().other_generation(sealed, what)? {
            self.confirm_current()?;
        }
        Ok(())
    }

    /// Checks the generation of a sealed name about to be opened elsewhere
    /// (see [`open_name`](Self::open_name)).
    pub(crate) fn check_name_generation(&self, sealed: &[u8]) -> Result<()> {
        self.check_generation(sealed, Integrity::Name)
    }

    /// The name of a row.
    pub(crate) fn open_name(&self, row: &RowRef<'_>) -> Result<String> {
        if let Codec::Sealed(_) = self.codec() {
            let sealed = row.name.ok_or(Error::Integrity(Integrity::Name))?;
            self.check_generation(sealed, Integrity::Name)?;
        }
        self.codec().open_name(row)
    }

    /// The value of a row.
    pub(crate) fn open_value<'r>(&self, row: &RowRef<'r>) -> Result<Plaintext<'r>> {
        if let Codec::Sealed(_) = self.codec() {
            self.check_generation(row.value, Integrity::Entry)?;
        }
        self.codec().open_value(row)
    }

    /// Checks that a row's expiry is genuine, for reads that look at it
    /// without opening the value (`ttl`, `contains`): an encrypted vault
    /// opens the small sealed name, which binds it.
    pub(crate) fn check_expiry(&self, row: &RowRef<'_>) -> Result<()> {
        match self.codec() {
            Codec::Plain => Ok(()),
            Codec::Sealed(_) => self.open_name(row).map(drop),
        }
    }
}
