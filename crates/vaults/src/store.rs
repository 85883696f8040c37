//! [`Store`]: the everyday API shared by [`Vault`](crate::Vault),
//! `EncryptedVault` and their transactions.
//!
//! Each operation is written once here, on rows, through the handle's
//! envelope (plain or sealed); the handles only decide how rows are reached.

use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use zeroize::Zeroizing;

use crate::clock::duration_ms;
use crate::codec;
use crate::expiry::{ExpireIf, Ttl};
use crate::storage::{
    Backend, Envelope, Mode, Resealed, RowRef, Rows, Snapshot, StoredKey, Transaction,
};
use crate::{Error, Result};

/// Longest entry name, in bytes of UTF-8.
pub const MAX_NAME_LEN: usize = 1024;

/// Largest value a vault stores, in bytes (encoded); a larger one fails with
/// [`Error::ValueTooLarge`].
pub const MAX_VALUE_LEN: usize = codec::MAX_VALUE_LEN;

/// Rows fetched per step of an [`Iter`].
const PAGE: usize = 256;

/// Checks an entry name: not empty, at most [`MAX_NAME_LEN`] bytes.
fn check_name(name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(Error::InvalidName { reason: "empty" });
    }
    if name.len() > MAX_NAME_LEN {
        return Err(Error::InvalidName {
            reason: "longer than 1024 bytes",
        });
    }
    Ok(())
}

/// Checks the name of an entry being written: as [`check_name`], and no
/// control character (C0, DEL, C1: NUL, newline, escape...). Such a name
/// prints as something else (`a\nb` looks like two names, an escape code
/// rewrites the terminal) and a NUL cannot come back through a command line.
/// Reads and removals take any name, so entries written before this rule
/// stay reachable.
fn check_new_name(name: &str) -> Result<()> {
    check_name(name)?;
    if name.chars().any(char::is_control) {
        return Err(Error::InvalidName {
            reason: "has a control character (NUL, newline, escape...)",
        });
    }
    Ok(())
}

/// How a write treats the entry's expiry.
#[derive(Clone, Copy)]
enum SetTtl {
    /// No expiry (an old one is cleared).
    Clear,
    /// Keep the old entry's expiry (Redis `KEEPTTL`).
    Keep,
    /// Expire this long from now.
    After(Duration),
}

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
pub trait Store: Backend {
    /// Stores `value` under `name`, replacing any old value and clearing its expiry.
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
    /// [`Error::InvalidName`], [`Error::ValueTooLarge`], [`Error::Encode`], or a storage error.
    fn put<T: Serialize + ?Sized>(&self, name: &str, value: &T) -> Result<()> {
        check_new_name(name)?;
        write(self, name, &codec::encode(value)?, SetTtl::Clear)
    }

    /// Stores `value` under `name`, to expire `ttl` from now. A zero TTL
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
    /// As [`put`](Store::put), or [`Error::ClockBehind`] if the clock is
    /// behind the vault's clock mark by more than `ttl` (the entry would
    /// never be seen).
    fn put_with_ttl<T: Serialize + ?Sized>(
        &self,
        name: &str,
        value: &T,
        ttl: Duration,
    ) -> Result<()> {
        check_new_name(name)?;
        write(self, name, &codec::encode(value)?, SetTtl::After(ttl))
    }

    /// Stores `value` under `name`, keeping the expiry of the entry it
    /// replaces (Redis `SET … KEEPTTL`); a new entry never expires.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use vaults::{Store, Ttl, Vault};
    /// let vault = Vault::open_in_memory()?;
    /// vault.put_with_ttl("token", "old", Duration::from_secs(60))?;
    /// vault.put_keep_ttl("token", "new")?;
    /// assert!(matches!(vault.ttl("token")?, Some(Ttl::Remaining(_))));
    /// # Ok::<(), vaults::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`put`](Store::put); [`Error::Integrity`] if the sealed value it
    /// replaces fails to open (its expiry cannot be trusted then).
    fn put_keep_ttl<T: Serialize + ?Sized>(&self, name: &str, value: &T) -> Result<()> {
        check_new_name(name)?;
        write(self, name, &codec::encode(value)?, SetTtl::Keep)
    }

    /// Stores raw bytes under `name`, as they are (no encoding), with no expiry.
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
    /// [`Error::InvalidName`], [`Error::ValueTooLarge`], or a storage error.
    fn put_bytes(&self, name: &str, value: &[u8]) -> Result<()> {
        check_new_name(name)?;
        codec::check_len(value.len())?;
        write(self, name, value, SetTtl::Clear)
    }

