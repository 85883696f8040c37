//! Faults on a PostgreSQL server, for the server run only (`.ci/run` runs
//! them with `-- --ignored server::`, `VAULTS_TEST_PG_URL` and
//! `VAULTS_TEST_PG_DIR` set; without them they panic, never pass): four
//! processes doing read-modify-writes on one counter, a client killed
//! mid-rotation, and a server restart in the middle of a run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use vaults::{EncryptedVault, Error, KdfParams, LockedVault, OpenOptions, Store, Vault};
use vaults_test_support::encrypted::pass;
use vaults_test_support::engine::{pg_vault_url, unique_name};
use vaults_test_support::{TestResult, check_child, child_env, run_child};

use crate::crash::{PASS_A, ROTATION_ENTRIES, Worker, expected, spawn_ready};

const PROCESSES: usize = 4;
const INCREMENTS: u64 = 1_000;
const ENV_URL: &str = "VAULTS_TEST_SERVER_URL";
const ENV_DIR: &str = "VAULTS_TEST_SERVER_DIR";
const ENV_ID: &str = "VAULTS_TEST_SERVER_ID";
const ENV_KIND: &str = "VAULTS_TEST_SERVER_KIND";
const PASSPHRASE: &str = "four processes, one server vault";

/// The restart test takes this for writing, the others for reading: a
/// restart must not hit a test that does not expect one.
static SERVER: std::sync::RwLock<()> = std::sync::RwLock::new(());

fn shared() -> std::sync::RwLockReadGuard<'static, ()> {
    SERVER
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn fresh_url(prefix: &str) -> PathBuf {
    PathBuf::from(pg_vault_url(&unique_name(prefix)))
}

/// Runs `op` again while it fails with a retryable error (busy, or the
/// server unavailable); counts the retries. Any other error is returned.
fn retry<T>(retries: &mut u64, mut op: impl FnMut() -> vaults::Result<T>) -> vaults::Result<T> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match op() {
            Err(e) if e.is_transient() && Instant::now() < deadline => {
                *retries += 1;
                std::thread::sleep(Duration::from_millis(2));
            }
            other => return other,
        }
    }
}

/// One read-modify-write of the counter, in a transaction.
fn increment<S: Store>(store: &S) -> vaults::Result<u64> {
    store.transaction(|tx| {
        let n = tx.get::<u64>("counter")?.unwrap_or(0) + 1;
        tx.put("counter", &n)?;
        Ok(n)
    })
}

fn increments<S: Store>(store: &S, dir: &Path, id: &str) -> TestResult<u64> {
    std::fs::write(dir.join(format!("ready-{id}")), b"")?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while !dir.join("go").exists() {
        assert!(Instant::now() < deadline, "never told to start");
        std::thread::sleep(Duration::from_millis(1));
    }
    let mut retries = 0;
    for _ in 0..INCREMENTS {
        retry(&mut retries, || increment(store))?;
    }
    Ok(retries)
}

#[test]
#[ignore = "child process of the server counter tests: run by them"]
fn server_counter_child() -> TestResult {
    let url = PathBuf::from(child_env(ENV_URL));
    let dir = PathBuf::from(child_env(ENV_DIR));
    let id = child_env(ENV_ID);
    let options = OpenOptions::new().busy_timeout(Duration::from_millis(200));
    let retries = match child_env(ENV_KIND).as_str() {
        "encrypted" => {
            let vault = LockedVault::open_with(&options, &url)?.unlock(&pass(PASSPHRASE))?;
            increments(&vault, &dir, &id)?
        }
        _ => increments(&options.open(&url)?, &dir, &id)?,
    };
    println!("\nRETRIES {retries}");
    Ok(())
}

