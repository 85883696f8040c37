//! Sharing a vault: threads on one `Arc<Vault>`, two processes on one file,
//! and four processes doing 1,000 writes and read-modify-writes each on one
//! plain or encrypted vault, checked against the model of what they did.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use vaults::{Durability, EncryptedVault, Error, KdfParams, OpenOptions, Passphrase, Store, Vault};
use vaults_test_support::{Fixture, TestResult, check_child, child_env, run_child};

const THREADS: usize = 8;

/// Adds one to the counter under `name` with a read-modify-write.
fn increment<S: Store>(store: &S, name: &str) -> vaults::Result<u64> {
    store.transaction(|tx| {
        let n = tx.get::<u64>(name)?.unwrap_or(0) + 1;
        tx.put(name, &n)?;
        Ok(n)
    })
}

#[test]
fn eight_threads_write_and_read_one_vault() -> TestResult {
    const PER_THREAD: u64 = 100;
    let f = Fixture::new()?;
    let vault = Arc::new(f.vault);
    let start = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let vault = Arc::clone(&vault);
            let start = Arc::clone(&start);
            std::thread::spawn(move || -> vaults::Result<Vec<u64>> {
                start.wait();
                let mut seen = Vec::new();
                for i in 0..PER_THREAD {
                    let name = format!("t{t}:{i:03}");
                    vault.put(&name, &(t as u64 * 1_000 + i))?;
                    // Read back at once: our own write is visible.
                    assert_eq!(vault.get::<u64>(&name)?, Some(t as u64 * 1_000 + i));
                    seen.push(increment(&*vault, "counter")?);
                    // Readers run alongside the writers.
                    if i % 25 == 0 {
                        let n = vault.len()?;
                        assert!(n > i, "len {n} below what this thread wrote");
                        let _ = vault.keys()?;
                    }
                }
                Ok(seen)
            })
        })
        .collect();
    let mut all_seen = Vec::new();
    for h in handles {
        all_seen.extend(h.join().unwrap()?);
    }
    let total = THREADS as u64 * PER_THREAD;
    // No lost update: every increment saw a distinct value, 1..=total.
    all_seen.sort_unstable();
    assert_eq!(all_seen, (1..=total).collect::<Vec<_>>());
    assert_eq!(vault.get::<u64>("counter")?, Some(total));
    assert_eq!(vault.len()?, total + 1);
    for t in 0..THREADS {
        for i in 0..PER_THREAD {
            let want = t as u64 * 1_000 + i;
            assert_eq!(vault.get::<u64>(&format!("t{t}:{i:03}"))?, Some(want));
        }
    }
    Ok(())
}

#[test]
fn each_entry_is_taken_by_exactly_one_thread() -> TestResult {
    const PRIZES: u32 = 200;
    let f = Fixture::new()?;
    let vault = Arc::new(f.vault);
    vault.put_many((0..PRIZES).map(|i| (format!("prize{i}"), i)))?;
    let start = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|_| {
            let vault = Arc::clone(&vault);
            let start = Arc::clone(&start);
            std::thread::spawn(move || -> vaults::Result<Vec<u32>> {
                start.wait();
                let mut won = Vec::new();
                for i in 0..PRIZES {
                    if let Some(n) = vault.pop::<u32>(&format!("prize{i}"))? {
                        won.push(n);
                    }
                }
                Ok(won)
            })
        })
        .collect();
    let mut won = Vec::new();
    for h in handles {
        won.extend(h.join().unwrap()?);
    }
    won.sort_unstable();
    assert_eq!(won, (0..PRIZES).collect::<Vec<_>>());
    assert!(vault.is_empty()?);
    Ok(())
}

#[test]
fn get_or_insert_races_agree_on_one_value() -> TestResult {
    let f = Fixture::new()?;
    let vault = Arc::new(f.vault);
    let start = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let vault = Arc::clone(&vault);
            let start = Arc::clone(&start);
            std::thread::spawn(move || -> vaults::Result<Vec<usize>> {
                start.wait();
                (0..50)
                    .map(|k| vault.get_or_insert(&format!("k{k}"), t))
                    .collect()
            })
        })
        .collect();
    let results: Vec<Vec<usize>> = handles
        .into_iter()
        .map(|h| h.join().unwrap())
        .collect::<Result<_, _>>()?;
    for k in 0..50 {
        let stored = vault.get::<usize>(&format!("k{k}"))?.unwrap();
        assert!(results.iter().all(|r| r[k] == stored), "k{k}");
    }
    Ok(())
}

