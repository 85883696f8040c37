//! The reference model of a vault's entries: every row, expired or not, as
//! its value and expiry in a `BTreeMap`, and the time it is seen at (a fake
//! clock, moved in step with the vault's `ManualClock`). Each operation says
//! what the vault's operation of the same name must return and leaves the
//! rows the vault must then hold, so a test drives both and compares.
//!
//! The semantics are the library's (where the three models that came before
//! this one disagreed, the library decided):
//! - an entry is alive while its expiry is later than now;
//! - a zero TTL deletes (`put_with_ttl`, `expire` where the condition lets
//!   it act, `get_ex`, which is then `pop`);
//! - `remove`, `pop` and `get_ex` with a zero TTL delete the row under the
//!   name even when it has expired (and answer as if it were absent);
//! - `put_keep_ttl` keeps the expiry of a live entry only: an expired one is
//!   replaced as new, without expiry;
//! - `expire` acts on live entries only, under Redis's conditions, where no
//!   expiry counts as forever (`Sooner` always acts on it, `Later` never);
//! - `cleanup_expired` deletes and counts the expired rows; so does
//!   [`Model::drop_expired`], for what deletes them on the way (a rotation);
//! - inside a transaction time stands still: call the operations of a
//!   transaction on a clone, without moving its clock, and keep the clone
//!   when the transaction commits.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::time::Duration;

use serde::de::DeserializeOwned;
use vaults::{ExpireIf, Store, Ttl};

/// The rows of a vault and the time they are seen at.
#[derive(Debug, Clone)]
pub struct Model<V> {
    /// Name → (value, expiry in ms), expired rows included.
    rows: BTreeMap<String, (V, Option<i64>)>,
    /// The model's clock, in ms since the epoch.
    now: i64,
}

impl<V: Clone> Model<V> {
    /// An empty vault seen at `now` (ms since the epoch).
    pub fn new(now: i64) -> Self {
        Self {
            rows: BTreeMap::new(),
            now,
        }
    }

    /// The model's time, in ms since the epoch.
    pub fn now(&self) -> i64 {
        self.now
    }

    /// Moves the model's clock forward, as `ManualClock::advance`.
    pub fn advance(&mut self, by: Duration) {
        self.now = self.now.saturating_add(duration_ms(by));
    }

    /// The expiry `ttl` from now.
    fn expiry(&self, ttl: Duration) -> i64 {
        self.now.saturating_add(duration_ms(ttl))
    }

    fn alive(&self, at: Option<i64>) -> bool {
        at.is_none_or(|at| at > self.now)
    }

    /// The live row under `name`.
    fn live(&self, name: &str) -> Option<(V, Option<i64>)> {
        self.rows
            .get(name)
            .filter(|(_, at)| self.alive(*at))
            .cloned()
    }

    /// `put`: the value, without expiry.
    pub fn put(&mut self, name: &str, value: V) {
        self.rows.insert(name.to_owned(), (value, None));
    }

    /// `put_with_ttl`: the value, expiring `ttl` from now; zero deletes.
    pub fn put_with_ttl(&mut self, name: &str, value: V, ttl: Duration) {
        if ttl.is_zero() {
            self.rows.remove(name);
        } else {
            let at = self.expiry(ttl);
            self.rows.insert(name.to_owned(), (value, Some(at)));
        }
    }

    /// `put_keep_ttl`: the value, with the expiry of the live entry it
    /// replaces (none for a new or an expired one).
    pub fn put_keep_ttl(&mut self, name: &str, value: V) {
        let at = self.live(name).and_then(|(_, at)| at);
        self.rows.insert(name.to_owned(), (value, at));
    }

    /// `put_many`: each value without expiry, in order (a later value for
    /// the same name wins).
    pub fn put_many<N: AsRef<str>>(&mut self, items: impl IntoIterator<Item = (N, V)>) {
        for (name, value) in items {
            self.put(name.as_ref(), value);
        }
    }

    /// `get`.
    pub fn get(&self, name: &str) -> Option<V> {
        self.live(name).map(|(v, _)| v)
    }

    /// `contains`.
    pub fn contains(&self, name: &str) -> bool {
        self.live(name).is_some()
    }

    /// `ttl`: `None` for no live entry.
    pub fn ttl(&self, name: &str) -> Option<Ttl> {
        self.live(name).map(|(_, at)| match at {
            None => Ttl::Never,
            Some(at) => Ttl::Remaining(Duration::from_millis(
                u64::try_from(at - self.now).expect("a live entry expires later"),
            )),
        })
    }

    /// `remove`: whether a live entry was removed (an expired row goes too).
    pub fn remove(&mut self, name: &str) -> bool {
        self.pop(name).is_some()
    }

    /// `pop` (and `take`): the live value (an expired row goes too).
    pub fn pop(&mut self, name: &str) -> Option<V> {
        let live = self.get(name);
        self.rows.remove(name);
        live
    }

