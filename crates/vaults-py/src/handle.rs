//! `vaults._native.Store`: one open vault, plain or encrypted, with the
//! operations the Python classes are built on.
//!
//! Every call converts its Python arguments while holding the GIL, then
//! releases the GIL for the storage and crypto work, then converts the
//! result back. Inside `begin()`…`commit()`, the calls of the thread that
//! began run in that transaction; other threads wait for it to end.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use ciborium::value::Value;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};
use vaults::{Durability, EncryptedVault, Expiry, KdfParams, Kind, OpenOptions, Ttl, Vault};

use crate::clock::ManualClock;
use crate::convert::{Name, to_cbor, to_py};
use crate::errors::{Class, OrRaise, to_py as error_to_py};
use crate::ops::{Stored, Work};
use crate::passphrase::passphrase_from;
use crate::transaction::OpenTransaction;

/// The open vault.
pub(crate) enum Handle {
    Plain(Vault),
    Encrypted(EncryptedVault),
}

impl Handle {
    pub(crate) fn vault(&self) -> &Vault {
        match self {
            Handle::Plain(v) => v,
            Handle::Encrypted(v) => v,
        }
    }
}

/// An open vault as Python sees it.
#[pyclass(frozen, module = "vaults._native")]
pub(crate) struct Store {
    handle: RwLock<Option<Arc<Handle>>>,
    transaction: Mutex<Option<OpenTransaction>>,
}

fn options(clock: Option<&ManualClock>, durability: &str) -> PyResult<OpenOptions> {
    let durability = match durability {
        "full" => Durability::Full,
        "normal" => Durability::Normal,
        _ => return Err(Class::InvalidInput.err("durability must be 'full' or 'normal'")),
    };
    let options = OpenOptions::new().durability(durability);
    Ok(match clock {
        Some(c) => options.clock(c.inner()),
        None => options,
    })
}

fn expiry(ttl: Option<f64>) -> PyResult<Expiry> {
    match ttl {
        None => Ok(Expiry::Never),
        Some(seconds) => Ok(Expiry::After(duration(seconds)?)),
    }
}

fn duration(seconds: f64) -> PyResult<Duration> {
    if seconds.is_nan() || seconds <= 0.0 {
        return Err(Class::InvalidInput.err("a ttl must be a positive number of seconds"));
    }
    Duration::try_from_secs_f64(seconds)
        .map_err(|_| Class::InvalidInput.err("the ttl is too large"))
}

fn stored_to_py<'py>(py: Python<'py>, stored: Stored) -> PyResult<Bound<'py, PyAny>> {
    match stored {
        Stored::Cbor(v) => to_py(py, v),
        Stored::Raw(b) => Ok(pyo3::types::PyBytes::new(py, &b).into_any()),
    }
}

fn opt_to_py<'py>(py: Python<'py>, stored: Option<Stored>) -> PyResult<Bound<'py, PyAny>> {
    match stored {
        Some(s) => stored_to_py(py, s),
        None => Ok(py.None().into_bound(py)),
    }
}

impl Store {
    fn new(handle: Handle) -> Store {
        Store {
            handle: RwLock::new(Some(Arc::new(handle))),
            transaction: Mutex::new(None),
        }
    }

    fn handle(&self) -> PyResult<Arc<Handle>> {
        self.handle
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .ok_or_else(|| Class::VaultClosed.err("the vault is closed"))
    }

    /// Runs `work` with the GIL released: in this thread's open transaction
    /// if there is one, on the vault otherwise.
    fn run<R: Send + 'static>(&self, py: Python<'_>, work: Work<R>) -> PyResult<R> {
        let handle = self.handle()?;
        let transaction = &self.transaction;
        py.detach(move || {
            {
                let open = transaction.lock().unwrap_or_else(PoisonError::into_inner);
                if let Some(tx) = open.as_ref().filter(|tx| tx.is_mine()) {
                    return tx.run(work);
                }
            }
            work(handle.vault())
        })
        .map_err(error_to_py)
    }

    fn names(names: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
        names
            .try_iter()?
            .map(|n| Ok(n?.extract::<Name>()?.0))
            .collect()
    }
}

#[pymethods]
impl Store {
    /// Opens (or, with `create`, creates) the plain vault at `path`.
    #[staticmethod]
    #[pyo3(signature = (path, create, clock=None, durability="full"))]
    fn open_plain(
        py: Python<'_>,
        path: PathBuf,
        create: bool,
        clock: Option<PyRef<'_, ManualClock>>,
        durability: &str,
    ) -> PyResult<Store> {
        let options = options(clock.as_deref(), durability)?;
        let vault = py
            .detach(|| match create {
                true => options.open_or_create(&path),
                false => options.open(&path),
            })
            .or_raise()?;
        Ok(Store::new(Handle::Plain(vault)))
    }

