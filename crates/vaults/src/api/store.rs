//! [`Store`]: the everyday API shared by [`Vault`](crate::Vault),
//! [`EncryptedVault`](crate::EncryptedVault) and their transactions.
//!
//! Each operation is written once, in the files beside this one by
//! concept (`write.rs`, `read.rs`, `ttl.rs`, `iter.rs`); the trait's
//! methods only hand them the handle's [`Scope`](super::op::Scope).

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use zeroize::Zeroizing;

use super::iter::Iter;
use super::op::{Scoped, TOKEN};
use super::snapshot::Snapshot;
use super::transaction::Transaction;
use super::{read, ttl, write};
use crate::Result;
use crate::codec::cbor;
use crate::engine::Mode;
use crate::expiry::{ExpireIf, Expiry, Ttl};

/// The key-value API of every vault handle and transaction.
///
/// Names are strings; values are anything serde can encode (stored as CBOR),
/// or raw bytes through the `_bytes` methods. An expired entry is invisible to
/// every read; [`cleanup_expired`](Store::cleanup_expired) deletes it.
///
/// ```
/// use std::time::Duration;
/// use vaults::{Store, Ttl, Vault};
///
/// let vault = Vault::open_in_memory()?;
/// vault.put_with_ttl("session", &("alice", 42), Duration::from_secs(60))?;
/// let (user, n): (String, u32) = vault.get("session")?.unwrap();
/// assert_eq!((user.as_str(), n), ("alice", 42));
/// assert!(matches!(vault.ttl("session")?, Some(Ttl::Remaining(_))));
/// # Ok::<(), vaults::Error>(())
/// ```
pub trait Store: Scoped {
    /// Stores `value` under `name`, replacing any old value and clearing its
    /// expiry (the short form of [`put_with`](Store::put_with) with
    /// [`Expiry::Never`]).
    ///
    /// ```
    /// # use vaults::{Store, Vault};
    /// let vault = Vault::open_in_memory()?;
    /// vault.put("port", &5432)?;
    /// assert_eq!(vault.get::<u16>("port")?, Some(5432));
    /// # Ok::<(), vaults::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidName`](crate::Error::InvalidName),
    /// [`Error::ValueTooLarge`](crate::Error::ValueTooLarge),
    /// [`Error::Encode`](crate::Error::Encode), or a storage error.
    fn put<T: Serialize + ?Sized>(&self, name: &str, value: &T) -> Result<()> {
        self.put_with(name, value, Expiry::Never)
    }

    /// Stores `value` under `name`, to expire `ttl` from now (the short form
    /// of [`put_with`](Store::put_with) with [`Expiry::After`]). A zero TTL
    /// deletes the entry instead.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use vaults::{Store, Vault};
    /// let vault = Vault::open_in_memory()?;
    /// vault.put_with_ttl("token", "abc", Duration::from_secs(900))?;
    /// assert!(vault.contains("token")?);
    /// # Ok::<(), vaults::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`put_with`](Store::put_with).
    fn put_with_ttl<T: Serialize + ?Sized>(
        &self,
        name: &str,
        value: &T,
        ttl: Duration,
    ) -> Result<()> {
        self.put_with(name, value, Expiry::After(ttl))
    }

    /// Stores `value` under `name`, with the expiry `expiry` says: none (an
    /// old one is cleared), the replaced entry's (Redis `SET … KEEPTTL`), or
    /// a time to live from now (zero deletes the entry instead).
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use vaults::{Expiry, Store, Ttl, Vault};
    /// let vault = Vault::open_in_memory()?;
    /// vault.put_with("token", "old", Expiry::After(Duration::from_secs(60)))?;
    /// vault.put_with("token", "new", Expiry::Keep)?;
    /// assert!(matches!(vault.ttl("token")?, Some(Ttl::Remaining(_))));
    /// # Ok::<(), vaults::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidName`](crate::Error::InvalidName),
    /// [`Error::ValueTooLarge`](crate::Error::ValueTooLarge),
    /// [`Error::Encode`](crate::Error::Encode), or a storage error; with
    /// [`Expiry::After`], [`Error::ClockBehind`](crate::Error::ClockBehind)
    /// if the clock is behind the vault's clock mark by more than the TTL
    /// (the entry would never be seen); with [`Expiry::Keep`],
    /// [`Error::Integrity`](crate::Error::Integrity) if the sealed entry it
    /// replaces fails to open (its expiry cannot be trusted then).
    fn put_with<T: Serialize + ?Sized>(&self, name: &str, value: &T, expiry: Expiry) -> Result<()> {
        write::check_new_name(name)?;
        write::write(self.scope(TOKEN), name, &cbor::encode(value)?, expiry)
    }