    /// Whether Redis's condition `cond` lets `expire` move an expiry of
    /// `current` to `new` (no expiry counts as forever).
    fn allows(cond: ExpireIf, current: Option<i64>, new: i64) -> bool {
        match cond {
            ExpireIf::Always => true,
            ExpireIf::NoExpiry => current.is_none(),
            ExpireIf::HasExpiry => current.is_some(),
            ExpireIf::Later => current.is_some_and(|c| new > c),
            ExpireIf::Sooner => current.is_none_or(|c| new < c),
            other => panic!("the model does not know the condition {other:?}"),
        }
    }

    /// `expire`: whether the live entry's expiry was set to `ttl` from now
    /// (zero deletes it).
    pub fn expire(&mut self, name: &str, ttl: Duration, cond: ExpireIf) -> bool {
        let Some((value, current)) = self.live(name) else {
            return false;
        };
        let at = self.expiry(ttl);
        if !Self::allows(cond, current, at) {
            return false;
        }
        if ttl.is_zero() {
            self.rows.remove(name);
        } else {
            self.rows.insert(name.to_owned(), (value, Some(at)));
        }
        true
    }

    /// `persist`: whether a live entry lost its expiry.
    pub fn persist(&mut self, name: &str) -> bool {
        match self.live(name) {
            Some((value, Some(_))) => {
                self.rows.insert(name.to_owned(), (value, None));
                true
            }
            _ => false,
        }
    }

    /// `get_ex`: the live value, its expiry moved to `ttl` from now; a zero
    /// TTL is `pop`.
    pub fn get_ex(&mut self, name: &str, ttl: Duration) -> Option<V> {
        if ttl.is_zero() {
            return self.pop(name);
        }
        let (value, _) = self.live(name)?;
        let at = self.expiry(ttl);
        self.rows.insert(name.to_owned(), (value.clone(), Some(at)));
        Some(value)
    }

    /// `get_or_insert`: the live value, or `value` stored without expiry.
    pub fn get_or_insert(&mut self, name: &str, value: V) -> V {
        match self.get(name) {
            Some(old) => old,
            None => {
                self.put(name, value.clone());
                value
            }
        }
    }

    /// `len`: the live entries.
    pub fn len(&self) -> u64 {
        self.rows.values().filter(|(_, at)| self.alive(*at)).count() as u64
    }

    /// `is_empty`.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `keys`: the live names, sorted.
    pub fn keys(&self) -> Vec<String> {
        self.items().into_iter().map(|(k, _)| k).collect()
    }

    /// `items`: the live entries in name order.
    pub fn items(&self) -> Vec<(String, V)> {
        self.rows
            .iter()
            .filter(|(_, (_, at))| self.alive(*at))
            .map(|(k, (v, _))| (k.clone(), v.clone()))
            .collect()
    }

    /// `clear`.
    pub fn clear(&mut self) {
        self.rows.clear();
    }

    /// `cleanup_expired`: how many expired rows were deleted.
    pub fn cleanup_expired(&mut self) -> u64 {
        self.drop_expired()
    }

    /// Deletes the expired rows and counts them: what `cleanup_expired`
    /// does, and a rotation on the way.
    pub fn drop_expired(&mut self) -> u64 {
        let before = self.rows.len();
        let now = self.now;
        self.rows.retain(|_, (_, at)| at.is_none_or(|at| at > now));
        (before - self.rows.len()) as u64
    }

    /// Every row the vault's file holds, expired or not (what a raw
    /// `count(*)` of its entries sees).
    pub fn row_count(&self) -> u64 {
        self.rows.len() as u64
    }
}

impl<V: Clone + PartialEq + Debug + DeserializeOwned> Model<V> {
    /// Compares every read of `store` with the model: `len`, `keys`, and
    /// `get` and `ttl` of each of `names` and of every name the model has
    /// seen. Returns the first difference, or a read's error, as text.
    pub fn check<S: Store>(&self, store: &S, names: &[&str]) -> Result<(), String> {
        fn same<T: PartialEq + Debug>(what: &str, got: T, want: T) -> Result<(), String> {
            match got == want {
                true => Ok(()),
                false => Err(format!(
                    "{what}: the vault says {got:?}, the model {want:?}"
                )),
            }
        }
        let read = |e: vaults::Error| format!("a read failed: {e}");
        same("len", store.len().map_err(read)?, self.len())?;
        same("keys", store.keys().map_err(read)?, self.keys())?;
        let seen = self.rows.keys().map(String::as_str);
        for name in names.iter().copied().chain(seen) {
            let got = store.get::<V>(name).map_err(read)?;
            same(&format!("get({name:?})"), got, self.get(name))?;
            let got = store.ttl(name).map_err(read)?;
            same(&format!("ttl({name:?})"), got, self.ttl(name))?;
        }
        Ok(())
    }
}

/// A duration in whole ms, saturating (as the library counts expiries).
fn duration_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}