    /// Opens (or creates) the encrypted vault at `path` with a passphrase
    /// (`str` or `bytes`), or with the key slot kept in the OS keyring.
    #[staticmethod]
    #[pyo3(signature = (path, passphrase, keyring, create, fast_kdf, clock=None, durability="full"))]
    #[allow(clippy::too_many_arguments)]
    fn open_encrypted(
        py: Python<'_>,
        path: PathBuf,
        passphrase: Option<&Bound<'_, PyAny>>,
        keyring: bool,
        create: bool,
        fast_kdf: bool,
        clock: Option<PyRef<'_, ManualClock>>,
        durability: &str,
    ) -> PyResult<Store> {
        let options = options(clock.as_deref(), durability)?;
        let passphrase = passphrase.map(passphrase_from).transpose()?;
        let params = if fast_kdf {
            KdfParams::MIN
        } else {
            KdfParams::DEFAULT
        };
        let ring = match keyring {
            true => Some(crate::keyring::os_keyring()?),
            false => None,
        };
        let vault = py
            .detach(|| -> vaults::Result<EncryptedVault> {
                let mut created = false;
                let mut vault = match (&passphrase, &ring) {
                    (Some(pass), _) if create => {
                        match EncryptedVault::create_with(&options, &path, pass, params) {
                            Ok(v) => {
                                created = true;
                                v
                            }
                            // It exists (or another process just made it): open it.
                            Err(vaults::Error::VaultExists { .. }) => {
                                EncryptedVault::open_with(&options, &path, pass)?
                            }
                            Err(e) => return Err(e),
                        }
                    }
                    (Some(pass), _) => EncryptedVault::open_with(&options, &path, pass)?,
                    (None, Some(ring)) => vaults::LockedVault::open_with(&options, &path)?
                        .with_keyring(ring.clone())
                        .unlock_with_keyring(ring)?,
                    (None, None) => {
                        return Err(vaults::Error::EmptyPassphrase);
                    }
                };
                if let (Some(_), Some(ring)) = (&passphrase, ring) {
                    // Later opens may then use the keyring alone.
                    vault.set_keyring(ring);
                    if let Err(e) = ensure_keyring_slot(&vault) {
                        // A vault made by this call is not left behind half set up.
                        if created {
                            let _ = vault.destroy();
                        }
                        return Err(e);
                    }
                }
                Ok(vault)
            })
            .or_raise()?;
        Ok(Store::new(Handle::Encrypted(vault)))
    }

