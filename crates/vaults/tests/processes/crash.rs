//! Crash safety with real processes: a child process writes (single puts,
//! bulk puts, transactions), rotates the vault key or changes the passphrase,
//! and is killed with SIGKILL at a random moment; the vault must then open in
//! exactly one valid state with every acknowledged write.
//!
//! The test re-runs its own binary as the child (`--exact crash::<child>
//! --ignored`), with the role and the vault path in environment variables;
//! the child tests are ignored in a normal run and fail when run alone.
//!
//! Iterations per test: 20, or `VAULTS_CRASH_ITERATIONS` (e.g.
//! `VAULTS_CRASH_ITERATIONS=500 cargo test --release --test processes crash:: -- --nocapture`).
//! Each iteration works on a fresh copy of one vault, so the outcome is
//! always "before" or "after" one operation. Run with `--nocapture` to see
//! how many kills landed before and after the commit.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{ChildStdout, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use vaults::{EncryptedVault, Error, KdfParams, Store};
use vaults_test_support::encrypted::*;
use vaults_test_support::{child_command, child_env};

/// Environment variable naming the child's role (`rotate`, `passwd`,
/// `writes-plain` or `writes-encrypted`).
const ROLE_VAR: &str = "VAULTS_CRASH_ROLE";
/// Environment variable carrying the vault path to the child.
const VAULT_VAR: &str = "VAULTS_CRASH_VAULT";
/// Environment variable raising the number of iterations.
const ITERATIONS_VAR: &str = "VAULTS_CRASH_ITERATIONS";
/// What a child prints (and flushes) right before the operation starts.
const READY: &str = "CRASH-CHILD-READY";

pub(crate) const PASS_A: &str = "crash passphrase A";
const PASS_B: &str = "crash passphrase B";
/// Entries of the vault a rotation re-encrypts.
pub(crate) const ROTATION_ENTRIES: usize = 3000;
/// Entries of the vault whose passphrase changes (none is re-encrypted: the
/// check is that all are still there).
const PASSWD_ENTRIES: usize = 500;

fn iterations() -> usize {
    std::env::var(ITERATIONS_VAR)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20)
}

/// The vault path its parent gave a child in `role` (a child run alone, or
/// in another role, fails).
fn child_vault(role: &str) -> PathBuf {
    assert_eq!(child_env(ROLE_VAR), role, "a child run in the wrong role");
    PathBuf::from(child_env(VAULT_VAR))
}

/// Tells the parent the operation is about to start.
fn announce() {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{READY}").unwrap();
    out.flush().unwrap();
}

/// Child: rotates the key once (the parent kills it at some point).
#[test]
#[ignore = "child process of a_rotation_killed_at_any_point_leaves_one_whole_generation: run by it"]
fn crash_child_rotate() {
    let path = child_vault("rotate");
    let mut vault = EncryptedVault::open(&path, &pass(PASS_A)).unwrap();
    let slot = vault.unlocked_slot();
    announce();
    let _ = vault.rotate(&[(slot, &pass(PASS_A))], |_| {}).unwrap();
}

/// Child: changes the passphrase A → B → A → … until killed (bounded, so a
/// parent that fails to kill it does not leave it running).
#[test]
#[ignore = "child process of a_passphrase_change_killed_at_any_point_leaves_one_passphrase: run by it"]
fn crash_child_change_passphrase() {
    let path = child_vault("passwd");
    let vault = EncryptedVault::open(&path, &pass(PASS_A)).unwrap();
    let slot = vault.unlocked_slot();
    let (a, b) = (pass(PASS_A), pass(PASS_B));
    announce();
    for i in 0..1000 {
        let next = if i % 2 == 0 { &b } else { &a };
        let _ = vault.change_passphrase(slot, next, KdfParams::MIN).unwrap();
    }
}

