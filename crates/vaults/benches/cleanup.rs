//! `cleanup_expired` on 1,000,000 rows, 10% and 1% of them expired: through
//! the expiry index, its time follows the number of expired rows, not the
//! size of the vault.
//!
//! Two layouts of the expired rows:
//! - `clustered`: the oldest rows expire first, as in a session store where
//!   every session gets the same TTL when it is created;
//! - `scattered`: every 10th (or 100th) row expires, the worst case for page
//!   locality: each deleted row dirties a page of its own.
//!
//! Compared, on copies of the same file:
//! - `vault_cleanup_expired`: the library;
//! - `locked_vault_cleanup_expired`: the library on an encrypted vault with
//!   the same entries, without its key (its rows are larger: sealed names
//!   and padded, sealed values);
//! - `raw_indexed_delete`: raw rusqlite running the same `DELETE … WHERE
//!   expires_at <= ?` with the same pragmas (the limit of this design);
//! - `raw_full_scan_decode`: a scan that reads and decodes every row to find
//!   the expired ones, then deletes them (how the Python module would have to
//!   do it).
//!
//! Run with `cargo bench --bench cleanup`. Each vault is built once into a
//! template file; every sample works on a fresh copy of it, made outside the
//! timed part.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

#[path = "workloads/mod.rs"]
mod workloads;

use divan::Bencher;
use tempfile::TempDir;
use vaults::{EncryptedVault, KdfParams, LockedVault, ManualClock, OpenOptions, Passphrase, Store};

/// Rows in each vault. Divan only measures when run with `--bench` (as
/// `cargo bench` does); otherwise it runs each bench once as a test, and a
/// small vault is enough.
fn rows() -> u32 {
    let mut args = std::env::args();
    if args.any(|a| a == "--bench") && !std::env::args().any(|a| a == "--test") {
        1_000_000
    } else {
        10_000
    }
}

/// "Now" when the vaults are built; cleanup runs two seconds later.
const BUILT_AT: i64 = 1_700_000_000_000;
const CLEANUP_AT: i64 = BUILT_AT + 2_000;

/// The folder holding the templates, removed at the end of `main`.
fn template_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        tempfile::Builder::new()
            .prefix("vaults-bench-")
            .tempdir()
            .map(TempDir::keep)
            .unwrap_or_else(|e| fail("cannot create the template folder", e))
    })
}

fn fail(what: &str, err: impl std::fmt::Display) -> ! {
    eprintln!("{what}: {err}");
    std::process::exit(1)
}

/// Which rows expire, and how many.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Case {
    /// Share of expired rows, in percent (divides 100).
    percent: u32,
    /// Whether the expired rows are the oldest ones, or spread evenly.
    clustered: bool,
}

impl Case {
    /// Whether row `i` (of `n`) expires.
    fn expires(self, i: u32, n: u32) -> bool {
        match self.clustered {
            true => u64::from(i) * 100 < u64::from(n) * u64::from(self.percent),
            false => i.is_multiple_of(100 / self.percent),
        }
    }

    /// How many rows expire.
    fn expired(self) -> u64 {
        let n = rows();
        (0..n).filter(|&i| self.expires(i, n)).count() as u64
    }
}

impl fmt::Display for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let layout = if self.clustered {
            "clustered"
        } else {
            "scattered"
        };
        write!(f, "{:>2}% {layout}", self.percent)
    }
}

const CASES: [Case; 4] = [
    Case {
        percent: 10,
        clustered: true,
    },
    Case {
        percent: 1,
        clustered: true,
    },
    Case {
        percent: 10,
        clustered: false,
    },
    Case {
        percent: 1,
        clustered: false,
    },
];

/// The template vault of `case` (plain or encrypted), built on first use.
fn template(case: Case, encrypted: bool) -> PathBuf {
    static BUILT: Mutex<BTreeMap<(Case, bool), PathBuf>> = Mutex::new(BTreeMap::new());
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    built
        .entry((case, encrypted))
        .or_insert_with(|| {
            let layout = if case.clustered {
                "clustered"
            } else {
                "scattered"
            };
            let kind = if encrypted { "encrypted" } else { "plain" };
            let path = template_dir().join(format!("expired-{}-{layout}-{kind}.db", case.percent));
            build(&path, case, encrypted).unwrap_or_else(|e| fail("cannot build a template", e));
            path
        })
        .clone()
}

const PASSPHRASE: &str = "cleanup bench";