    /// Stores raw bytes under `name`, as they are (no encoding), with no
    /// expiry (the short form of [`put_bytes_with`](Store::put_bytes_with)).
    ///
    /// ```
    /// # use vaults::{Store, Vault};
    /// let vault = Vault::open_in_memory()?;
    /// vault.put_bytes("blob", &[0xde, 0xad])?;
    /// assert_eq!(vault.get_bytes("blob")?.as_deref().map(|b| &b[..]), Some(&[0xde, 0xad][..]));
    /// # Ok::<(), vaults::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidName`](crate::Error::InvalidName),
    /// [`Error::ValueTooLarge`](crate::Error::ValueTooLarge), or a storage error.
    fn put_bytes(&self, name: &str, value: &[u8]) -> Result<()> {
        self.put_bytes_with(name, value, Expiry::Never)
    }

    /// Stores raw bytes under `name`, as they are, with the expiry `expiry`
    /// says (see [`put_with`](Store::put_with)).
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use vaults::{Expiry, Store, Vault};
    /// let vault = Vault::open_in_memory()?;
    /// vault.put_bytes_with("nonce", b"xyz", Expiry::After(Duration::from_secs(5)))?;
    /// assert!(vault.contains("nonce")?);
    /// # Ok::<(), vaults::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`put_with`](Store::put_with), except for encoding.
    fn put_bytes_with(&self, name: &str, value: &[u8], expiry: Expiry) -> Result<()> {
        write::check_new_name(name)?;
        cbor::check_len(value.len())?;
        write::write(self.scope(TOKEN), name, value, expiry)
    }

    /// The value under `name`, or `None` if there is none (or it expired).
    ///
    /// ```
    /// # use vaults::{Store, Vault};
    /// let vault = Vault::open_in_memory()?;
    /// assert_eq!(vault.get::<String>("missing")?, None);
    /// # Ok::<(), vaults::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Decode`](crate::Error::Decode) if the stored value is not a `T`;
    /// [`Error::Integrity`](crate::Error::Integrity) if a sealed value fails to open.
    fn get<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>> {
        read::get(self.scope(TOKEN), name)
    }

    /// The raw bytes under `name` (as stored by [`put_bytes`](Store::put_bytes),
    /// or the CBOR of a typed value), in a buffer wiped on drop.
    ///
    /// ```
    /// # use vaults::{Store, Vault};
    /// let vault = Vault::open_in_memory()?;
    /// vault.put_bytes("k", b"v")?;
    /// assert_eq!(&vault.get_bytes("k")?.unwrap()[..], b"v");
    /// # Ok::<(), vaults::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Integrity`](crate::Error::Integrity) if a sealed value fails to open.
    fn get_bytes(&self, name: &str) -> Result<Option<Zeroizing<Vec<u8>>>> {
        read::get_bytes(self.scope(TOKEN), name)
    }

    /// Whether a live entry is stored under `name`.
    ///
    /// ```
    /// # use vaults::{Store, Vault};
    /// let vault = Vault::open_in_memory()?;
    /// vault.put("a", &1)?;
    /// assert!(vault.contains("a")? && !vault.contains("b")?);
    /// # Ok::<(), vaults::Error>(())
    /// ```
    ///
    /// # Errors
    /// A storage error.
    fn contains(&self, name: &str) -> Result<bool> {
        Ok(self.ttl(name)?.is_some())
    }

    /// Removes the entry under `name`; whether a live one was there.
    ///
    /// ```
    /// # use vaults::{Store, Vault};
    /// let vault = Vault::open_in_memory()?;
    /// vault.put("a", &1)?;
    /// assert!(vault.remove("a")?);
    /// assert!(!vault.remove("a")?);
    /// # Ok::<(), vaults::Error>(())
    /// ```
    ///
    /// # Errors
    /// A storage error.
    fn remove(&self, name: &str) -> Result<bool> {
        read::remove(self.scope(TOKEN), name)
    }