/// A child process, killed and reaped when dropped.
pub(crate) struct Child(pub(crate) std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts this test binary as the child `test` in `role` on `path`, and
/// waits until it announces the operation. Returns the child and the rest of
/// its output (dropping that closes the pipe: a child that prints after its
/// announcement must be read to the end).
pub(crate) fn spawn_ready(test: &str, role: &str, path: &Path) -> (Child, BufReader<ChildStdout>) {
    let mut child = Child(
        child_command(test)
            .env(ROLE_VAR, role)
            .env(VAULT_VAR, path)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut stdout = BufReader::new(child.0.stdout.take().unwrap());
    let mut line = String::new();
    while stdout.read_line(&mut line).unwrap() > 0 {
        if line.contains(READY) {
            return (child, stdout);
        }
        line.clear();
    }
    let mut stderr = String::new();
    let _ = child.0.stderr.take().unwrap().read_to_string(&mut stderr);
    panic!("the child ended before starting:\n{stderr}");
}

/// One thread running iterations, with its random generator (seeded from
/// the OS, the seed printed).
pub(crate) struct Worker {
    rng: u64,
}

impl Worker {
    pub(crate) fn new() -> Worker {
        let mut seed = [0u8; 8];
        getrandom::fill(&mut seed).unwrap();
        let rng = u64::from_le_bytes(seed) | 1;
        println!("kill delays seeded with {rng:#x}");
        Worker { rng }
    }

    /// Sleeps a uniformly random whole number of ms in `0..=window`
    /// (xorshift64).
    pub(crate) fn sleep_below(&mut self, window: Duration) {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        let ms = self.rng % (window.as_millis() as u64 + 1);
        std::thread::sleep(Duration::from_millis(ms));
    }
}

/// Runs `iteration(i, worker)` for every `i` in `0..iterations()`, on
/// `threads` threads: an iteration mostly waits (for its child, then for the
/// kill), so several at a time keep both cores busy.
fn run_iterations(threads: usize, iteration: impl Fn(usize, &mut Worker) + Sync) {
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                let mut worker = Worker::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= iterations() {
                        break;
                    }
                    iteration(i, &mut worker);
                }
            });
        }
    });
}

/// The entries of a crash vault of `n` entries.
pub(crate) fn expected(n: usize) -> BTreeMap<String, String> {
    (0..n)
        .map(|i| (format!("entry-{i:04}"), format!("value-{i:04}")))
        .collect()
}

/// A closed vault of `n` expected entries, in `dir`.
fn base_vault(dir: &Path, n: usize) -> PathBuf {
    let path = dir.join("base.db");
    let vault = EncryptedVault::create(&path, &pass(PASS_A), KdfParams::MIN).unwrap();
    vault.put_many(expected(n)).unwrap();
    vault.close().unwrap();
    path
}

/// Asserts the file is sound for SQLite and holds exactly the `n` expected
/// entries, opened with `passphrase`; returns the vault.
fn check_whole(path: &Path, passphrase: &str, n: usize) -> EncryptedVault {
    let conn = raw(path);
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    drop(conn);
    let vault = EncryptedVault::open(path, &pass(passphrase)).unwrap();
    let items: BTreeMap<String, String> = vault.items().unwrap().into_iter().collect();
    assert!(items == expected(n), "entries lost or changed");
    vault
}

/// A fresh copy of the base vault for one iteration.
fn fresh_copy(base: &Path, dir: &Path, i: usize) -> PathBuf {
    let path = dir.join(format!("iteration-{i}.db"));
    std::fs::copy(base, &path).unwrap();
    path
}

#[test]
fn a_rotation_killed_at_any_point_leaves_one_whole_generation() {
    let dir = tempfile::tempdir().unwrap();
    let base = base_vault(dir.path(), ROTATION_ENTRIES);
    let (before, after, exited) = (
        AtomicUsize::new(0),
        AtomicUsize::new(0),
        AtomicUsize::new(0),
    );
    // How long a whole rotation takes here: kills land anywhere up to it.
    // Children run three at a time on two cores, slower than this probe, so
    // the window is stretched by half for some kills to land after the end.
    let probe = fresh_copy(&base, dir.path(), usize::MAX);
    let mut vault = EncryptedVault::open(&probe, &pass(PASS_A)).unwrap();
    let started = Instant::now();
    let _ = vault.rotate(&[(1, &pass(PASS_A))], |_| {}).unwrap();
    let window = started.elapsed() * 3 / 2;
    drop(vault);

    // Three at a time: each waits for its child, then verifies alone.
    run_iterations(3, |i, worker| {
        let path = fresh_copy(&base, dir.path(), i);
        let (mut child, _) = spawn_ready("crash::crash_child_rotate", "rotate", &path);
        worker.sleep_below(window);
        if child.0.try_wait().unwrap().is_some() {
            exited.fetch_add(1, Ordering::Relaxed);
        }
        drop(child); // SIGKILL, then reaped

        let vault = check_whole(&path, PASS_A, ROTATION_ENTRIES);
        match vault.generation() {
            1 => before.fetch_add(1, Ordering::Relaxed),
            2 => after.fetch_add(1, Ordering::Relaxed),
            g => panic!("generation {g} after one rotation"),
        };
        drop(vault);
        std::fs::remove_file(&path).unwrap();
    });
    let (before, after, exited) = (before.into_inner(), after.into_inner(), exited.into_inner());
    println!(
        "rotation of {ROTATION_ENTRIES} entries, killed within {} ms: before commit {before}, \
         after commit {after} (the child had already exited in {exited} of them)",
        window.as_millis()
    );
    assert_eq!(before + after, iterations());
}

