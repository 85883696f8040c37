//! [`Iter`]: streaming every entry, a page of rows at a time.

use std::collections::VecDeque;
use std::fmt;

use serde::de::DeserializeOwned;

use super::op::{Scoped, TOKEN};
use crate::Result;
use crate::codec::cbor;
use crate::engine::Mode;

/// Rows fetched per step of an [`Iter`].
const PAGE: usize = 256;

/// A streaming iterator over `(name, value)`; see [`Store::iter`](crate::Store::iter).
///
/// Each page is read and opened in one short step; its entries then wait,
/// decoded, until `next` hands them out.
///
/// ```
/// use vaults::{Store, Vault};
///
/// let vault = Vault::open_in_memory()?;
/// vault.put("a", &1)?;
/// let all: Vec<(String, i32)> = vault.iter().collect::<Result<_, _>>()?;
/// assert_eq!(all, [("a".to_owned(), 1)]);
/// # Ok::<(), vaults::Error>(())
/// ```
pub struct Iter<'s, S: ?Sized, T> {
    store: &'s S,
    after: Option<Vec<u8>>,
    page: VecDeque<Result<(String, T)>>,
    done: bool,
}

impl<S: ?Sized, T> fmt::Debug for Iter<'_, S, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Iter")
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl<'s, S: Scoped + ?Sized, T: DeserializeOwned> Iter<'s, S, T> {
    pub(crate) fn new(store: &'s S) -> Self {
        Iter {
            store,
            after: None,
            page: VecDeque::new(),
            done: false,
        }
    }

    fn fill(&mut self) -> Result<()> {
        let (page, after) = (&mut self.page, &mut self.after);
        let seen = self.store.scope(TOKEN).run(Mode::Read, |op| {
            let from = after.take();
            op.rows.scan(from.as_deref(), Some(PAGE), true, &mut |row| {
                let item = op
                    .open_name(&row)
                    .and_then(|name| Ok((name, cbor::decode(&op.open_value(&row)?)?)));
                page.push_back(item);
                *after = Some(row.key.to_vec());
                Ok(())
            })
        })?;
        self.done = seen < PAGE;
        Ok(())
    }
}

impl<S: Scoped + ?Sized, T: DeserializeOwned> Iterator for Iter<'_, S, T> {
    type Item = Result<(String, T)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.page.is_empty()
            && !self.done
            && let Err(e) = self.fill()
        {
            self.done = true;
            return Some(Err(e));
        }
        self.page.pop_front()
    }
}