    /// Removes the entry under `name` and returns its value (Python's `pop`,
    /// Redis `GETDEL`).
    ///
    /// If the value does not decode as a `T`, the entry stays.
    ///
    /// ```
    /// # use vaults::{Store, Vault};
    /// let vault = Vault::open_in_memory()?;
    /// vault.put("session", "abc123")?;
    /// assert_eq!(vault.pop::<String>("session")?.as_deref(), Some("abc123"));
    /// assert_eq!(vault.get::<String>("session")?, None);
    /// # Ok::<(), vaults::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`get`](Store::get).
    #[doc(alias = "GETDEL")]
    #[doc(alias = "take")]
    fn pop<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>> {
        read::pop(self.scope(TOKEN), name)
    }

    /// Reads the value and moves its expiry to `ttl` from now, in one step: a
    /// sliding expiry for sessions (Redis `GETEX`). A zero TTL deletes the
    /// entry after reading it.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use vaults::{Store, Vault};
    /// let vault = Vault::open_in_memory()?;
    /// vault.put_with_ttl("sess", "alice", Duration::from_secs(60))?;
    /// let user: Option<String> = vault.get_ex("sess", Duration::from_secs(1800))?;
    /// assert_eq!(user.as_deref(), Some("alice"));
    /// # Ok::<(), vaults::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`get`](Store::get), or [`Error::ClockBehind`](crate::Error::ClockBehind) if the clock is
    /// behind the vault's clock mark by more than `ttl` (the entry would
    /// never be seen); on error the expiry is unchanged.
    #[doc(alias = "GETEX")]
    fn get_ex<T: DeserializeOwned>(&self, name: &str, ttl: Duration) -> Result<Option<T>> {
        ttl::get_ex(self.scope(TOKEN), name, ttl)
    }

    /// The time to live of the entry under `name`: `None` if there is no
    /// live entry, [`Ttl::Never`] if it does not expire.
    ///
    /// ```
    /// # use vaults::{Store, Ttl, Vault};
    /// let vault = Vault::open_in_memory()?;
    /// vault.put("k", "v")?;
    /// assert_eq!(vault.ttl("k")?, Some(Ttl::Never));
    /// assert_eq!(vault.ttl("nope")?, None);
    /// # Ok::<(), vaults::Error>(())
    /// ```
    ///
    /// # Errors
    /// A storage error.
    fn ttl(&self, name: &str) -> Result<Option<Ttl>> {
        ttl::ttl(self.scope(TOKEN), name)
    }

    /// Sets the entry's expiry to `ttl` from now if `cond` allows; whether it
    /// did. A zero TTL deletes the entry (when `cond` allows).
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use vaults::{ExpireIf, Store, Vault};
    /// let vault = Vault::open_in_memory()?;
    /// vault.put("k", "v")?;
    /// assert!(vault.expire("k", Duration::from_secs(60), ExpireIf::NoExpiry)?);
    /// assert!(!vault.expire("k", Duration::from_secs(90), ExpireIf::NoExpiry)?);
    /// assert!(vault.expire("k", Duration::from_secs(90), ExpireIf::Later)?);
    /// # Ok::<(), vaults::Error>(())
    /// ```
    ///
    /// # Errors
    /// A storage error, [`Error::Integrity`](crate::Error::Integrity) if a sealed value fails to open,
    /// or [`Error::ClockBehind`](crate::Error::ClockBehind) if the clock is behind the vault's clock
    /// mark by more than `ttl` (the entry would never be seen).
    fn expire(&self, name: &str, ttl: Duration, cond: ExpireIf) -> Result<bool> {
        ttl::expire(self.scope(TOKEN), name, ttl, cond)
    }

    /// Removes the entry's expiry; whether it had one (Redis `PERSIST`).
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use vaults::{Store, Ttl, Vault};
    /// let vault = Vault::open_in_memory()?;
    /// vault.put_with_ttl("k", "v", Duration::from_secs(5))?;
    /// assert!(vault.persist("k")?);
    /// assert_eq!(vault.ttl("k")?, Some(Ttl::Never));
    /// # Ok::<(), vaults::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`expire`](Store::expire).
    fn persist(&self, name: &str) -> Result<bool> {
        ttl::persist(self.scope(TOKEN), name)
    }