#[test]
fn a_passphrase_change_killed_at_any_point_leaves_one_passphrase() {
    let dir = tempfile::tempdir().unwrap();
    let base = base_vault(dir.path(), PASSWD_ENTRIES);

    // How long one change takes here; kills land over the first few.
    let probe = fresh_copy(&base, dir.path(), usize::MAX);
    let vault = EncryptedVault::open(&probe, &pass(PASS_A)).unwrap();
    let started = Instant::now();
    let _ = vault
        .change_passphrase(1, &pass(PASS_B), KdfParams::MIN)
        .unwrap();
    let window = 4 * started.elapsed();
    drop(vault);

    let (on_a, on_b) = (AtomicUsize::new(0), AtomicUsize::new(0));
    // One at a time: this test runs beside the rotation test, which takes
    // longer.
    run_iterations(1, |i, worker| {
        let path = fresh_copy(&base, dir.path(), i);
        let (child, _) = spawn_ready("crash::crash_child_change_passphrase", "passwd", &path);
        worker.sleep_below(window);
        drop(child); // SIGKILL, then reaped

        let a = EncryptedVault::open(&path, &pass(PASS_A));
        let b = EncryptedVault::open(&path, &pass(PASS_B));
        let (good, wrong) = match (a, b) {
            (Ok(_), Err(e)) => {
                on_a.fetch_add(1, Ordering::Relaxed);
                (PASS_A, e)
            }
            (Err(e), Ok(_)) => {
                on_b.fetch_add(1, Ordering::Relaxed);
                (PASS_B, e)
            }
            (a, b) => panic!("exactly one passphrase must open: A {a:?}, B {b:?}"),
        };
        assert!(matches!(wrong, Error::WrongPassphrase), "{wrong:?}");
        check_whole(&path, good, PASSWD_ENTRIES);
        std::fs::remove_file(&path).unwrap();
    });
    let (on_a, on_b) = (on_a.into_inner(), on_b.into_inner());
    println!(
        "passphrase change killed within {} ms: A opens {on_a}, B opens {on_b}",
        window.as_millis()
    );
    assert_eq!(on_a + on_b, iterations());
}

/// What a writing child prints (and flushes) after each commit, followed by
/// the batch number.
const ACK: &str = "ACK ";
/// Batches a writing child runs at most (the parent kills it long before).
const MAX_BATCHES: usize = 100_000;
/// Entries of a bulk put.
const BULK: usize = 16;
/// Entries put by a transaction besides its other changes.
const TX_PUTS: usize = 8;

/// A value of about 200 bytes that names its batch and entry.
fn batch_value(batch: usize, j: usize) -> String {
    format!("{batch}-{j}:").repeat(20)
}

/// Applies batch `i` of the writing children's fixed sequence to `store`,
/// committing once. Every fourth batch is, in turn: one put; a bulk put of
/// [`BULK`] entries; a transaction that puts [`TX_PUTS`] entries, overwrites
/// a counter and removes the put of batch `i - 2`; a transaction that
/// removes the whole bulk put of batch `i - 2` and leaves a marker.
fn write_batch<S: Store>(store: &S, i: usize) -> vaults::Result<()> {
    match i % 4 {
        0 => store.put(&format!("single/{i}"), &batch_value(i, 0)),
        1 => store.put_many((0..BULK).map(|j| (format!("bulk/{i}/{j:02}"), batch_value(i, j)))),
        2 => store.transaction(|tx| {
            for j in 0..TX_PUTS {
                tx.put(&format!("tx/{i}/{j}"), &batch_value(i, j))?;
            }
            tx.put("counter", &i.to_string())?;
            tx.remove(&format!("single/{}", i - 2)).map(drop)
        }),
        _ => store.transaction(|tx| {
            for j in 0..BULK {
                tx.remove(&format!("bulk/{}/{j:02}", i - 2))?;
            }
            tx.put(&format!("removed/{}", i - 2), &batch_value(i, 0))
        }),
    }
}

/// The entries after the first `n` batches of [`write_batch`].
fn after_batches(n: usize) -> BTreeMap<String, String> {
    let mut model = BTreeMap::new();
    for i in 0..n {
        match i % 4 {
            0 => {
                model.insert(format!("single/{i}"), batch_value(i, 0));
            }
            1 => {
                for j in 0..BULK {
                    model.insert(format!("bulk/{i}/{j:02}"), batch_value(i, j));
                }
            }
            2 => {
                for j in 0..TX_PUTS {
                    model.insert(format!("tx/{i}/{j}"), batch_value(i, j));
                }
                model.insert("counter".into(), i.to_string());
                model.remove(&format!("single/{}", i - 2));
            }
            _ => {
                for j in 0..BULK {
                    model.remove(&format!("bulk/{}/{j:02}", i - 2));
                }
                model.insert(format!("removed/{}", i - 2), batch_value(i, 0));
            }
        }
    }
    model
}

