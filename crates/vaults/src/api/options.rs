//! [`OpenOptions`]: the settings a vault is opened with.

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::vault::Vault;
use crate::codec::Codec;
#[cfg(feature = "postgres")]
use crate::engine::postgres;
use crate::engine::{Durability, Engine, Init, Settings, sqlite};
use crate::{Clock, Error, Kind, Result, SystemClock};

/// The page cache of [`OpenOptions::new`]: 64 MiB.
const DEFAULT_PAGE_CACHE: u64 = 64 << 20;

/// Settings for opening a vault: durability, busy timeout, size cap, page
/// cache and clock. [`Vault::open`] and the other shortcuts use the defaults.
///
/// Its terminals open a plain [`Vault`]: [`create`](OpenOptions::create),
/// [`open`](OpenOptions::open), [`open_or_create`](OpenOptions::open_or_create)
/// and [`open_in_memory`](OpenOptions::open_in_memory). An encrypted vault
/// takes the same options through
/// [`EncryptedVault::create_with`](crate::EncryptedVault::create_with) and
/// its siblings, a locked one through
/// [`LockedVault::open_with`](crate::LockedVault::open_with).
///
/// ## Defaults
/// - durability: [`Durability::Full`] (`synchronous=FULL`);
/// - busy timeout: 5 s (how long a write waits for another connection's lock,
///   and a key change for other readers before it reports that old key
///   material may remain);
/// - size cap: none;
/// - page cache: 64 MiB per open vault, filled only as pages are read
///   ([`page_cache`](OpenOptions::page_cache));
/// - clock: [`SystemClock`].
///
/// ```
/// use std::time::Duration;
/// use vaults::{Durability, OpenOptions};
///
/// let dir = tempfile::tempdir()?;
/// let sessions = OpenOptions::new()
///     .durability(Durability::Normal)
///     .busy_timeout(Duration::from_secs(1))
///     .open_or_create(dir.path().join("sessions.db"))?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct OpenOptions {
    settings: Settings,
    clock: Arc<dyn Clock>,
    /// Whether `clock` is the system's (on a server, the server's is used).
    system_clock: bool,
}

