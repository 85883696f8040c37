//! Helpers shared by the integration tests: temporary vault files, a manual
//! clock, re-running this test binary as a child process, and checks that
//! errors never quote a secret.
#![allow(dead_code, reason = "each test file uses a different subset")]

use std::error::Error as StdError;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use tempfile::TempDir;
use vaults::{Durability, ManualClock, Vault};

/// What every test returns.
pub type TestResult<T = ()> = Result<T, Box<dyn StdError>>;

/// A fixed "now" for the manual clock: 2023-11-14T22:13:20Z.
pub const T0: i64 = 1_700_000_000_000;

/// A vault file in a fresh temporary folder, seen through a manual clock.
pub struct Fixture {
    pub dir: TempDir,
    pub path: PathBuf,
    pub clock: ManualClock,
    pub vault: Vault,
}

impl Fixture {
    /// A new vault at `DIR/test.db` with a manual clock at [`T0`].
    pub fn new() -> TestResult<Self> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("test.db");
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

/// A vault in memory seen through a manual clock at [`T0`].
pub fn memory_with_clock() -> vaults::Result<(Vault, ManualClock)> {
    let clock = ManualClock::new(T0);
    let vault = Vault::options().clock(clock.clone()).open_in_memory()?;
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

/// Seconds as a `Duration`.
pub fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// Milliseconds as a `Duration`.
pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
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

/// Runs the test `name` of the current test binary in a child process, with
/// `env` set, under the given shell `umask` (if any), and returns its output.
///
/// The child test recognises its role by the environment variables and
/// returns at once when they are unset, so it is harmless in a normal run.
pub fn run_child(name: &str, env: &[(&str, &str)], umask: Option<&str>) -> TestResult<Output> {
    let exe = std::env::current_exe()?;
    let mut cmd = match umask {
        Some(mask) => {
            let mut c = Command::new("sh");
            c.arg("-c")
                .arg(format!("umask {mask} && exec \"$0\" \"$@\""))
                .arg(&exe);
            c
        }
        None => Command::new(&exe),
    };
    cmd.args(["--exact", name, "--nocapture", "--test-threads=1"]);
    for (k, v) in env {
        cmd.env(k, v);
    }
    Ok(cmd.output()?)
}

/// Fails with the child's output when it did not succeed.
pub fn check_child(out: &Output) -> TestResult {
    if !out.status.success() {
        return Err(format!(
            "child failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    // `--exact` with a wrong name runs nothing and still succeeds.
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !stdout.contains("1 passed") {
        return Err(format!("child ran no test:\n{stdout}").into());
    }
    Ok(())
}