/// Writes the vault: the rows of `case` expire in one second; of the
/// others, half never expire and half live for a day, so the expiry index
/// holds live rows too.
fn build(path: &Path, case: Case, encrypted: bool) -> vaults::Result<()> {
    let options = OpenOptions::new().clock(ManualClock::new(BUILT_AT));
    if encrypted {
        let pass = Passphrase::new(PASSPHRASE)?;
        let vault = EncryptedVault::create_with(&options, path, &pass, KdfParams::MIN)?;
        fill(&vault, case)?;
        vault.close()
    } else {
        let vault = options.open_or_create(path)?;
        fill(&vault, case)?;
        // Closing checkpoints the WAL into the file, so a copy of the file
        // alone is the whole vault.
        vault.close()
    }
}

/// Writes the rows of `case` in one transaction.
fn fill<S: Store>(vault: &S, case: Case) -> vaults::Result<()> {
    let n = rows();
    vault.transaction(|tx| {
        for i in 0..n {
            let name = format!("session:{i:08}");
            let value = (
                format!("user-{}", i % 9_973),
                format!("{:032x}", u128::from(i) * 0x9e37_79b9),
            );
            if case.expires(i, n) {
                tx.put_with_ttl(&name, &value, Duration::from_secs(1))?;
            } else if i % 2 == 0 {
                tx.put(&name, &value)?;
            } else {
                tx.put_with_ttl(&name, &value, Duration::from_secs(86_400))?;
            }
        }
        Ok(())
    })
}

/// A fresh copy of the plain or encrypted template, in its own folder.
fn copy_of(case: Case, encrypted: bool) -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| fail("tempdir", e));
    let path = dir.path().join("copy.db");
    std::fs::copy(template(case, encrypted), &path).unwrap_or_else(|e| fail("copy", e));
    (dir, path)
}

/// Times `run` on a store `open` made of a fresh copy of the template (plain
/// or `encrypted`) of `case`, and checks it deleted the expired rows.
fn on_a_copy<T>(
    bencher: Bencher,
    case: Case,
    encrypted: bool,
    open: impl Fn(&Path) -> T,
    run: impl Fn(&mut T) -> u64,
) {
    let expected = case.expired();
    bencher
        .with_inputs(|| {
            let (dir, path) = copy_of(case, encrypted);
            (dir, open(&path))
        })
        .bench_local_refs(|(_, store)| assert_eq!(run(store), expected));
}

/// How the vaults are opened for cleanup: existing files, at cleanup time.
fn cleanup_options() -> OpenOptions {
    OpenOptions::new().clock(ManualClock::new(CLEANUP_AT))
}

#[divan::bench(args = CASES, sample_count = 5, sample_size = 1)]
fn vault_cleanup_expired(bencher: Bencher, case: Case) {
    on_a_copy(
        bencher,
        case,
        false,
        |path| {
            cleanup_options()
                .open(path)
                .unwrap_or_else(|e| fail("open", e))
        },
        |vault| {
            vault
                .cleanup_expired()
                .unwrap_or_else(|e| fail("cleanup", e))
        },
    );
}

#[divan::bench(args = CASES, sample_count = 5, sample_size = 1)]
fn locked_vault_cleanup_expired(bencher: Bencher, case: Case) {
    on_a_copy(
        bencher,
        case,
        true,
        |path| LockedVault::open_with(&cleanup_options(), path).unwrap_or_else(|e| fail("open", e)),
        |vault| {
            vault
                .cleanup_expired()
                .unwrap_or_else(|e| fail("cleanup", e))
        },
    );
}

/// A raw connection with the vault's pragmas.
fn raw(path: &Path) -> rusqlite::Connection {
    workloads::raw_connection(path, vaults::Durability::Full).unwrap_or_else(|e| fail("open", e))
}

#[divan::bench(args = CASES, sample_count = 5, sample_size = 1)]
fn raw_indexed_delete(bencher: Bencher, case: Case) {
    on_a_copy(bencher, case, false, raw, |conn| {
        let n = conn
            .execute(workloads::SQL_CLEANUP, [CLEANUP_AT])
            .unwrap_or_else(|e| fail("delete", e));
        n as u64
    });
}

#[divan::bench(args = CASES, sample_count = 5, sample_size = 1)]
fn raw_full_scan_decode(bencher: Bencher, case: Case) {
    on_a_copy(bencher, case, false, raw, |conn| {
        let n = workloads::full_scan_delete(conn, CLEANUP_AT).unwrap_or_else(|e| fail("scan", e));
        n as u64
    });
}

fn main() {
    // Build every template before any timing, so the first sample is not
    // charged for it.
    for case in CASES {
        template(case, false);
        template(case, true);
    }
    divan::main();
    let _ = std::fs::remove_dir_all(template_dir());
}