impl fmt::Debug for OpenOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenOptions")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Default for OpenOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl OpenOptions {
    /// The defaults listed above.
    ///
    /// ```
    /// let vault = vaults::OpenOptions::new().open_in_memory()?;
    /// # Ok::<(), vaults::Error>(())
    /// ```
    pub fn new() -> Self {
        Self {
            settings: Settings {
                durability: Durability::Full,
                busy_timeout: Duration::from_secs(5),
                max_size: None,
                page_cache: DEFAULT_PAGE_CACHE,
            },
            clock: Arc::new(SystemClock),
            system_clock: true,
        }
    }

    /// How hard a commit waits for the disk.
    ///
    /// ```
    /// use vaults::{Durability, OpenOptions, Store};
    ///
    /// let dir = tempfile::tempdir()?;
    /// // Sessions can be lost to a power cut; each commit waits less.
    /// let sessions = OpenOptions::new()
    ///     .durability(Durability::Normal)
    ///     .open_or_create(dir.path().join("sessions.db"))?;
    /// sessions.put("sess-1", "alice")?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn durability(mut self, durability: Durability) -> Self {
        self.settings.durability = durability;
        self
    }

    /// How long a write waits for another connection's lock before failing
    /// with [`Error::Busy`](crate::Error::Busy); also how long a key change waits for other
    /// connections to end their reads before it reports, in its
    /// [`KeyChange`](crate::KeyChange), that old key material may remain.
    ///
    /// ```
    /// use std::time::Duration;
    /// use vaults::{Error, OpenOptions, Store};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("app.db");
    /// let options = OpenOptions::new().busy_timeout(Duration::from_millis(50));
    /// let first = options.open_or_create(&path)?;
    /// let second = options.open(&path)?;
    /// // While `first` holds the write lock, `second` gives up after 50 ms.
    /// first.transaction(|_| {
    ///     assert!(matches!(second.put("k", &1), Err(Error::Busy)));
    ///     Ok(())
    /// })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.settings.busy_timeout = timeout;
        self
    }

    /// Caps the vault file at about `bytes` (whole pages; never below its
    /// current size). A write that would pass it fails with [`Error::Full`](crate::Error::Full),
    /// and succeeds again once entries are removed. Default: no cap.
    ///
    /// ```
    /// use vaults::{Error, OpenOptions, Store};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let vault = OpenOptions::new()
    ///     .max_size(64 * 1024)
    ///     .open_or_create(dir.path().join("small.db"))?;
    /// vault.put_bytes("small", &[1; 100])?;
    /// let big = vec![7u8; 256 * 1024];
    /// assert!(matches!(vault.put_bytes("big", &big), Err(Error::Full)));
    /// assert!(vault.contains("small")?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn max_size(mut self, bytes: u64) -> Self {
        self.settings.max_size = Some(bytes);
        self
    }

    /// The most memory the vault keeps for file pages it read or wrote, in
    /// bytes (SQLite's page cache; a server vault has none). Pages are
    /// cached only as they are used, so a small vault never takes it all.
    /// A cache that holds the busy part of the file spares re-reading it
    /// and, for large bulk writes and cleanups, re-writing it: a vault of
    /// 100,000 entries of 100 B takes ~36 MB. An encrypted vault's pages
    /// hold only blind indexes and sealed names and values. Default: 64 MiB.
    ///
    /// ```
    /// use vaults::{OpenOptions, Store};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let small = OpenOptions::new()
    ///     .page_cache(2 << 20)
    ///     .open_or_create(dir.path().join("small.db"))?;
    /// small.put("k", &1)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn page_cache(mut self, bytes: u64) -> Self {
        self.settings.page_cache = bytes;
        self
    }

    /// The clock expiry is decided against (a [`ManualClock`](crate::ManualClock) in tests).
    ///
    /// ```
    /// use std::time::Duration;
    /// use vaults::{ManualClock, OpenOptions, Store};
    ///
    /// let clock = ManualClock::new(1_700_000_000_000); // ms since the epoch
    /// let vault = OpenOptions::new().clock(clock.clone()).open_in_memory()?;
    /// vault.put_with_ttl("token", "abc", Duration::from_secs(60))?;
    /// clock.advance(Duration::from_secs(61));
    /// assert_eq!(vault.get::<String>("token")?, None);
    /// # Ok::<(), vaults::Error>(())
    /// ```
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self.system_clock = false;
        self
    }

    /// Creates a new plain vault at `path`. A file (or symlink) already
    /// there is [`Error::VaultExists`](crate::Error::VaultExists) and is
    /// left as it is; the file is created with `O_EXCL`, so one that appears
    /// between a check of yours and this call is never taken for the new
    /// vault.
    ///
    /// ```
    /// use vaults::{Error, OpenOptions};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("new.db");
    /// let options = OpenOptions::new();
    /// options.create(&path)?.close()?;
    /// assert!(matches!(options.create(&path), Err(Error::VaultExists { .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::VaultExists`](crate::Error::VaultExists) when the path
    /// exists; [`Error::Io`](crate::Error::Io) or a storage error otherwise.
    pub fn create(&self, path: impl AsRef<Path>) -> Result<Vault> {
        self.open_plain(Some(path.as_ref()), true, true)
    }

    /// Opens the plain vault at `path`, which must exist.
    ///
    /// ```
    /// use vaults::{Error, OpenOptions};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("app.db");
    /// let options = OpenOptions::new();
    /// assert!(matches!(options.open(&path), Err(Error::VaultNotFound { .. })));
    /// options.create(&path)?;
    /// options.open(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::VaultNotFound`](crate::Error::VaultNotFound) when the file is missing;
    /// [`Error::NotAVault`](crate::Error::NotAVault) for a file that is not a vault;
    /// [`Error::UnsupportedVersion`](crate::Error::UnsupportedVersion) for a vault from a newer version;
    /// [`Error::WrongKind`](crate::Error::WrongKind) for an encrypted vault;
    /// [`Error::Integrity`](crate::Error::Integrity) ([`Integrity::Kind`](crate::Integrity::Kind))
    /// for a file whose kind record says plain but that carries an encrypted
    /// vault's records (its kind was edited).
    pub fn open(&self, path: impl AsRef<Path>) -> Result<Vault> {
        self.open_plain(Some(path.as_ref()), false, false)
    }

    /// Opens the plain vault at `path`, creating it (owner-only) if it is
    /// missing or empty.
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("app.db");
    /// let first = vaults::OpenOptions::new().open_or_create(&path)?;
    /// let again = vaults::OpenOptions::new().open_or_create(&path)?;
    /// assert_eq!(first.id(), again.id());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// As [`open`](OpenOptions::open), except for a missing file.
    pub fn open_or_create(&self, path: impl AsRef<Path>) -> Result<Vault> {
        self.open_plain(Some(path.as_ref()), true, false)
    }

    /// Opens a new plain vault that lives in memory and disappears on drop.
    ///
    /// ```
    /// let vault = vaults::OpenOptions::new().open_in_memory()?;
    /// assert_eq!(vault.path(), None);
    /// # Ok::<(), vaults::Error>(())
    /// ```
    ///
    /// # Errors
    /// Only if SQLite cannot allocate.
    pub fn open_in_memory(&self) -> Result<Vault> {
        self.open_plain(None, true, false)
    }

    /// Opens the storage of a vault of `kind` at `path` (in memory when
    /// `None`). With `init`, a missing or empty file becomes a new vault
    /// holding `init`'s records; `exclusive` refuses an existing file.
    pub(crate) fn engine(
        &self,
        path: Option<&Path>,
        kind: Kind,
        init: Option<&Init<'_>>,
        exclusive: bool,
    ) -> Result<Box<dyn Engine>> {
        let clock = Arc::clone(&self.clock);
        #[cfg(not(feature = "postgres"))]
        if path.is_some_and(crate::engine::is_server_url) {
            return Err(Error::Unsupported {
                what: "a server URL: this build has no `postgres` feature",
            });
        }
        #[cfg(feature = "postgres")]
        if let Some(url) = path.filter(|p| crate::engine::is_server_url(p)) {
            let url = url.to_str().ok_or(Error::InvalidUrl {
                reason: "it is not valid UTF-8".into(),
            })?;
            let engine = postgres::open(
                url,
                kind,
                init,
                exclusive,
                &self.settings,
                clock,
                self.system_clock,
            )?;
            return Ok(Box::new(engine));
        }
        let engine = sqlite::open(path, kind, init, exclusive, &self.settings, clock)?;
        Ok(Box::new(engine))
    }

    /// Opens a plain vault at `path` (in memory when `None`).
    fn open_plain(&self, path: Option<&Path>, create: bool, exclusive: bool) -> Result<Vault> {
        let init = Init {
            vault_id: None,
            meta: &[],
        };
        let engine = self.engine(path, Kind::Plain, create.then_some(&init), exclusive)?;
        Ok(Vault::from_parts(engine, Codec::Plain))
    }
}