    /// Stores raw bytes under `name`, to expire `ttl` from now (zero deletes).
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use vaults::{Store, Vault};
    /// let vault = Vault::open_in_memory()?;
    /// vault.put_bytes_with_ttl("nonce", b"xyz", Duration::from_secs(5))?;
    /// # Ok::<(), vaults::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`put_with_ttl`](Store::put_with_ttl).
    fn put_bytes_with_ttl(&self, name: &str, value: &[u8], ttl: Duration) -> Result<()> {
        check_new_name(name)?;
        codec::check_len(value.len())?;
        write(self, name, value, SetTtl::After(ttl))
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
    /// [`Error::Decode`] if the stored value is not a `T`;
    /// [`Error::Integrity`] if a sealed value fails to open.
    fn get<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>> {
        read(self, name, |env, rows, row| {
            env.open_value(rows, row, codec::decode)
        })
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
    /// [`Error::Integrity`] if a sealed value fails to open.
    fn get_bytes(&self, name: &str) -> Result<Option<Zeroizing<Vec<u8>>>> {
        read(self, name, |env, rows, row| env.open_value_owned(rows, row))
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
        check_name(name)?;
        let key = self.env().stored_key(name);
        self.with_rows(Mode::Single, |rows| {
            Ok(confirm(self.env(), rows, rows.delete(&key, |_| Ok(()))?)?.is_some())
        })
    }

    /// Removes the entry under `name` and returns its value (Python's `pop`).
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
    fn pop<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>> {
        check_name(name)?;
        let key = self.env().stored_key(name);
        self.with_rows(Mode::Write, |rows| {
            pop_row(self.env(), rows, &key, codec::decode)
        })
    }

    /// Reads and deletes in one step (Redis `GETDEL`); the same as [`pop`](Store::pop).
    ///
    /// ```
    /// # use vaults::{Store, Vault};
    /// let vault = Vault::open_in_memory()?;
    /// vault.put("otp", &123456)?;
    /// assert_eq!(vault.take::<u32>("otp")?, Some(123456));
    /// assert_eq!(vault.take::<u32>("otp")?, None);
    /// # Ok::<(), vaults::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`get`](Store::get).
    #[doc(alias = "GETDEL")]
    fn take<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>> {
        self.pop(name)
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
    /// As [`get`](Store::get), or [`Error::ClockBehind`] if the clock is
    /// behind the vault's clock mark by more than `ttl` (the entry would
    /// never be seen); on error the expiry is unchanged.
    #[doc(alias = "GETEX")]
    fn get_ex<T: DeserializeOwned>(&self, name: &str, ttl: Duration) -> Result<Option<T>> {
        check_name(name)?;
        let key = self.env().stored_key(name);
        self.with_rows(Mode::Write, |rows| {
            if ttl.is_zero() {
                return pop_row(self.env(), rows, &key, codec::decode);
            }
            let at = rows.clock().saturating_add(duration_ms(ttl));
            let read = rows.get(&key, |row| {
                reseal(self.env(), rows, &row, Some(at), codec::decode)
            })?;
            let Some((value, resealed)) = confirm(self.env(), rows, read)? else {
                return Ok(None);
            };
            rows.check_new_expiry(at)?;
            rows.set_expiry(&key, Some(at), resealed.as_ref())?;
            Ok(Some(value))
        })
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
        check_name(name)?;
        let key = self.env().stored_key(name);
        self.with_rows(Mode::Read, |rows| {
            let found = live_expiry(self.env(), rows, &key)?;
            Ok(found.map(|at| Ttl::at(at, rows.now())))
        })
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
    /// A storage error, [`Error::Integrity`] if a sealed value fails to open,
    /// or [`Error::ClockBehind`] if the clock is behind the vault's clock
    /// mark by more than `ttl` (the entry would never be seen).
    fn expire(&self, name: &str, ttl: Duration, cond: ExpireIf) -> Result<bool> {
        check_name(name)?;
        let key = self.env().stored_key(name);
        self.with_rows(Mode::Write, |rows| {
            let Some(current) = live_expiry(self.env(), rows, &key)? else {
                return Ok(false);
            };
            let at = rows.clock().saturating_add(duration_ms(ttl));
            if !cond.allows(current, at) {
                return Ok(false);
            }
            if ttl.is_zero() {
                rows.delete(&key, |_| Ok(()))?;
            } else {
                rows.check_new_expiry(at)?;
                set_expiry(self.env(), rows, &key, Some(at))?;
            }
            Ok(true)
        })
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
        check_name(name)?;
        let key = self.env().stored_key(name);
        self.with_rows(Mode::Write, |rows| {
            match live_expiry(self.env(), rows, &key)? {
                Some(Some(_)) => {
                    set_expiry(self.env(), rows, &key, None)?;
                    Ok(true)
                }
                Some(None) | None => Ok(false),
            }
        })
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
        self.with_rows(Mode::Read, |rows| rows.count())
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
    /// A storage error; [`Error::Integrity`] if a sealed name fails to open.
    fn keys(&self) -> Result<Vec<String>> {
        let mut names = self.with_rows(Mode::Read, |rows| {
            let mut names = Vec::new();
            scan_live::<Self::Env>(rows, false, |row| {
                names.push(self.env().open_name(rows, &row)?);
                Ok(())
            })?;
            Ok(names)
        })?;
        names.sort_unstable();
        Ok(names)
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
    /// [`Error::Decode`] if a value is not a `T`; [`Error::Integrity`] if
    /// sealed data fails to open; a storage error.
    fn items<T: DeserializeOwned>(&self) -> Result<Vec<(String, T)>> {
        let mut items = self.with_rows(Mode::Read, |rows| {
            let mut items = Vec::new();
            scan_live::<Self::Env>(rows, true, |row| {
                let name = self.env().open_name(rows, &row)?;
                let value = self.env().open_value(rows, &row, codec::decode)?;
                items.push((name, value));
                Ok(())
            })?;
            Ok(items)
        })?;
        items.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        Ok(items)
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
        Iter {
            store: self,
            after: None,
            page: VecDeque::new(),
            done: false,
        }
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
        put_all(
            self,
            items
                .into_iter()
                .map(|(name, value)| Ok((name, codec::encode(&value)?))),
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
        put_all(
            self,
            items.into_iter().map(|(name, bytes)| {
                codec::check_len(bytes.as_ref().len())?;
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
        let env = self.env();
        self.with_rows(Mode::Snapshot, |rows| {
            let mut missed = false;
            let mut out = Vec::new();
            for name in names {
                let name = name.as_ref();
                check_name(name)?;
                let key = env.stored_key(name);
                let value = rows.get(&key, |row| env.open_value(rows, &row, codec::decode))?;
                missed |= value.is_none();
                out.push(value);
            }
            if missed {
                env.check_current(rows)?;
            }
            Ok(out)
        })
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
        let env = self.env();
        self.with_rows(Mode::Write, |rows| {
            let mut out = Vec::new();
            for name in names {
                let name = name.as_ref();
                check_name(name)?;
                out.push(pop_row(env, rows, &env.stored_key(name), codec::decode)?);
            }
            Ok(out)
        })
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
        let env = self.env();
        self.with_rows(Mode::Snapshot, |rows| {
            for name in names {
                let name = name.as_ref();
                check_name(name)?;
                if live_expiry(env, rows, &env.stored_key(name))?.is_none() {
                    return Ok(false);
                }
            }
            Ok(true)
        })
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
        check_new_name(name)?;
        let plain = codec::encode(&default)?;
        let env = self.env();
        let key = env.stored_key(name);
        self.with_rows(Mode::Write, |rows| {
            if let Some(v) = rows.get(&key, |row| env.open_value(rows, &row, codec::decode))? {
                return Ok(v);
            }
            let sealed_name = env.seal_name(&key, name, None)?;
            let sealed = env.seal_value(&key, &plain, None)?;
            rows.upsert(&key, sealed_name.as_deref(), None, &sealed)?;
            Ok(default)
        })
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
        let env = self.env();
        self.with_rows(Mode::Write, |rows| {
            let Some(key) = rows.last_key()? else {
                return Ok(None);
            };
            rows.delete(&key, |row| {
                Ok((
                    env.open_name(rows, &row)?,
                    env.open_value(rows, &row, codec::decode)?,
                ))
            })
        })
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
        self.with_rows(Mode::Single, |rows| rows.clear().map(drop))
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
        let n = self.with_rows(Mode::Single, |rows| rows.delete_expired())?;
        tracing::debug!(deleted = n, "cleaned up expired entries");
        Ok(n)
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
    /// assert!(failed.is_err());
    /// assert_eq!(vault.get::<i32>("balance")?, Some(100));
    /// # Ok::<(), vaults::Error>(())
    /// ```
    ///
    /// # Errors
    /// Whatever `f` returns, or a storage error on begin or commit.
    fn transaction<R>(
        &self,
        f: impl FnOnce(&Transaction<'_, Self::Env>) -> Result<R>,
    ) -> Result<R> {
        self.with_rows(Mode::Write, |rows| f(&Transaction::new(*rows, self.env())))
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
    /// let vault = Vault::open(&path)?;
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
    fn snapshot<R>(&self, f: impl FnOnce(&Snapshot<'_, Self::Env>) -> Result<R>) -> Result<R> {
        self.with_rows(Mode::Snapshot, |rows| {
            f(&Snapshot::new(Transaction::new(*rows, self.env())))
        })
    }
}

/// A step of a bulk put ends after this many rows, or once its sealed rows
/// hold [`BULK_STEP_BYTES`], whichever comes first.
const BULK_STEP_ROWS: usize = 65_536;

/// The bytes of sealed rows a step of a bulk put holds at most (a little
/// over, by the last row), bounding its memory.
const BULK_STEP_BYTES: usize = 16 << 20;

/// The shared body of the bulk puts: in one write transaction, steps of
/// items (see [`BULK_STEP_ROWS`]) are sealed, sorted by stored key and
/// written. In key order, the inserts walk the key index once per step
/// instead of landing on a random page each (the keys of an encrypted vault
/// are hashes), so the larger the step, the fewer pages each row dirties;
/// the sort is stable, so of two values for one name the later still wins.
fn put_all<S, N, B>(store: &S, items: impl Iterator<Item = Result<(N, B)>>) -> Result<()>
where
    S: Store + ?Sized,
    N: AsRef<str>,
    B: AsRef<[u8]>,
{
    let env = store.env();
    store.with_rows(Mode::Write, |rows| {
        let mut items = items.peekable();
        let mut step = Vec::new();
        while items.peek().is_some() {
            step.clear();
            let mut bytes = 0;
            while step.len() < BULK_STEP_ROWS && bytes < BULK_STEP_BYTES {
                let Some(item) = items.next() else { break };
                let (name, plain) = item?;
                let name = name.as_ref();
                check_new_name(name)?;
                let key = env.stored_key(name);
                let sealed_name = env.seal_name(&key, name, None)?;
                let sealed =
                    Zeroizing::new(env.seal_value(&key, plain.as_ref(), None)?.into_owned());
                bytes += key.len() + sealed_name.as_ref().map_or(0, Vec::len) + sealed.len();
                step.push((key.to_vec(), sealed_name, sealed));
            }
            step.sort_by(|a, b| a.0.cmp(&b.0));
            for (key, name, value) in &step {
                rows.upsert(key, name.as_deref(), None, value)?;
            }
        }
        Ok(())
    })
}

/// The shared body of every write of one value.
fn write<S: Store + ?Sized>(store: &S, name: &str, plain: &[u8], ttl: SetTtl) -> Result<()> {
    if matches!(ttl, SetTtl::After(d) if d.is_zero()) {
        return store.remove(name).map(drop);
    }
    let env = store.env();
    let key = env.stored_key(name);
    match ttl {
        SetTtl::Clear | SetTtl::After(_) => {
            let at = match ttl {
                SetTtl::After(d) => Some(store.now_ms().saturating_add(duration_ms(d))),
                _ => None,
            };
            // Sealed before the lock is taken: crypto never holds up other writers.
            let sealed_name = env.seal_name(&key, name, at)?;
            let sealed = env.seal_value(&key, plain, at)?;
            store.with_rows(Mode::Single, |rows| {
                if let Some(at) = at {
                    rows.check_new_expiry(at)?;
                }
                rows.upsert(&key, sealed_name.as_deref(), at, &sealed)
            })
        }
        // The kept expiry is read verified (the `expires_at` column alone is
        // not authenticated, and sealing under it would make an expiry edited
        // in the file genuine).
        SetTtl::Keep => store.with_rows(Mode::Write, |rows| {
            let at = rows.head(&key, |row| {
                env.check_expiry(rows, &row)?;
                Ok(row.expires_at)
            })?;
            let at = at.flatten();
            let sealed_name = env.seal_name(&key, name, at)?;
            let sealed = env.seal_value(&key, plain, at)?;
            rows.upsert(&key, sealed_name.as_deref(), at, &sealed)
        }),
    }
}

/// The expiry of the live row under `key`, verified by the envelope: `None`
/// when there is no live row (a miss confirmed under current keys),
/// `Some(None)` when it never expires.
fn live_expiry<E: Envelope>(env: &E, rows: &Rows<'_>, key: &[u8]) -> Result<Option<Option<i64>>> {
    let found = rows.head(key, |row| {
        env.check_expiry(rows, &row)?;
        Ok(row.expires_at)
    })?;
    confirm(env, rows, found)
}

/// Hands every live row to `f`, for a listing sorted afterwards: in key
/// order where keys sort as names (the sort is then a pass over sorted
/// names), else in table order, which reads pages in sequence instead of
/// jumping from the index to the table at every row.
fn scan_live<E: Envelope>(
    rows: &Rows<'_>,
    values: bool,
    f: impl FnMut(RowRef<'_>) -> Result<()>,
) -> Result<()> {
    match E::KEYS_SORT_AS_NAMES {
        true => rows.scan(None, None, values, f).map(drop),
        false => rows.scan_all(values, f),
    }
}

/// Reads the live row under `name` and opens it with `f`.
fn read<S: Store + ?Sized, R>(
    store: &S,
    name: &str,
    f: impl FnOnce(&S::Env, &Rows<'_>, &RowRef<'_>) -> Result<R>,
) -> Result<Option<R>> {
    check_name(name)?;
    let env = store.env();
    let key = env.stored_key(name);
    store.with_rows(Mode::Read, |rows| {
        confirm(env, rows, rows.get(&key, |row| f(env, rows, &row))?)
    })
}

/// Deletes the live row under `key` and returns its value through `f`.
/// Run inside a write transaction, so an `f` that fails puts the row back.
fn pop_row<E: Envelope, R>(
    env: &E,
    rows: &Rows<'_>,
    key: &StoredKey<'_>,
    f: impl FnOnce(&[u8]) -> Result<R>,
) -> Result<Option<R>> {
    confirm(
        env,
        rows,
        rows.delete(key, |row| env.open_value(rows, &row, f))?,
    )
}

/// Passes on the answer of a lookup, but first, when it found nothing, makes
/// the envelope confirm its keys are current: under stale keys (another
/// handle rotated them) every lookup misses, and "absent" would be a lie.
fn confirm<E: Envelope, T>(env: &E, rows: &Rows<'_>, found: Option<T>) -> Result<Option<T>> {
    if found.is_none() {
        env.check_current(rows)?;
    }
    Ok(found)
}

/// Opens a row's value through `f` and, when the envelope binds the expiry,
/// seals its name and value again for the new expiry `at`.
fn reseal<E: Envelope, R>(
    env: &E,
    rows: &Rows<'_>,
    row: &RowRef<'_>,
    at: Option<i64>,
    f: impl FnOnce(&[u8]) -> Result<R>,
) -> Result<(R, Option<Resealed>)> {
    env.open_value(rows, row, |plain| {
        let out = f(plain)?;
        if !E::BINDS_EXPIRY {
            return Ok((out, None));
        }
        let name = env.open_name(rows, row)?;
        let resealed = Resealed {
            name: env.seal_name(row.key, &name, at)?,
            value: env.seal_value(row.key, plain, at)?.into_owned(),
        };
        Ok((out, Some(resealed)))
    })
}

/// Moves the expiry of the live row under `key`, sealing its value again
/// when the envelope binds the expiry.
fn set_expiry<E: Envelope>(env: &E, rows: &Rows<'_>, key: &[u8], at: Option<i64>) -> Result<()> {
    if !E::BINDS_EXPIRY {
        return rows.set_expiry(key, at, None);
    }
    if let Some(((), resealed)) = rows.get(key, |row| reseal(env, rows, &row, at, |_| Ok(())))? {
        rows.set_expiry(key, at, resealed.as_ref())?;
    }
    Ok(())
}

/// A streaming iterator over `(name, value)`; see [`Store::iter`].
///
/// Each page is read and opened in one short step; its entries then wait,
/// decoded, until `next` hands them out.
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

impl<S: Store + ?Sized, T: DeserializeOwned> Iter<'_, S, T> {
    fn fill(&mut self) -> Result<()> {
        let env = self.store.env();
        let (page, after) = (&mut self.page, &mut self.after);
        let seen = self.store.with_rows(Mode::Read, |rows| {
            let from = after.take();
            rows.scan(from.as_deref(), Some(PAGE), true, |row| {
                let item = env
                    .open_name(rows, &row)
                    .and_then(|name| Ok((name, env.open_value(rows, &row, codec::decode)?)));
                page.push_back(item);
                *after = Some(row.key.to_vec());
                Ok(())
            })
        })?;
        self.done = seen < PAGE;
        Ok(())
    }
}

impl<S: Store + ?Sized, T: DeserializeOwned> Iterator for Iter<'_, S, T> {
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