fn four_processes_increment(url: &Path, kind: &str) -> TestResult {
    let dir = tempfile::tempdir()?;
    let started = Instant::now();
    let children: Vec<_> = (0..PROCESSES)
        .map(|id| {
            let env = [
                (ENV_URL, url.to_str().unwrap().to_owned()),
                (ENV_DIR, dir.path().to_str().unwrap().to_owned()),
                (ENV_ID, id.to_string()),
                (ENV_KIND, kind.to_owned()),
            ];
            std::thread::spawn(move || {
                let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
                run_child("server::server_counter_child", &env, None).map_err(|e| e.to_string())
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(120);
    while (0..PROCESSES).any(|id| !dir.path().join(format!("ready-{id}")).exists()) {
        assert!(Instant::now() < deadline, "the children never got ready");
        assert!(
            !children.iter().all(|c| c.is_finished()),
            "the children ended"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    std::fs::write(dir.path().join("go"), b"")?;
    let mut retries = 0u64;
    for child in children {
        let out = child.join().unwrap()?;
        check_child(&out)?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        retries += stdout
            .lines()
            .find_map(|l| l.strip_prefix("RETRIES "))
            .ok_or("no retry count")?
            .split(' ')
            .next()
            .ok_or("no count")?
            .parse::<u64>()?;
    }
    let counter: Option<u64> = match kind {
        "encrypted" => LockedVault::open(url)?
            .unlock(&pass(PASSPHRASE))?
            .get("counter")?,
        _ => Vault::open(url)?.get("counter")?,
    };
    println!(
        "{kind}: {PROCESSES} processes x {INCREMENTS} read-modify-writes in {:?}, {retries} retried",
        started.elapsed()
    );
    assert_eq!(
        counter,
        Some(PROCESSES as u64 * INCREMENTS),
        "a lost update on the counter"
    );
    Ok(())
}

#[test]
#[ignore = "needs PostgreSQL: run with VAULTS_TEST_PG_URL set and -- --ignored server::"]
fn four_processes_increment_one_counter_on_a_plain_server_vault() -> TestResult {
    let _server = shared();
    let url = fresh_url("race-plain");
    Vault::create(&url)?.close()?;
    four_processes_increment(&url, "plain")
}

#[test]
#[ignore = "needs PostgreSQL: run with VAULTS_TEST_PG_URL set and -- --ignored server::"]
fn four_processes_increment_one_counter_on_an_encrypted_server_vault() -> TestResult {
    let _server = shared();
    let url = fresh_url("race-enc");
    EncryptedVault::create(&url, &pass(PASSPHRASE), KdfParams::MIN)?.close()?;
    four_processes_increment(&url, "encrypted")
}

/// Kills a client at random points of a rotation of a server vault: the
/// vault then opens, under one generation, with every entry readable and
/// unchanged. (The child is the SQLite crash suite's rotating child: it
/// takes any vault location.)
#[test]
#[ignore = "needs PostgreSQL: run with VAULTS_TEST_PG_URL set and -- --ignored server::"]
fn a_client_killed_mid_rotation_leaves_one_valid_generation() {
    let _server = shared();
    const KILLS: usize = 8;
    let base = fresh_url("rotation-base");
    let vault = EncryptedVault::create(&base, &pass(PASS_A), KdfParams::MIN).unwrap();
    vault.put_many(expected(ROTATION_ENTRIES)).unwrap();
    vault.close().unwrap();
    let copy = || {
        let to = fresh_url("rotation");
        vaults::copy_vault(&OpenOptions::new(), &base, &to).unwrap();
        to
    };
    let probe = copy();
    let mut vault = EncryptedVault::open(&probe, &pass(PASS_A)).unwrap();
    let started = Instant::now();
    let _ = vault.rotate(&[(1, &pass(PASS_A))], |_| {}).unwrap();
    let window = started.elapsed() * 3 / 2;
    vault.destroy().unwrap();

    let mut worker = Worker::new();
    let (mut before, mut after) = (0, 0);
    for _ in 0..KILLS {
        let url = copy();
        let (child, _) = spawn_ready("crash::crash_child_rotate", "rotate", &url);
        worker.sleep_below(window);
        drop(child); // SIGKILL, then reaped
        let vault = EncryptedVault::open(&url, &pass(PASS_A)).unwrap();
        let items: BTreeMap<String, String> = vault.items().unwrap().into_iter().collect();
        assert!(
            items == expected(ROTATION_ENTRIES),
            "entries lost or changed"
        );
        match vault.generation() {
            1 => before += 1,
            2 => after += 1,
            g => panic!("generation {g} after one rotation"),
        }
        vault.destroy().unwrap();
    }
    println!(
        "server rotation of {ROTATION_ENTRIES} entries killed within {} ms: \
         before commit {before}, after {after}",
        window.as_millis()
    );
}

/// The cluster folder of `.ci/pg start`, for `.ci/pg restart`.
fn pg_dir() -> String {
    std::env::var("VAULTS_TEST_PG_DIR").unwrap_or_else(|_| {
        panic!("VAULTS_TEST_PG_DIR is not set: the folder given to `.ci/pg start`")
    })
}

/// Restarts the server while a plain and an encrypted vault are in use:
/// operations fail meanwhile only with retryable errors, never return wrong
/// data, and succeed again afterwards, on the same handles.
#[test]
#[ignore = "needs PostgreSQL: run with VAULTS_TEST_PG_URL set and -- --ignored server::"]
fn a_server_restart_mid_run_is_unavailable_then_recovers() -> TestResult {
    let _server = SERVER
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let dir = pg_dir();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.ci/pg");
    let options = OpenOptions::new().busy_timeout(Duration::from_millis(200));
    let plain = options.open_or_create(fresh_url("restart-plain"))?;
    let enc_url = fresh_url("restart-enc");
    EncryptedVault::create(&enc_url, &pass(PASSPHRASE), KdfParams::MIN)?.close()?;
    let enc = LockedVault::open_with(&options, &enc_url)?.unlock(&pass(PASSPHRASE))?;

    let stop = AtomicBool::new(false);
    let failures = AtomicU64::new(0);
    let (done, restarted) = std::thread::scope(|s| -> TestResult<(u64, Duration)> {
        fn run<S: Store>(store: &S, stop: &AtomicBool, failures: &AtomicU64) -> u64 {
            // What the store holds after the last acknowledged write.
            let mut n: u64 = 0;
            let mut acknowledged = 0;
            while !stop.load(Ordering::Relaxed) {
                match store.get::<u64>("n") {
                    Ok(found) => assert!(
                        found == (n > 0).then_some(n) || found == Some(n + 1),
                        "read {found:?} after writing {n}"
                    ),
                    Err(e) => {
                        assert!(e.is_transient(), "a get failed with {e:?}");
                        failures.fetch_add(1, Ordering::Relaxed);
                        std::thread::sleep(Duration::from_millis(5));
                        continue;
                    }
                }
                match store.put("n", &(n + 1)) {
                    Ok(()) => {
                        n += 1;
                        acknowledged += 1;
                    }
                    // A put cut off by the restart may or may not have
                    // committed: the next get accepts either.
                    Err(e) => {
                        assert!(
                            matches!(e, Error::Unavailable { .. } | Error::Busy),
                            "a put failed with {e:?}"
                        );
                        failures.fetch_add(1, Ordering::Relaxed);
                        std::thread::sleep(Duration::from_millis(5));
                        if let Ok(Some(found)) = store.get::<u64>("n") {
                            n = found;
                        }
                    }
                }
            }
            acknowledged
        }
        let a = s.spawn(|| run(&plain, &stop, &failures));
        let b = s.spawn(|| run(&enc, &stop, &failures));
        std::thread::sleep(Duration::from_millis(300));
        let started = Instant::now();
        let status = std::process::Command::new(&script)
            .args(["restart", &dir])
            .status()?;
        assert!(status.success(), ".ci/pg restart {dir}: {status}");
        let restarted = started.elapsed();
        // Let both work again for a while after the restart.
        std::thread::sleep(Duration::from_millis(1000));
        stop.store(true, Ordering::Relaxed);
        let done = a.join().unwrap() + b.join().unwrap();
        Ok((done, restarted))
    })?;
    // And afterwards, every operation succeeds on the same handles.
    let n: u64 = retry(&mut 0, || plain.get("n"))?.ok_or("no value")?;
    plain.put("n", &(n + 1))?;
    assert_eq!(plain.get::<u64>("n")?, Some(n + 1));
    let m: u64 = retry(&mut 0, || enc.get("n"))?.ok_or("no value")?;
    enc.put("n", &(m + 1))?;
    assert_eq!(enc.get::<u64>("n")?, Some(m + 1));
    let failures = failures.into_inner();
    println!(
        "server restarted in {restarted:?}: {done} writes acknowledged, {failures} retryable failures"
    );
    assert!(
        failures > 0,
        "the restart was never noticed: did it happen?"
    );
    Ok(())
}
