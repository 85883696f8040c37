//! Regression stress test: several processes, each with several threads,
//! create one new vault at once and write to it, while another process
//! opens and closes the file with `std::fs` in a loop. Every write that
//! returned `Ok` must be in the vault afterwards, no open may fail, and all
//! of them must see the one vault that exactly one of them created.
//!
//! The bug it guards against: the library read the file's header through
//! its own `std::fs::File` before SQLite opened it, and closing that file
//! dropped the POSIX locks that SQLite held for the other connections of
//! the same process ("How To Corrupt An SQLite Database File", 2.2). The
//! last connection of another process then thought itself alone, deleted
//! the WAL under everyone's feet, and acknowledged writes were lost.
//!
//! Size: 3 processes × 4 threads × 3 opens each, 6 rounds, by default (about
//! 4 s in debug). `VAULTS_STRESS_SCALE=N` runs N times the rounds with twice
//! the processes and threads (e.g. `N=4`: 24 rounds at 6 × 8, about 90 s).
//! No error is allowed, not even `Busy` (the one retryable error, which only
//! a busy timeout exceeded on an overloaded machine could give).
//!
//! The file-poking process is another process on purpose: a thread of the
//! *same* process opening and closing the file drops SQLite's locks, and no
//! library can prevent that (see `SECURITY.md`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::{Arc, Barrier};

use vaults::{Store, Vault};
use vaults_test_support::{TestResult, check_child, child_command, child_env};

const ENV_PATH: &str = "VAULTS_TEST_RACE_PATH";
const ENV_ROLE: &str = "VAULTS_TEST_RACE_ROLE";
const ENV_THREADS: &str = "VAULTS_TEST_RACE_THREADS";
/// Each thread opens the vault this many times (the first handle stays
/// open while it opens the others, so it holds SQLite's locks meanwhile).
const OPENS: usize = 3;
/// The file-poking process stops after this many opens at most.
const MAX_POKES: usize = 1_000_000;

/// `(rounds, processes, threads)`.
fn size() -> (usize, usize, usize) {
    match std::env::var("VAULTS_STRESS_SCALE")
        .ok()
        .and_then(|s| s.parse::<usize>().ok())
    {
        Some(n) if n > 1 => (6 * n, 6, 8),
        _ => (6, 3, 4),
    }
}

/// What a writer process prints, one line each: `id HEX` for every open,
/// `ack NAME` for every put that returned `Ok`, `err DEBUG` for any error.
fn writer_process(path: &Path, proc_id: &str, threads: usize) {
    let start = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let path = path.to_owned();
            let start = Arc::clone(&start);
            let proc_id = proc_id.to_owned();
            std::thread::spawn(move || {
                let mut lines = Vec::new();
                let mut report = |r: vaults::Result<String>| match r {
                    Ok(line) => lines.push(line),
                    Err(e) => lines.push(format!("err {e:?} (after {} lines)", lines.len())),
                };
                start.wait();
                let put = |v: &Vault, name: String| v.put(&name, "value").map(|()| name);
                match Vault::open_or_create(&path) {
                    Err(e) => report(Err(e)),
                    Ok(first) => {
                        report(Ok(format!("id {}", hex(first.id()))));
                        report(put(&first, format!("{proc_id}/{t}/0")).map(|n| format!("ack {n}")));
                        for i in 1..OPENS {
                            match Vault::open_or_create(&path) {
                                Err(e) => report(Err(e)),
                                Ok(again) => {
                                    report(Ok(format!("id {}", hex(again.id()))));
                                    report(
                                        put(&again, format!("{proc_id}/{t}/{i}"))
                                            .map(|n| format!("ack {n}")),
                                    );
                                }
                            }
                        }
                        report(
                            put(&first, format!("{proc_id}/{t}/last")).map(|n| format!("ack {n}")),
                        );
                    }
                }
                lines
            })
        })
        .collect();
    for h in handles {
        for line in h.join().unwrap() {
            println!("{line}");
        }
    }
}

/// Opens and closes the file with `std::fs` until `stop` exists: an outside
/// reader (a backup tool, `cat`) in another process.
fn poking_process(path: &Path, stop: &Path) {
    for _ in 0..MAX_POKES {
        if stop.exists() {
            break;
        }
        if let Ok(mut f) = std::fs::File::open(path) {
            let mut header = [0u8; 100];
            let _ = std::io::Read::read(&mut f, &mut header);
        }
    }
}

fn mode(path: &Path) -> TestResult<u32> {
    use std::os::unix::fs::PermissionsExt;
    Ok(std::fs::metadata(path)?.permissions().mode() & 0o777)
}