    /// `"plain"` or `"encrypted"`.
    #[getter]
    fn kind(&self) -> PyResult<&'static str> {
        Ok(match self.handle()?.vault().kind() {
            Kind::Plain => "plain",
            _ => "encrypted",
        })
    }

    /// Whether `close` or `destroy` was called.
    #[getter]
    fn closed(&self) -> bool {
        self.handle
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .is_none()
    }

    #[pyo3(signature = (name, value, ttl=None))]
    fn put(
        &self,
        py: Python<'_>,
        name: Name,
        value: &Bound<'_, PyAny>,
        ttl: Option<f64>,
    ) -> PyResult<()> {
        let value = to_cbor(value)?;
        let expiry = expiry(ttl)?;
        self.run(py, Box::new(move |s| s.put(&name.0, &value, expiry)))
    }

    /// The value, and whether there was one (a stored `None` is `(None, True)`).
    fn get<'py>(&self, py: Python<'py>, name: Name) -> PyResult<Bound<'py, PyAny>> {
        let found = self.run(py, Box::new(move |s| s.get(&name.0)))?;
        let present = found.is_some();
        PyTuple::new(
            py,
            [
                opt_to_py(py, found)?,
                present.into_pyobject(py)?.to_owned().into_any(),
            ],
        )
        .map(Bound::into_any)
    }

    fn get_ex<'py>(&self, py: Python<'py>, name: Name, ttl: f64) -> PyResult<Bound<'py, PyAny>> {
        let ttl = duration(ttl)?;
        let found = self.run(py, Box::new(move |s| s.get_ex(&name.0, ttl)))?;
        let present = found.is_some();
        PyTuple::new(
            py,
            [
                opt_to_py(py, found)?,
                present.into_pyobject(py)?.to_owned().into_any(),
            ],
        )
        .map(Bound::into_any)
    }

    fn contains(&self, py: Python<'_>, name: Name) -> PyResult<bool> {
        self.run(py, Box::new(move |s| s.contains(&name.0)))
    }

    fn remove(&self, py: Python<'_>, name: Name) -> PyResult<bool> {
        self.run(py, Box::new(move |s| s.remove(&name.0)))
    }

    /// `(value, present)` as for `get`, removing the entry.
    fn pop<'py>(&self, py: Python<'py>, name: Name) -> PyResult<Bound<'py, PyAny>> {
        let found = self.run(py, Box::new(move |s| s.pop(&name.0)))?;
        let present = found.is_some();
        PyTuple::new(
            py,
            [
                opt_to_py(py, found)?,
                present.into_pyobject(py)?.to_owned().into_any(),
            ],
        )
        .map(Bound::into_any)
    }

    fn len(&self, py: Python<'_>) -> PyResult<u64> {
        self.run(py, Box::new(|s| s.len()))
    }

    fn keys<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let keys = self.run(py, Box::new(|s| s.keys()))?;
        PyList::new(py, keys)
    }

    fn items<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let items = self.run(py, Box::new(|s| s.items()))?;
        let items = items
            .into_iter()
            .map(|(k, v)| PyTuple::new(py, [k.into_pyobject(py)?.into_any(), stored_to_py(py, v)?]))
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, items)
    }

    fn values<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let items = self.run(py, Box::new(|s| s.items()))?;
        let values = items
            .into_iter()
            .map(|(_, v)| stored_to_py(py, v))
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, values)
    }

    /// Stores every `(name, value)` of `items` (a dict or an iterable of
    /// pairs) in one transaction; returns how many pairs it was given.
    fn put_many(&self, py: Python<'_>, items: &Bound<'_, PyAny>) -> PyResult<usize> {
        let pairs: Vec<(String, Value)> = if let Ok(dict) = items.cast::<PyDict>() {
            dict.iter()
                .map(|(k, v)| Ok((k.extract::<Name>()?.0, to_cbor(&v)?)))
                .collect::<PyResult<_>>()?
        } else {
            items
                .try_iter()?
                .map(|pair| {
                    let (k, v): (Name, Bound<'_, PyAny>) = pair?.extract()?;
                    Ok((k.0, to_cbor(&v)?))
                })
                .collect::<PyResult<_>>()?
        };
        let count = pairs.len();
        if count > 0 {
            self.run(py, Box::new(move |s| s.put_many(pairs)))?;
        }
        Ok(count)
    }

    /// `{name: value}` of the names present.
    fn get_many<'py>(
        &self,
        py: Python<'py>,
        names: &Bound<'_, PyAny>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let names = Store::names(names)?;
        let (names, values) = self
            .run(py, Box::new(move |s| Ok((s.get_many(&names)?, names))))
            .map(|(v, n)| (n, v))?;
        found_dict(py, names, values)
    }

    fn pop_many<'py>(
        &self,
        py: Python<'py>,
        names: &Bound<'_, PyAny>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let names = Store::names(names)?;
        let (names, values) = self
            .run(py, Box::new(move |s| Ok((s.pop_many(&names)?, names))))
            .map(|(v, n)| (n, v))?;
        found_dict(py, names, values)
    }

    fn has_keys(&self, py: Python<'_>, names: &Bound<'_, PyAny>) -> PyResult<bool> {
        let names = Store::names(names)?;
        self.run(py, Box::new(move |s| s.has_keys(&names)))
    }

    fn setdefault<'py>(
        &self,
        py: Python<'py>,
        name: Name,
        default: &Bound<'_, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let default = to_cbor(default)?;
        let stored = self.run(py, Box::new(move |s| s.setdefault(&name.0, default)))?;
        stored_to_py(py, stored)
    }

    /// `(name, value)`, or `None` when the vault is empty.
    fn pop_item<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match self.run(py, Box::new(|s| s.pop_item()))? {
            Some((k, v)) => {
                PyTuple::new(py, [k.into_pyobject(py)?.into_any(), stored_to_py(py, v)?])
                    .map(Bound::into_any)
            }
            None => Ok(py.None().into_bound(py)),
        }
    }

    fn clear(&self, py: Python<'_>) -> PyResult<()> {
        self.run(py, Box::new(|s| s.clear()))
    }

    /// `(present, seconds_left)`: seconds is `None` for an entry that never expires.
    fn ttl(&self, py: Python<'_>, name: Name) -> PyResult<(bool, Option<f64>)> {
        Ok(match self.run(py, Box::new(move |s| s.ttl(&name.0)))? {
            None => (false, None),
            Some(Ttl::Never) => (true, None),
            Some(Ttl::Remaining(d)) => (true, Some(d.as_secs_f64())),
        })
    }

    fn expire(&self, py: Python<'_>, name: Name, ttl: f64) -> PyResult<bool> {
        let ttl = duration(ttl)?;
        self.run(py, Box::new(move |s| s.expire(&name.0, ttl)))
    }

    fn persist(&self, py: Python<'_>, name: Name) -> PyResult<bool> {
        self.run(py, Box::new(move |s| s.persist(&name.0)))
    }

    fn cleanup_expired(&self, py: Python<'_>) -> PyResult<u64> {
        self.run(py, Box::new(|s| s.cleanup_expired()))
    }

    /// Opens a write transaction for the calling thread.
    fn begin(&self, py: Python<'_>) -> PyResult<()> {
        let handle = self.handle()?;
        {
            let open = self
                .transaction
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if open.as_ref().is_some_and(OpenTransaction::is_mine) {
                return Err(Class::VaultError.err("a transaction is already open on this thread"));
            }
        }
        // Taking the write lock may wait for another thread's transaction.
        let transaction = &self.transaction;
        py.detach(move || -> PyResult<()> {
            loop {
                let mut open = transaction.lock().unwrap_or_else(PoisonError::into_inner);
                if open.is_none() {
                    *open = Some(OpenTransaction::begin(handle).map_err(error_to_py)?);
                    return Ok(());
                }
                drop(open);
                std::thread::sleep(Duration::from_millis(1));
            }
        })
    }

    /// Ends this thread's transaction: commits it, or rolls it back.
    fn end(&self, py: Python<'_>, commit: bool) -> PyResult<()> {
        let open = {
            let mut open = self
                .transaction
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            match open.as_ref() {
                Some(tx) if tx.is_mine() => open.take(),
                _ => None,
            }
        };
        match open {
            Some(tx) => py.detach(move || tx.end(commit)).or_raise(),
            None => Err(Class::VaultError.err("no transaction is open on this thread")),
        }
    }

    /// Closes the vault; later calls raise `VaultClosed`. Idempotent.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let Some(handle) = self.take_handle() else {
            return Ok(());
        };
        py.detach(move || match Arc::try_unwrap(handle) {
            Ok(Handle::Plain(v)) => v.close(),
            Ok(Handle::Encrypted(v)) => v.close(),
            // Another thread's call still holds it: it closes when that ends.
            Err(_) => Ok(()),
        })
        .or_raise()
    }

    /// Closes the vault and deletes its files.
    fn destroy(&self, py: Python<'_>) -> PyResult<()> {
        let Some(handle) = self.take_handle() else {
            return Err(Class::VaultClosed.err("the vault is closed"));
        };
        let path = handle.vault().path().map(PathBuf::from);
        py.detach(move || {
            // A vault on a server has no file to remove behind the back of
            // a call still running on another thread: it is destroyed once
            // that call has let go of the handle (none can take it again).
            let waited = std::time::Instant::now();
            while path.is_none() && Arc::strong_count(&handle) > 1 {
                if waited.elapsed() > SERVER_DESTROY_WAIT {
                    return Err(vaults::Error::Busy);
                }
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            match Arc::try_unwrap(handle) {
                Ok(Handle::Plain(v)) => v.destroy(),
                Ok(Handle::Encrypted(v)) => v.destroy(),
                Err(shared) => {
                    drop(shared);
                    match path {
                        Some(p) => remove_files(&p),
                        None => Err(vaults::Error::Busy),
                    }
                }
            }
        })
        .or_raise()
    }
}

impl Store {
    /// Ends any transaction (rolled back) and takes the handle out.
    fn take_handle(&self) -> Option<Arc<Handle>> {
        let open = self
            .transaction
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(tx) = open {
            let _ = tx.end(false);
        }
        self.handle
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }
}

/// How long `destroy` of a vault on a server waits for calls still running
/// on other threads.
const SERVER_DESTROY_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Adds a keyring slot unless the vault has one.
fn ensure_keyring_slot(vault: &EncryptedVault) -> vaults::Result<()> {
    let has_one = vault
        .slots()?
        .iter()
        .any(|s| matches!(s, vaults::SlotInfo::Keyring { .. }));
    if !has_one {
        vault.add_keyring_slot()?;
    }
    Ok(())
}

fn remove_files(path: &std::path::Path) -> vaults::Result<()> {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        match std::fs::remove_file(PathBuf::from(p)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

fn found_dict<'py>(
    py: Python<'py>,
    names: Vec<String>,
    values: Vec<Option<Stored>>,
) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    for (name, value) in names.into_iter().zip(values) {
        if let Some(v) = value {
            dict.set_item(name, stored_to_py(py, v)?)?;
        }
    }
    Ok(dict)
}