    /// Number of live entries.
    ///
    /// ```
    /// # use vaults::{Store, Vault};
    /// let vault = Vault::open_in_memory()?;
    /// vault.put("a", &1)?;
    /// assert_eq!(vault.len()?, 1);
    /// # Ok::<(), vaults::Error>(())
    /// ```
    ///
    /// # Errors
    /// A storage error.
    fn len(&self) -> Result<u64> {
        read::len(self.scope(TOKEN))
    }

    /// Whether there is no live entry.
    ///
    /// ```
    /// # use vaults::{Store, Vault};
    /// assert!(Vault::open_in_memory()?.is_empty()?);
    /// # Ok::<(), vaults::Error>(())
    /// ```
    ///
    /// # Errors
    /// A storage error.
    fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }

    /// The names of all live entries, sorted. Only names are read, never values.
    ///
    /// ```
    /// # use vaults::{Store, Vault};
    /// let vault = Vault::open_in_memory()?;
    /// vault.put("b", &2)?;
    /// vault.put("a", &1)?;
    /// assert_eq!(vault.keys()?, ["a", "b"]);
    /// # Ok::<(), vaults::Error>(())
    /// ```
    ///
    /// # Errors
    /// A storage error; [`Error::Integrity`](crate::Error::Integrity) if a sealed name fails to open.
    fn keys(&self) -> Result<Vec<String>> {
        read::keys(self.scope(TOKEN))
    }

    /// The values of all live entries, in the order of their names.
    ///
    /// ```
    /// # use vaults::{Store, Vault};
    /// let vault = Vault::open_in_memory()?;
    /// vault.put("b", &2)?;
    /// vault.put("a", &1)?;
    /// assert_eq!(vault.values::<i32>()?, [1, 2]);
    /// # Ok::<(), vaults::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`items`](Store::items).
    fn values<T: DeserializeOwned>(&self) -> Result<Vec<T>> {
        Ok(self.items()?.into_iter().map(|(_, v)| v).collect())
    }

    /// Every live entry as `(name, value)`, sorted by name, loaded at once.
    /// For large vaults, [`iter`](Store::iter) streams instead.
    ///
    /// ```
    /// # use vaults::{Store, Vault};
    /// let vault = Vault::open_in_memory()?;
    /// vault.put("a", &1)?;
    /// assert_eq!(vault.items::<i32>()?, [("a".to_owned(), 1)]);
    /// # Ok::<(), vaults::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Decode`](crate::Error::Decode) if a value is not a `T`; [`Error::Integrity`](crate::Error::Integrity) if
    /// sealed data fails to open; a storage error.
    fn items<T: DeserializeOwned>(&self) -> Result<Vec<(String, T)>> {
        read::items(self.scope(TOKEN))
    }

    /// Streams every live entry as `(name, value)`, a page of rows at a time,
    /// without holding a lock between pages. Entries come in the order of
    /// their stored keys: sorted by name in a plain vault, unordered in an
    /// encrypted one. Writes made while iterating may or may not be seen.
    ///
    /// ```
    /// # use vaults::{Store, Vault};
    /// let vault = Vault::open_in_memory()?;
    /// vault.put_many([("a", 1), ("b", 2)])?;
    /// let mut total = 0;
    /// for item in vault.iter::<i32>() {
    ///     let (_name, n) = item?;
    ///     total += n;
    /// }
    /// assert_eq!(total, 3);
    /// # Ok::<(), vaults::Error>(())
    /// ```
    fn iter<T: DeserializeOwned>(&self) -> Iter<'_, Self, T>
    where
        Self: Sized,
    {
        Iter::new(self)
    }

    /// Stores every `(name, value)` in one transaction: all or none. Of two
    /// values for one name, the later wins.
    ///
    /// ```
    /// # use vaults::{Store, Vault};
    /// let vault = Vault::open_in_memory()?;
    /// vault.put_many([("a", 1), ("b", 2)])?;
    /// assert_eq!(vault.len()?, 2);
    /// # Ok::<(), vaults::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`put`](Store::put); nothing is stored on error.
    #[doc(alias = "update")]
    fn put_many<N, V, I>(&self, items: I) -> Result<()>
    where
        I: IntoIterator<Item = (N, V)>,
        N: AsRef<str>,
        V: Serialize,
    {
        write::put_all(
            self.scope(TOKEN),
            items
                .into_iter()
                .map(|(name, value)| Ok((name, cbor::encode(&value)?))),
        )
    }

    /// Stores every `(name, bytes)` as they are, in one transaction: all or
    /// none. Of two values for one name, the later wins.
    ///
    /// ```
    /// # use vaults::{Store, Vault};
    /// let vault = Vault::open_in_memory()?;
    /// vault.put_many_bytes([("a", b"1"), ("b", b"2")])?;
    /// assert_eq!(&vault.get_bytes("b")?.unwrap()[..], b"2");
    /// # Ok::<(), vaults::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`put_bytes`](Store::put_bytes); nothing is stored on error.
    fn put_many_bytes<N, B, I>(&self, items: I) -> Result<()>
    where
        I: IntoIterator<Item = (N, B)>,
        N: AsRef<str>,
        B: AsRef<[u8]>,
    {
        write::put_all(
            self.scope(TOKEN),
            items.into_iter().map(|(name, bytes)| {
                cbor::check_len(bytes.as_ref().len())?;
                Ok((name, bytes))
            }),
        )
    }

    /// The values under each of `names`, in the same order (`None` where
    /// missing), read from one snapshot.
    ///
    /// ```
    /// # use vaults::{Store, Vault};
    /// let vault = Vault::open_in_memory()?;
    /// vault.put("a", &1)?;
    /// assert_eq!(vault.get_many::<i32, _, _>(["a", "z"])?, [Some(1), None]);
    /// # Ok::<(), vaults::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`get`](Store::get).
    fn get_many<T, N, I>(&self, names: I) -> Result<Vec<Option<T>>>
    where
        T: DeserializeOwned,
        I: IntoIterator<Item = N>,
        N: AsRef<str>,
    {
        read::get_many(self.scope(TOKEN), names)
    }

    /// Removes each of `names` and returns their values, in one transaction.
    ///
    /// ```
    /// # use vaults::{Store, Vault};
    /// let vault = Vault::open_in_memory()?;
    /// vault.put_many([("a", 1), ("b", 2)])?;
    /// assert_eq!(vault.pop_many::<i32, _, _>(["a", "z"])?, [Some(1), None]);
    /// assert_eq!(vault.keys()?, ["b"]);
    /// # Ok::<(), vaults::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`pop`](Store::pop); nothing is removed on error.
    fn pop_many<T, N, I>(&self, names: I) -> Result<Vec<Option<T>>>
    where
        T: DeserializeOwned,
        I: IntoIterator<Item = N>,
        N: AsRef<str>,
    {
        read::pop_many(self.scope(TOKEN), names)
    }

    /// Whether every one of `names` has a live entry.
    ///
    /// ```
    /// # use vaults::{Store, Vault};
    /// let vault = Vault::open_in_memory()?;
    /// vault.put_many([("a", 1), ("b", 2)])?;
    /// assert!(vault.has_keys(["a", "b"])?);
    /// assert!(!vault.has_keys(["a", "c"])?);
    /// # Ok::<(), vaults::Error>(())
    /// ```
    ///
    /// # Errors
    /// A storage error.
    fn has_keys<N, I>(&self, names: I) -> Result<bool>
    where
        I: IntoIterator<Item = N>,
        N: AsRef<str>,
    {
        read::has_keys(self.scope(TOKEN), names)
    }

    /// The value under `name`, after storing `default` there if it was
    /// missing, in one step (Python's `setdefault`).
    ///
    /// ```
    /// # use vaults::{Store, Vault};
    /// let vault = Vault::open_in_memory()?;
    /// assert_eq!(vault.get_or_insert("retries", 3)?, 3);
    /// assert_eq!(vault.get_or_insert("retries", 5)?, 3);
    /// # Ok::<(), vaults::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`get`](Store::get) and [`put`](Store::put).
    #[doc(alias = "setdefault")]
    fn get_or_insert<T: Serialize + DeserializeOwned>(&self, name: &str, default: T) -> Result<T> {
        write::get_or_insert(self.scope(TOKEN), name, default)
    }

    /// Removes and returns the most recently inserted live entry (Python's
    /// `popitem`), or `None` when the vault is empty.
    ///
    /// ```
    /// # use vaults::{Store, Vault};
    /// let vault = Vault::open_in_memory()?;
    /// vault.put("task1", "first")?;
    /// vault.put("task2", "second")?;
    /// let (name, value) = vault.pop_item::<String>()?.unwrap();
    /// assert_eq!((name.as_str(), value.as_str()), ("task2", "second"));
    /// # Ok::<(), vaults::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`pop`](Store::pop).
    #[doc(alias = "popitem")]
    fn pop_item<T: DeserializeOwned>(&self) -> Result<Option<(String, T)>> {
        read::pop_item(self.scope(TOKEN))
    }

    /// Removes every entry.
    ///
    /// ```
    /// # use vaults::{Store, Vault};
    /// let vault = Vault::open_in_memory()?;
    /// vault.put("a", &1)?;
    /// vault.clear()?;
    /// assert!(vault.is_empty()?);
    /// # Ok::<(), vaults::Error>(())
    /// ```
    ///
    /// # Errors
    /// A storage error.
    fn clear(&self) -> Result<()> {
        read::clear(self.scope(TOKEN))
    }

    /// Deletes every expired entry through the expiry index, in time
    /// proportional to what it deletes, without decoding any value; returns
    /// how many.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use vaults::{ManualClock, Store, Vault};
    /// let clock = ManualClock::new(0);
    /// let vault = Vault::options().clock(clock.clone()).open_in_memory()?;
    /// vault.put_with_ttl("k", "v", Duration::from_secs(1))?;
    /// clock.advance(Duration::from_secs(2));
    /// assert_eq!(vault.cleanup_expired()?, 1);
    /// # Ok::<(), vaults::Error>(())
    /// ```
    ///
    /// # Errors
    /// A storage error.
    fn cleanup_expired(&self) -> Result<u64> {
        ttl::cleanup_expired(self.scope(TOKEN))
    }

    /// Runs `f` in one write transaction: everything it does commits together
    /// if it returns `Ok`, and nothing does if it returns `Err` or panics.
    /// Inside another transaction it nests (as a savepoint).
    ///
    /// ```
    /// # use vaults::{Error, Store, Vault};
    /// let vault = Vault::open_in_memory()?;
    /// vault.put("balance", &100)?;
    /// let failed = vault.transaction(|tx| {
    ///     tx.put("balance", &0)?;
    ///     Err::<(), _>(Error::Busy) // any error rolls back
    /// });
    /// assert!(matches!(failed, Err(Error::Busy)));
    /// assert_eq!(vault.get::<i32>("balance")?, Some(100));
    /// # Ok::<(), vaults::Error>(())
    /// ```
    ///
    /// # Errors
    /// Whatever `f` returns, or a storage error on begin or commit.
    fn transaction<R>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<R>) -> Result<R> {
        let s = self.scope(TOKEN);
        s.run(Mode::Write, |op| f(&Transaction::new(op.vault, op.rows)))
    }

    /// Runs `f` in one read transaction: every read it makes sees the vault
    /// as it was at the first one (SQLite takes the snapshot then), while other handles and processes go on
    /// writing (the WAL keeps that version for it). It takes no write
    /// lock, so it suits a long read, such as an export into a slow pipe,
    /// that must be consistent. Inside a [`transaction`](Store::transaction)
    /// it reads what the transaction sees.
    ///
    /// ```
    /// # use vaults::{Store, Vault};
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("app.db");
    /// let vault = Vault::open_or_create(&path)?;
    /// vault.put_many([("a", 1), ("b", 2)])?;
    /// let total = vault.snapshot(|s| {
    ///     let names = s.keys()?;
    ///     // Another handle writes meanwhile: the snapshot does not hold it
    ///     // up, and does not see it.
    ///     Vault::open(&path)?.put("c", &3)?;
    ///     assert!(!s.contains("c")?);
    ///     let mut total = 0;
    ///     for name in &names {
    ///         total += s.get::<i32>(name)?.unwrap_or(0);
    ///     }
    ///     Ok(total)
    /// })?;
    /// assert_eq!(total, 3);
    /// assert_eq!(vault.len()?, 3);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// Whatever `f` returns, or a storage error.
    fn snapshot<R>(&self, f: impl FnOnce(&Snapshot<'_>) -> Result<R>) -> Result<R> {
        let s = self.scope(TOKEN);
        s.run(Mode::Snapshot, |op| {
            f(&Snapshot::new(Transaction::new(op.vault, op.rows)))
        })
    }
}
