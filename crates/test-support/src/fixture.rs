//! Plain vaults for tests: temporary vault files seen through a manual
//! clock, and checks that errors never quote a secret.

use std::error::Error as StdError;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tempfile::TempDir;
use vaults::{Durability, ManualClock, Vault};

use crate::{T0, TestResult};

/// A vault file in a fresh temporary folder (or, on a server, a fresh
/// vault: see [`crate::engine`]), seen through a manual clock.
pub struct Fixture {
    /// The temporary folder, removed on drop.
    pub dir: TempDir,
    /// `DIR/test.db`, or the vault's URL on a server.
    pub path: PathBuf,
    /// The clock the vault sees.
    pub clock: ManualClock,
    /// The open vault.
    pub vault: Vault,
}

impl Fixture {
    /// A new vault at `DIR/test.db` with a manual clock at [`T0`].
    pub fn new() -> TestResult<Self> {
        let dir = tempfile::tempdir()?;
        let path = crate::vault_location(dir.path(), "test.db");
        let clock = ManualClock::new(T0);
        let vault = open_with_clock(&path, &clock)?;
        Ok(Self {
            dir,
            path,
            clock,
            vault,
        })
    }

    /// Closes the vault and opens the same file again, with the same clock.
    pub fn reopen(self) -> TestResult<Self> {
        let Self {
            dir,
            path,
            clock,
            vault,
        } = self;
        vault.close()?;
        let vault = open_with_clock(&path, &clock)?;
        Ok(Self {
            dir,
            path,
            clock,
            vault,
        })
    }

    /// Moves the clock forward by `ms` milliseconds.
    pub fn advance_ms(&self, ms: u64) {
        self.clock.advance(Duration::from_millis(ms));
    }
}

/// Opens (or creates) the vault at `path` seen through `clock`.
///
/// `Durability::Normal` keeps the many small commits of these tests from
/// waiting on fsync; durability itself is not what they test.
pub fn open_with_clock(path: &Path, clock: &ManualClock) -> vaults::Result<Vault> {
    Vault::options()
        .clock(clock.clone())
        .durability(Durability::Normal)
        .open_or_create(path)
}

/// A vault in memory seen through a manual clock at [`T0`] (on a server,
/// a fresh vault there).
pub fn memory_with_clock() -> vaults::Result<(Vault, ManualClock)> {
    let clock = ManualClock::new(T0);
    let options = Vault::options().clock(clock.clone());
    let vault = match crate::on_server() {
        true => options.open_or_create(crate::vault_location(Path::new(""), "memory"))?,
        false => options.open_in_memory()?,
    };
    Ok((vault, clock))
}

/// `PATH-wal` and `PATH-shm`, SQLite's companions of a WAL database.
pub fn sidecars(path: &Path) -> [PathBuf; 2] {
    ["-wal", "-shm"].map(|suffix| {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        PathBuf::from(p)
    })
}

/// Asserts that neither the message nor the `Debug` form of `err` (nor any
/// error in its `source()` chain) contains one of `secrets`.
pub fn assert_no_leak(err: &(dyn StdError + 'static), secrets: &[&str]) {
    let mut texts = vec![err.to_string(), format!("{err:?}")];
    let mut source = err.source();
    while let Some(e) = source {
        texts.push(e.to_string());
        texts.push(format!("{e:?}"));
        source = e.source();
    }
    for text in &texts {
        for secret in secrets {
            assert!(
                !text.contains(secret),
                "error text {text:?} contains a secret"
            );
        }
    }
}