#[test]
fn threads_with_their_own_handles_on_one_file() -> TestResult {
    const PER_THREAD: u64 = 50;
    let f = Fixture::new()?;
    let path = Arc::new(f.path.clone());
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let path = Arc::clone(&path);
            std::thread::spawn(move || -> vaults::Result<()> {
                let vault = Vault::options()
                    .durability(Durability::Normal)
                    .open_or_create(&*path)?;
                for i in 0..PER_THREAD {
                    increment(&vault, "counter")?;
                    vault.put(&format!("h{t}:{i}"), &i)?;
                }
                Ok(())
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap()?;
    }
    assert_eq!(f.vault.get::<u64>("counter")?, Some(4 * PER_THREAD));
    assert_eq!(f.vault.len()?, 4 * PER_THREAD + 1);
    Ok(())
}

const ENV_PATH: &str = "VAULTS_TEST_WRITER_PATH";
const ENV_ID: &str = "VAULTS_TEST_WRITER_ID";
const INCREMENTS: u64 = 500;

/// One writer of `two_processes_write_one_file`: signals it is ready, then
/// does its increments and puts.
fn writer(path: &Path, id: &str) -> vaults::Result<()> {
    let vault = Vault::options()
        .durability(Durability::Normal)
        .busy_timeout(Duration::from_secs(30))
        .open_or_create(path)?;
    vault.put(&format!("ready:{id}"), &true)?;
    for i in 0..INCREMENTS {
        increment(&vault, "counter")?;
        vault.put(&format!("{id}:{i:03}"), &i)?;
    }
    vault.close()
}

/// Child half of `two_processes_write_one_file`: a writer on the file its
/// parent names.
#[test]
#[ignore = "child process of two_processes_write_one_file: run by it"]
fn two_processes_child() -> TestResult {
    writer(Path::new(&child_env(ENV_PATH)), &child_env(ENV_ID))?;
    Ok(())
}

#[test]
fn two_processes_write_one_file() -> TestResult {
    let f = Fixture::new()?;
    let path = f.path.to_str().unwrap().to_owned();
    let child = std::thread::spawn(move || {
        run_child(
            "concurrency::two_processes_child",
            &[(ENV_PATH, &path), (ENV_ID, "child")],
            None,
        )
        .map_err(|e| e.to_string())
    });
    // Start once the child has opened the file, so the two overlap.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !f.vault.contains("ready:child")? && !child.is_finished() {
        assert!(Instant::now() < deadline, "the child never got ready");
        std::thread::sleep(Duration::from_millis(5));
    }
    let parent = writer(&f.path, "parent");
    // The child's output first: it explains a failure on either side.
    check_child(&child.join().unwrap()?)?;
    parent?;

    let v = &f.vault;
    assert_eq!(v.get::<u64>("counter")?, Some(2 * INCREMENTS));
    for id in ["parent", "child"] {
        for i in 0..INCREMENTS {
            assert_eq!(v.get::<u64>(&format!("{id}:{i:03}"))?, Some(i), "{id}:{i}");
        }
    }
    assert_eq!(v.len()?, 2 * INCREMENTS + 3);
    Ok(())
}

