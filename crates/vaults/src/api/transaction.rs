//! [`Transaction`]: the rows of an open write transaction.

use std::fmt;

use super::op::{Scope, Scoped, Token};
use super::vault::Vault;
use crate::engine::Rows;

/// An open write transaction, handed to the closure of
/// [`Store::transaction`](crate::Store::transaction), on a plain or an
/// encrypted vault alike.
///
/// It offers the whole [`Store`](crate::Store) API. Everything done through
/// it commits together when the closure returns `Ok`, and is rolled back when
/// it returns `Err` or panics. Time stands still inside a transaction: every
/// operation sees the instant it began.
///
/// ```
/// use vaults::{Store, Vault};
///
/// let vault = Vault::open_in_memory()?;
/// vault.transaction(|tx| {
///     tx.put("a", &1)?;
///     tx.put("b", &2)
/// })?;
/// assert_eq!(vault.len()?, 2);
/// # Ok::<(), vaults::Error>(())
/// ```
pub struct Transaction<'a> {
    vault: &'a Vault,
    rows: &'a dyn Rows,
}

impl fmt::Debug for Transaction<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transaction").finish_non_exhaustive()
    }
}

impl<'a> Transaction<'a> {
    pub(crate) fn new(vault: &'a Vault, rows: &'a dyn Rows) -> Self {
        Self { vault, rows }
    }
}

impl Scoped for Transaction<'_> {
    fn scope(&self, _: Token) -> Scope<'_> {
        Scope {
            vault: self.vault,
            tx: Some(self.rows),
        }
    }
}

impl crate::Store for Transaction<'_> {}