fn hex(id: [u8; 16]) -> String {
    id.iter().map(|b| format!("{b:02x}")).collect()
}

/// Child half: a writer or the poking process, as the parent says.
#[test]
#[ignore = "child process of processes_and_threads_creating_one_vault_lose_no_acknowledged_write: run by it"]
fn creation_race_child() {
    let (path, role) = (child_env(ENV_PATH), child_env(ENV_ROLE));
    let path = Path::new(&path);
    match role.strip_prefix("writer:") {
        Some(proc_id) => {
            let threads = child_env(ENV_THREADS).parse().unwrap();
            writer_process(path, proc_id, threads);
        }
        None => poking_process(path, &path.with_extension("stop")),
    }
}

fn spawn_child(path: &Path, role: &str, threads: usize) -> TestResult<Child> {
    Ok(child_command("creation_race::creation_race_child")
        .env(ENV_PATH, path)
        .env(ENV_ROLE, role)
        .env(ENV_THREADS, threads.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?)
}

#[test]
fn processes_and_threads_creating_one_vault_lose_no_acknowledged_write() -> TestResult {
    let (rounds, procs, threads) = size();
    let mut failures = Vec::new();
    let mut acked_total = 0;
    for round in 0..rounds {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("new.db");
        let poker = spawn_child(&path, "poke", 1)?;
        let writers = (0..procs)
            .map(|p| spawn_child(&path, &format!("writer:{p}"), threads))
            .collect::<TestResult<Vec<_>>>()?;
        let mut acked = BTreeSet::new();
        let mut ids = BTreeSet::new();
        let mut errors = Vec::new();
        for w in writers {
            let out = w.wait_with_output()?;
            let stdout = String::from_utf8_lossy(&out.stdout);
            if !out.status.success() || !stdout.contains("1 passed") {
                errors.push(format!(
                    "writer failed ({}): {}",
                    out.status,
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
            for line in stdout.lines() {
                if let Some(name) = line.strip_prefix("ack ") {
                    acked.insert(name.to_owned());
                } else if let Some(id) = line.strip_prefix("id ") {
                    ids.insert(id.to_owned());
                } else if let Some(err) = line.strip_prefix("err ") {
                    errors.push(err.to_owned());
                }
            }
        }
        std::fs::write(path.with_extension("stop"), b"")?;
        check_child(&poker.wait_with_output()?)?;

        let vault = Vault::open(&path)?;
        let stored: BTreeSet<String> = vault.keys()?.into_iter().collect();
        let missing: Vec<_> = acked.difference(&stored).collect();
        let one_vault = ids.len() == 1 && ids.contains(&hex(vault.id()));
        if !errors.is_empty() || !missing.is_empty() || !one_vault {
            failures.push(format!(
                "round {round}: {} errors {:?}; {} of {} acknowledged writes missing; {} vault ids",
                errors.len(),
                errors.iter().take(3).collect::<Vec<_>>(),
                missing.len(),
                acked.len(),
                ids.len(),
            ));
        }
        assert_eq!(mode(&path)?, 0o600, "round {round}");
        acked_total += acked.len();
        vault.close()?;
    }
    assert!(
        failures.is_empty(),
        "{} of {rounds} rounds at {procs} processes × {threads} threads failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(acked_total, rounds * procs * threads * (OPENS + 1));
    Ok(())
}
#[test]
fn threads_creating_one_encrypted_vault_have_exactly_one_creator() -> TestResult {
    use vaults::{EncryptedVault, Error, KdfParams, Passphrase};
    const CREATORS: usize = 6;
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("new.db");
    let start = Arc::new(Barrier::new(CREATORS));
    let handles: Vec<_> = (0..CREATORS)
        .map(|t| {
            let path = path.clone();
            let start = Arc::clone(&start);
            std::thread::spawn(move || -> vaults::Result<Option<String>> {
                let pass = Passphrase::new(format!("creator {t}"))?;
                start.wait();
                match EncryptedVault::create(&path, &pass, KdfParams::MIN) {
                    Ok(vault) => {
                        vault.put("creator", &t)?;
                        Ok(Some(format!("creator {t}")))
                    }
                    Err(Error::VaultExists { .. }) => Ok(None),
                    Err(e) => Err(e),
                }
            })
        })
        .collect();
    let mut creators = Vec::new();
    for h in handles {
        creators.extend(h.join().unwrap()?);
    }
    assert_eq!(creators.len(), 1, "creators: {creators:?}");
    let pass = Passphrase::new(creators[0].clone())?;
    let vault = EncryptedVault::open(&path, &pass)?;
    assert_eq!(vault.keys()?, ["creator"]);
    assert_eq!(mode(&path)?, 0o600);
    Ok(())
}