/// Opens the vault at `path` from 8 threads at once; each writes one
/// entry. Returns the vault ids they saw.
fn open_from_eight_threads(path: &Path) -> vaults::Result<Vec<[u8; 16]>> {
    let start = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let path = path.to_owned();
            let start = Arc::clone(&start);
            std::thread::spawn(move || -> vaults::Result<[u8; 16]> {
                start.wait();
                let vault = Vault::open_or_create(&path)?;
                vault.put(&format!("t{t}"), &t)?;
                Ok(vault.id())
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

#[test]
fn racing_opens_of_an_existing_vault_all_succeed() -> TestResult {
    let f = Fixture::new()?;
    for round in 0..20 {
        let ids = open_from_eight_threads(&f.path).map_err(|e| format!("round {round}: {e:?}"))?;
        assert!(ids.iter().all(|id| *id == f.vault.id()), "round {round}");
    }
    assert_eq!(f.vault.len()?, THREADS as u64);
    Ok(())
}

#[test]
fn racing_opens_of_a_new_file_agree_on_one_vault() -> TestResult {
    // The race is narrow: before the fix, 20 rounds failed 12 times in 30
    // runs. VAULTS_RACE_ROUNDS raises the count for a longer hunt.
    let rounds = std::env::var("VAULTS_RACE_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(40);
    for round in 0..rounds {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("new.db");
        let ids = open_from_eight_threads(&path).map_err(|e| format!("round {round}: {e:?}"))?;
        assert!(ids.iter().all(|id| *id == ids[0]), "round {round}: {ids:?}");
        assert_eq!(Vault::open(&path)?.len()?, THREADS as u64);
    }
    Ok(())
}

#[test]
fn racing_opens_and_closes_of_a_closed_vault_all_succeed() -> TestResult {
    // No handle stays open: the last one to close checkpoints and removes the
    // WAL while others may be opening.
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("v.db");
    let id = Vault::open_or_create(&path)?.id();
    for round in 0..30 {
        let ids = open_from_eight_threads(&path).map_err(|e| format!("round {round}: {e:?}"))?;
        assert!(ids.iter().all(|i| *i == id), "round {round}");
    }
    assert_eq!(Vault::open(&path)?.len()?, THREADS as u64);
    Ok(())
}

/// Processes of the four-process suite.
const PROCESSES: usize = 4;
/// Operations per process: half puts of its own entries, half increments of
/// a shared and an own counter in one read-modify-write transaction.
const OPS: usize = 1_000;
const ENV_KIND: &str = "VAULTS_TEST_RACE_KIND";
const RACE_PASSPHRASE: &str = "four processes, one vault";

/// Runs `op` until it stops failing with [`Error::Busy`]; counts the retries.
/// Any other error fails the run.
fn retry_busy<T>(busy: &mut u64, mut op: impl FnMut() -> vaults::Result<T>) -> vaults::Result<T> {
    loop {
        match op() {
            Err(Error::Busy) => *busy += 1,
            other => return other,
        }
    }
}

/// The operations of process `id` on `store`; returns how often a lock was
/// busy.
fn race_ops<S: Store>(store: &S, id: usize) -> vaults::Result<u64> {
    let mut busy = 0;
    for i in 0..OPS {
        if i % 2 == 0 {
            retry_busy(&mut busy, || {
                store.put(&format!("p{id}/{i:04}"), &(id * OPS + i))
            })?;
        } else {
            retry_busy(&mut busy, || {
                store.transaction(|tx| {
                    let shared = tx.get::<u64>("counter")?.unwrap_or(0);
                    tx.put("counter", &(shared + 1))?;
                    let own = format!("count/{id}");
                    let mine = tx.get::<u64>(&own)?.unwrap_or(0);
                    tx.put(&own, &(mine + 1))
                })
            })?;
        }
    }
    Ok(busy)
}

/// A short busy timeout, so that contention surfaces as [`Error::Busy`] (and
/// is retried) instead of being waited out inside SQLite.
fn race_options() -> OpenOptions {
    Vault::options()
        .durability(Durability::Normal)
        .busy_timeout(Duration::from_millis(20))
}

/// Child half of the four-process suite: opens the vault, says so with a
/// file, waits for the start file, runs its operations and prints its busy
/// count.
#[test]
#[ignore = "child process of the four-process tests: run by them"]
fn four_processes_child() -> TestResult {
    let (path, id, kind) = (child_env(ENV_PATH), child_env(ENV_ID), child_env(ENV_KIND));
    let path = Path::new(&path);
    let id: usize = id.parse()?;
    let dir = path.parent().ok_or("no folder")?;
    let options = race_options();
    let busy = match kind.as_str() {
        "encrypted" => {
            let pass = Passphrase::new(RACE_PASSPHRASE)?;
            let vault = retry_busy(&mut 0, || {
                vaults::LockedVault::open_with(&options, path)?.unlock(&pass)
            })?;
            ready_then_race(&vault, dir, id)?
        }
        _ => ready_then_race(
            &retry_busy(&mut 0, || options.open_or_create(path))?,
            dir,
            id,
        )?,
    };
    println!("\nBUSY {busy}");
    Ok(())
}

/// Says the vault is open (a file in `dir`), waits for the start file, then
/// runs process `id`'s operations; returns how often a lock was busy.
fn ready_then_race<S: Store>(vault: &S, dir: &Path, id: usize) -> TestResult<u64> {
    std::fs::write(dir.join(format!("ready-{id}")), b"")?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while !dir.join("go").exists() {
        assert!(Instant::now() < deadline, "never told to start");
        std::thread::sleep(Duration::from_millis(1));
    }
    Ok(race_ops(vault, id)?)
}

/// Starts the four processes on `path` and checks the final state against
/// the model of their operations.
fn four_processes_on(path: &Path, kind: &str) -> TestResult {
    let dir = path.parent().ok_or("no folder")?.to_owned();
    let children: Vec<_> = (0..PROCESSES)
        .map(|id| {
            let path = path.to_str().unwrap().to_owned();
            let kind = kind.to_owned();
            std::thread::spawn(move || {
                run_child(
                    "concurrency::four_processes_child",
                    &[
                        (ENV_PATH, &path),
                        (ENV_ID, &id.to_string()),
                        (ENV_KIND, &kind),
                    ],
                    None,
                )
                .map_err(|e| e.to_string())
            })
        })
        .collect();
    // Start them together, once all have opened the vault.
    let deadline = Instant::now() + Duration::from_secs(120);
    while (0..PROCESSES).any(|id| !dir.join(format!("ready-{id}")).exists()) {
        assert!(Instant::now() < deadline, "the children never got ready");
        assert!(
            !children.iter().all(|c| c.is_finished()),
            "the children ended"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    std::fs::write(dir.join("go"), b"")?;
    let mut busy = 0u64;
    for child in children {
        let out = child.join().unwrap()?;
        check_child(&out)?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let line = stdout
            .lines()
            .find_map(|l| l.strip_prefix("BUSY "))
            .ok_or("no busy count")?;
        busy += line.split(' ').next().ok_or("no count")?.parse::<u64>()?;
    }
    println!("{kind}: {PROCESSES} processes x {OPS} operations, {busy} busy locks retried");

    let options = race_options();
    let items: Vec<(String, u64)> = match kind {
        "encrypted" => vaults::LockedVault::open_with(&options, path)?
            .unlock(&Passphrase::new(RACE_PASSPHRASE)?)?
            .items()?,
        _ => options.open_or_create(path)?.items()?,
    };
    let mut model = std::collections::BTreeMap::new();
    model.insert("counter".to_owned(), (PROCESSES * OPS / 2) as u64);
    for id in 0..PROCESSES {
        model.insert(format!("count/{id}"), (OPS / 2) as u64);
        for i in (0..OPS).step_by(2) {
            model.insert(format!("p{id}/{i:04}"), (id * OPS + i) as u64);
        }
    }
    let found: std::collections::BTreeMap<String, u64> = items.into_iter().collect();
    assert_eq!(found.len(), model.len(), "entries lost or extra");
    assert_eq!(
        found.get("counter"),
        model.get("counter"),
        "a lost update on the shared counter"
    );
    assert!(found == model, "the final state differs from the model");
    Ok(())
}

#[test]
fn four_processes_write_and_increment_a_plain_vault() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("race.db");
    Vault::open_or_create(&path)?.close()?;
    four_processes_on(&path, "plain")
}

#[test]
fn four_processes_write_and_increment_an_encrypted_vault() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("race.db");
    EncryptedVault::create(&path, &Passphrase::new(RACE_PASSPHRASE)?, KdfParams::MIN)?.close()?;
    four_processes_on(&path, "encrypted")
}
