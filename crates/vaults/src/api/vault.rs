//! [`Vault`]: a handle on one vault, plain or (inside an
//! [`EncryptedVault`](crate::EncryptedVault)) sealed.

use std::fmt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use super::op::{Op, Scope, Scoped, Token};
use super::options::OpenOptions;
use crate::codec::Codec;
use crate::crypto::meta;
use crate::engine::{Engine, Mode};
use crate::{Error, Kind, Result, Store};

/// A key-value store in one SQLite file, with expiry.
///
/// Every entry operation is in the [`Store`] trait. A `Vault` is
/// `Send + Sync`: share one across threads with an `Arc`. Several processes
/// may open the same file at once.
///
/// ```
/// use vaults::{Store, Vault};
///
/// let vault = Vault::open_in_memory()?;
/// vault.put("host", "localhost")?;
/// assert_eq!(vault.get::<String>("host")?.as_deref(), Some("localhost"));
/// # Ok::<(), vaults::Error>(())
/// ```
pub struct Vault {
    pub(crate) engine: Box<dyn Engine>,
    pub(crate) codec: Codec,
    /// The engine's change token at which storage last held the sealer's
    /// key generation, or [`UNCONFIRMED`]. While the token stays the same
    /// nothing committed since, so the generation record needs no new read.
    confirmed: AtomicU64,
}

/// No change token confirmed yet.
const UNCONFIRMED: u64 = u64::MAX;

impl fmt::Debug for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys: &dyn fmt::Debug = match &self.codec {
            Codec::Plain => &"none",
            Codec::Sealed(_) => &"[redacted]",
        };
        f.debug_struct("Vault")
            .field("path", &self.engine.path())
            .field("kind", &self.engine.kind())
            .field("keys", keys)
            .finish_non_exhaustive()
    }
}

impl Vault {
    /// A handle on `engine`, reading and writing rows through `codec`.
    pub(crate) fn from_parts(engine: Box<dyn Engine>, codec: Codec) -> Vault {
        Vault {
            engine,
            codec,
            confirmed: AtomicU64::new(UNCONFIRMED),
        }
    }

    /// Creates a new plain vault at `path`; a file already there is
    /// [`Error::VaultExists`] (see [`OpenOptions::create`]).
    ///
    /// ```
    /// use vaults::{Error, Vault};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("app.db");
    /// Vault::create(&path)?;
    /// assert!(matches!(Vault::create(&path), Err(Error::VaultExists { .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// As [`OpenOptions::create`].
    pub fn create(path: impl AsRef<Path>) -> Result<Vault> {
        OpenOptions::new().create(path)
    }

    /// Opens the plain vault at `path`, which must exist.
    ///
    /// ```
    /// use vaults::{Error, Vault};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("app.db");
    /// assert!(matches!(Vault::open(&path), Err(Error::VaultNotFound { .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::VaultNotFound`] if there is no file; otherwise as
    /// [`OpenOptions::open`].
    pub fn open(path: impl AsRef<Path>) -> Result<Vault> {
        OpenOptions::new().open(path)
    }

    /// Opens the plain vault at `path`, creating it if it is missing.
    ///
    /// ```
    /// use vaults::{Store, Vault};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let vault = Vault::open_or_create(dir.path().join("app.db"))?;
    /// vault.put("k", "v")?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// As [`OpenOptions::open_or_create`].
    pub fn open_or_create(path: impl AsRef<Path>) -> Result<Vault> {
        OpenOptions::new().open_or_create(path)
    }

    /// A new, empty vault in memory (for tests and scratch work).
    ///
    /// ```
    /// use vaults::{Store, Vault};
    /// let vault = Vault::open_in_memory()?;
    /// assert!(vault.is_empty()?);
    /// # Ok::<(), vaults::Error>(())
    /// ```
    ///
    /// # Errors
    /// Only if SQLite cannot allocate.
    pub fn open_in_memory() -> Result<Vault> {
        OpenOptions::new().open_in_memory()
    }

    /// Settings for opening a vault (durability, busy timeout, size cap,
    /// clock): the same as [`OpenOptions::new`].
    ///
    /// ```
    /// use vaults::{Durability, Vault};
    /// let vault = Vault::options().durability(Durability::Normal).open_in_memory()?;
    /// # Ok::<(), vaults::Error>(())
    /// ```
    pub fn options() -> OpenOptions {
        OpenOptions::new()
    }

