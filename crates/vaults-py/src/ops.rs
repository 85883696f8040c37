//! The operations the Python classes make, over any [`Store`]: the vault
//! itself, or an open transaction. Object-safe, so one closure type serves
//! both (see `handle.rs`).

use std::time::Duration;

use ciborium::value::Value;
use vaults::{Error, ExpireIf, Expiry, Result, Store, Ttl};

/// A stored value: CBOR (everything Python writes), or raw bytes that a
/// Rust program stored with `put_bytes` and that are not CBOR.
pub(crate) enum Stored {
    Cbor(Value),
    Raw(Vec<u8>),
}

/// One call's work, run on the vault or inside a transaction.
pub(crate) type Work<R> = Box<dyn FnOnce(&dyn Ops) -> Result<R> + Send>;

/// The store operations the package uses, object-safe.
pub(crate) trait Ops {
    fn put(&self, name: &str, value: &Value, expiry: Expiry) -> Result<()>;
    fn get(&self, name: &str) -> Result<Option<Stored>>;
    fn get_ex(&self, name: &str, ttl: Duration) -> Result<Option<Stored>>;
    fn contains(&self, name: &str) -> Result<bool>;
    fn remove(&self, name: &str) -> Result<bool>;
    fn pop(&self, name: &str) -> Result<Option<Stored>>;
    fn len(&self) -> Result<u64>;
    fn keys(&self) -> Result<Vec<String>>;
    fn items(&self) -> Result<Vec<(String, Stored)>>;
    fn put_many(&self, items: Vec<(String, Value)>) -> Result<()>;
    fn get_many(&self, names: &[String]) -> Result<Vec<Option<Stored>>>;
    fn pop_many(&self, names: &[String]) -> Result<Vec<Option<Stored>>>;
    fn has_keys(&self, names: &[String]) -> Result<bool>;
    fn setdefault(&self, name: &str, default: Value) -> Result<Stored>;
    fn pop_item(&self) -> Result<Option<(String, Stored)>>;
    fn clear(&self) -> Result<()>;
    fn ttl(&self, name: &str) -> Result<Option<Ttl>>;
    fn expire(&self, name: &str, ttl: Duration) -> Result<bool>;
    fn persist(&self, name: &str) -> Result<bool>;
    fn cleanup_expired(&self) -> Result<u64>;
}

/// A value read as CBOR, or as its raw bytes when it is not CBOR.
fn stored<S: Store>(s: &S, name: &str, typed: Result<Option<Value>>) -> Result<Option<Stored>> {
    match typed {
        Err(Error::Decode { .. }) => Ok(s.get_bytes(name)?.map(|b| Stored::Raw(b.to_vec()))),
        other => Ok(other?.map(Stored::Cbor)),
    }
}

impl<S: Store> Ops for S {
    fn put(&self, name: &str, value: &Value, expiry: Expiry) -> Result<()> {
        self.put_with(name, value, expiry)
    }

    fn get(&self, name: &str) -> Result<Option<Stored>> {
        stored(self, name, Store::get(self, name))
    }

    fn get_ex(&self, name: &str, ttl: Duration) -> Result<Option<Stored>> {
        match Store::get_ex::<Value>(self, name, ttl) {
            Err(Error::Decode { .. }) => {
                let raw = self.get_bytes(name)?;
                if raw.is_some() {
                    Store::expire(self, name, ttl, ExpireIf::Always)?;
                }
                Ok(raw.map(|b| Stored::Raw(b.to_vec())))
            }
            other => Ok(other?.map(Stored::Cbor)),
        }
    }

    fn contains(&self, name: &str) -> Result<bool> {
        Store::contains(self, name)
    }

    fn remove(&self, name: &str) -> Result<bool> {
        Store::remove(self, name)
    }

    fn pop(&self, name: &str) -> Result<Option<Stored>> {
        match Store::pop::<Value>(self, name) {
            Err(Error::Decode { .. }) => {
                let raw = self.get_bytes(name)?;
                Store::remove(self, name)?;
                Ok(raw.map(|b| Stored::Raw(b.to_vec())))
            }
            other => Ok(other?.map(Stored::Cbor)),
        }
    }

    fn len(&self) -> Result<u64> {
        Store::len(self)
    }

    fn keys(&self) -> Result<Vec<String>> {
        Store::keys(self)
    }

    fn items(&self) -> Result<Vec<(String, Stored)>> {
        match Store::items::<Value>(self) {
            Ok(items) => Ok(items
                .into_iter()
                .map(|(k, v)| (k, Stored::Cbor(v)))
                .collect()),
            // Some value is raw bytes: read them one by one.
            Err(Error::Decode { .. }) => {
                let mut out = Vec::new();
                for name in Store::keys(self)? {
                    if let Some(v) = Ops::get(self, &name)? {
                        out.push((name, v));
                    }
                }
                Ok(out)
            }
            Err(e) => Err(e),
        }
    }

    fn put_many(&self, items: Vec<(String, Value)>) -> Result<()> {
        Store::put_many(self, items)
    }

    fn get_many(&self, names: &[String]) -> Result<Vec<Option<Stored>>> {
        match Store::get_many::<Value, _, _>(self, names) {
            Ok(values) => Ok(values.into_iter().map(|v| v.map(Stored::Cbor)).collect()),
            Err(Error::Decode { .. }) => names.iter().map(|n| Ops::get(self, n)).collect(),
            Err(e) => Err(e),
        }
    }

    fn pop_many(&self, names: &[String]) -> Result<Vec<Option<Stored>>> {
        match Store::pop_many::<Value, _, _>(self, names) {
            Ok(values) => Ok(values.into_iter().map(|v| v.map(Stored::Cbor)).collect()),
            Err(Error::Decode { .. }) => names.iter().map(|n| Ops::pop(self, n)).collect(),
            Err(e) => Err(e),
        }
    }

    fn has_keys(&self, names: &[String]) -> Result<bool> {
        Store::has_keys(self, names)
    }

    fn setdefault(&self, name: &str, default: Value) -> Result<Stored> {
        match Store::get_or_insert(self, name, default) {
            Err(Error::Decode { .. }) => {
                Ok(Ops::get(self, name)?.unwrap_or(Stored::Cbor(Value::Null)))
            }
            other => other.map(Stored::Cbor),
        }
    }

    fn pop_item(&self) -> Result<Option<(String, Stored)>> {
        match Store::pop_item::<Value>(self) {
            Err(Error::Decode { .. }) => {
                let Some(name) = Store::keys(self)?.into_iter().next() else {
                    return Ok(None);
                };
                Ok(Ops::pop(self, &name)?.map(|v| (name, v)))
            }
            other => Ok(other?.map(|(k, v)| (k, Stored::Cbor(v)))),
        }
    }

    fn clear(&self) -> Result<()> {
        Store::clear(self)
    }

    fn ttl(&self, name: &str) -> Result<Option<Ttl>> {
        Store::ttl(self, name)
    }

    fn expire(&self, name: &str, ttl: Duration) -> Result<bool> {
        Store::expire(self, name, ttl, ExpireIf::Always)
    }

    fn persist(&self, name: &str) -> Result<bool> {
        Store::persist(self, name)
    }

    fn cleanup_expired(&self) -> Result<u64> {
        Store::cleanup_expired(self)
    }
}