/// Runs the writing batches on `store`, acknowledging each after its commit.
fn write_and_acknowledge<S: Store>(store: &S) {
    announce();
    let mut out = std::io::stdout().lock();
    for i in 0..MAX_BATCHES {
        write_batch(store, i).unwrap();
        writeln!(out, "{ACK}{i}").unwrap();
        out.flush().unwrap();
    }
}

/// Child: runs the writing batches on a plain vault (durable commits).
#[test]
#[ignore = "child process of writes_to_a_plain_vault_killed_at_any_point_keep_every_acknowledged_batch: run by it"]
fn crash_child_writes_plain() {
    let path = child_vault("writes-plain");
    write_and_acknowledge(&vaults::Vault::open(&path).unwrap());
}

/// Child: runs the writing batches on an encrypted vault (durable commits).
#[test]
#[ignore = "child process of writes_to_an_encrypted_vault_killed_at_any_point_keep_every_acknowledged_batch: run by it"]
fn crash_child_writes_encrypted() {
    let path = child_vault("writes-encrypted");
    write_and_acknowledge(&EncryptedVault::open(&path, &pass(PASS_A)).unwrap());
}

/// Kills a writing child (`role`, child test `test`) at random moments in
/// the first `window`, and checks each time that the file is sound and
/// holds exactly the acknowledged batches, or those and the one batch whose
/// commit the kill overtook before its acknowledgement: never part of a
/// batch, never less.
fn writes_killed_at_random(
    test: &str,
    role: &str,
    base: &Path,
    read: impl Fn(&Path) -> BTreeMap<String, String> + Sync,
) {
    let dir = base.parent().unwrap();
    let window = Duration::from_millis(600);
    let (acked_total, unacked_seen) = (AtomicUsize::new(0), AtomicUsize::new(0));
    run_iterations(2, |i, worker| {
        let path = fresh_copy(base, dir, i);
        let (child, mut stdout) = spawn_ready(test, role, &path);
        // Read the acknowledgements as they come, so none is lost in a full
        // pipe and the count is exact once the pipe closes.
        let acked = std::thread::scope(|scope| {
            let reader = scope.spawn(|| {
                let mut acked = 0;
                for line in (&mut stdout).lines() {
                    if let Some(n) = line.unwrap().strip_prefix(ACK) {
                        assert_eq!(
                            n.parse::<usize>().unwrap(),
                            acked,
                            "acknowledged out of order"
                        );
                        acked += 1;
                    }
                }
                acked
            });
            worker.sleep_below(window);
            drop(child); // SIGKILL, then reaped: the pipe closes
            reader.join().unwrap()
        });

        let conn = raw(&path);
        let check: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok");
        drop(conn);
        let found = read(&path);
        if found == after_batches(acked + 1) && found != after_batches(acked) {
            unacked_seen.fetch_add(1, Ordering::Relaxed);
        } else {
            assert!(
                found == after_batches(acked),
                "iteration {i}: after {acked} acknowledged batches the vault holds {} entries, \
                 not the {} expected (a lost or partial batch)",
                found.len(),
                after_batches(acked).len()
            );
        }
        acked_total.fetch_add(acked, Ordering::Relaxed);
        std::fs::remove_file(&path).unwrap();
    });
    let (acked, unacked) = (acked_total.into_inner(), unacked_seen.into_inner());
    println!(
        "{role}: {} kills within {} ms, {acked} acknowledged batches in all; \
         the batch in flight had committed unacknowledged in {unacked}",
        iterations(),
        window.as_millis()
    );
    // Most kills land after some batches committed, or the test proves little.
    assert!(
        acked >= iterations(),
        "too few batches ran before the kills: {acked}"
    );
}

#[test]
fn writes_to_a_plain_vault_killed_at_any_point_keep_every_acknowledged_batch() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base.db");
    vaults::Vault::open_or_create(&base)
        .unwrap()
        .close()
        .unwrap();
    writes_killed_at_random(
        "crash::crash_child_writes_plain",
        "writes-plain",
        &base,
        |path| {
            let vault = vaults::Vault::open(path).unwrap();
            vault.items().unwrap().into_iter().collect()
        },
    );
}

#[test]
fn writes_to_an_encrypted_vault_killed_at_any_point_keep_every_acknowledged_batch() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base.db");
    EncryptedVault::create(&base, &pass(PASS_A), KdfParams::MIN)
        .unwrap()
        .close()
        .unwrap();
    writes_killed_at_random(
        "crash::crash_child_writes_encrypted",
        "writes-encrypted",
        &base,
        |path| {
            let vault = EncryptedVault::open(path, &pass(PASS_A)).unwrap();
            vault.items().unwrap().into_iter().collect()
        },
    );
}