    /// The file behind this vault (`None` in memory).
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("app.db");
    /// let vault = vaults::Vault::open_or_create(&path)?;
    /// assert_eq!(vault.path(), Some(path.as_path()));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn path(&self) -> Option<&Path> {
        self.engine.path()
    }

    /// The vault's random 16-byte id, fixed at creation.
    ///
    /// ```
    /// let (a, b) = (vaults::Vault::open_in_memory()?, vaults::Vault::open_in_memory()?);
    /// assert_ne!(a.id(), b.id());
    /// # Ok::<(), vaults::Error>(())
    /// ```
    pub fn id(&self) -> [u8; 16] {
        self.engine.vault_id()
    }

    /// Whether this vault is plain or encrypted (a `&Vault` may be the
    /// inside of an [`EncryptedVault`](crate::EncryptedVault)).
    ///
    /// ```
    /// use vaults::{EncryptedVault, KdfParams, Kind, Passphrase, Vault};
    ///
    /// let pass = Passphrase::new("correct horse battery staple")?;
    /// let sealed = EncryptedVault::create_in_memory(&pass, KdfParams::MIN)?;
    /// let any: &Vault = &sealed;
    /// assert_eq!(any.kind(), Kind::Encrypted);
    /// assert_eq!(Vault::open_in_memory()?.kind(), Kind::Plain);
    /// # Ok::<(), vaults::Error>(())
    /// ```
    pub fn kind(&self) -> Kind {
        self.engine.kind()
    }

    /// Closes the connection, reporting any error SQLite has on the way.
    ///
    /// ```
    /// vaults::Vault::open_in_memory()?.close()?;
    /// # Ok::<(), vaults::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Sqlite`] if SQLite fails to close cleanly.
    pub fn close(self) -> Result<()> {
        self.engine.close()
    }

    /// Closes the vault and deletes its file (with its `-wal` and `-shm`).
    ///
    /// ```
    /// use vaults::Vault;
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("temporary.db");
    /// Vault::create(&path)?.destroy()?;
    /// assert!(!path.exists());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Io`] if a file cannot be removed.
    pub fn destroy(self) -> Result<()> {
        self.engine.destroy()
    }

    /// Runs `f` on the rows in `mode`: the entry point of every operation
    /// on this vault (inside a [`Transaction`](crate::Transaction), operations
    /// run on its rows instead).
    ///
    /// An encrypted vault runs every write in a write transaction and first
    /// checks, under the write lock, that no other handle rotated the key: a
    /// write under old keys would be unreadable.
    pub(crate) fn run<R>(&self, mode: Mode, f: impl FnOnce(&Op<'_>) -> Result<R>) -> Result<R> {
        let mode = match (&self.codec, mode) {
            (Codec::Sealed(_), Mode::Single) => Mode::Write,
            (_, mode) => mode,
        };
        self.engine.with(mode, |rows| {
            let op = Op { vault: self, rows };
            if mode == Mode::Write {
                op.confirm_current()?;
            }
            f(&op)
        })
    }

    /// Checks that the sealer's key generation is still the file's (a no-op
    /// for a plain vault). Called in every write transaction and after a
    /// lookup misses, since a miss cannot tell "absent" from "stored under
    /// another key".
    ///
    /// Reads the generation record only when a transaction has committed
    /// since the last time it matched (on any connection: the engine's
    /// change token tells). That makes a miss cost one lookup. It stays
    /// sound when the check runs as a statement of its own after the lookup
    /// it confirms: generations only grow, and this handle's was the file's
    /// before that lookup began, so a later snapshot that still holds it
    /// proves the lookup's snapshot held it too.
    pub(crate) fn confirm_current(&self, rows: &dyn crate::engine::Rows) -> Result<()> {
        let Some(sealer) = self.codec.sealer() else {
            return Ok(());
        };
        let seen = rows.change_token()?;
        if self.confirmed.load(Ordering::Acquire) == seen {
            return Ok(());
        }
        let record = rows.meta_get(meta::META_GENERATION)?;
        if meta::parse_generation(record.as_deref())? != sealer.generation() {
            return Err(Error::KeyRotated);
        }
        // The token that statement's snapshot carries (no other statement
        // runs on this connection in between).
        let confirmed = rows.change_token()?;
        self.confirmed.store(confirmed, Ordering::Release);
        Ok(())
    }

    /// Puts a new codec in place (after a rotation); the generation it
    /// holds is confirmed afresh.
    pub(crate) fn replace_codec(&mut self, codec: Codec) {
        self.codec = codec;
        self.confirmed.store(UNCONFIRMED, Ordering::Release);
    }
}

impl Scoped for Vault {
    fn scope(&self, _: Token) -> Scope<'_> {
        Scope {
            vault: self,
            tx: None,
        }
    }
}

impl Store for Vault {}
