//! One handle shared by several threads: a read that finds the handle's
//! connection busy runs on a read connection of its own (SQLite, WAL)
//! instead of waiting. These tests hold the main connection in a write
//! transaction on one thread and read from another, so the read has to
//! take a read connection.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use vaults::{Error, Store, Vault};
use vaults_test_support::encrypted::*;

/// Runs `hold` inside a write transaction of `vault` on another thread;
/// once it is inside, runs `read` here, then lets the transaction commit
/// (after `read`, or after `at_most`, whichever is first). Returns what
/// `read` returned, how long it took, and how the transaction ended.
fn while_a_write_is_open<S: Store + Sync, R>(
    vault: &S,
    at_most: Duration,
    hold: impl FnOnce(&vaults::Transaction<'_>) -> vaults::Result<()> + Send,
    read: impl FnOnce() -> R,
) -> (R, Duration, vaults::Result<()>) {
    let (inside_tx, inside) = mpsc::channel();
    let (done_tx, done) = mpsc::channel::<()>();
    std::thread::scope(|scope| {
        let writer = scope.spawn(move || {
            vault.transaction(|tx| {
                hold(tx)?;
                inside_tx.send(()).expect("the reader waits");
                let _ = done.recv_timeout(at_most);
                Ok(())
            })
        });
        inside.recv().expect("the writer got inside");
        let start = Instant::now();
        let out = read();
        let took = start.elapsed();
        let _ = done_tx.send(());
        let ended = writer.join().expect("the writer thread");
        (out, took, ended)
    })
}

/// Long enough that a read waiting for the writer would show.
const HOLD: Duration = Duration::from_secs(10);

#[test]
fn reads_from_another_thread_do_not_wait_for_an_open_write() -> TestResult {
    let dir = tempfile::tempdir()?;
    let vault = Vault::open_or_create(dir.path().join("v.db"))?;
    vault.put("k", &1)?;
    let (read, took, ended) = while_a_write_is_open(
        &vault,
        HOLD,
        |tx| tx.put("k", &2),
        || (vault.get::<i32>("k"), vault.keys()),
    );
    ended?;
    // The committed value: the open transaction's write is not seen.
    assert_eq!(read.0?, Some(1));
    assert_eq!(read.1?, ["k"]);
    assert!(took < Duration::from_secs(5), "the read waited {took:?}");
    // Once committed, the write is seen from every connection.
    assert_eq!(vault.get::<i32>("k")?, Some(2));
    Ok(())
}

#[test]
fn an_encrypted_handle_reads_beside_its_own_open_write() -> TestResult {
    let (_dir, path) = temp_path();
    let clock = vaults::ManualClock::new(T0);
    let vault = create(&path, "pw one", &clock)?;
    vault.put_many((0..2_000).map(|i| (format!("n{i:04}"), i)))?;
    let (read, took, ended) = while_a_write_is_open(
        &vault,
        HOLD,
        |tx| tx.put("n0000", &-1),
        || (vault.get::<i32>("n0007"), vault.keys()),
    );
    ended?;
    assert_eq!(read.0?, Some(7));
    assert_eq!(read.1?.len(), 2_000);
    assert!(took < Duration::from_secs(5), "the read waited {took:?}");
    assert_eq!(vault.get::<i32>("n0000")?, Some(-1));
    Ok(())
}

/// Runs `read` while another thread holds `vault`'s main connection in a
/// snapshot (a read transaction, which checks no key), so that `read` runs
/// on a read connection.
fn while_a_snapshot_is_open<S: Store + Sync, R>(vault: &S, read: impl FnOnce() -> R) -> R {
    let (inside_tx, inside) = mpsc::channel();
    let (done_tx, done) = mpsc::channel::<()>();
    std::thread::scope(|scope| {
        let holder = scope.spawn(move || {
            vault.snapshot(|_| {
                inside_tx.send(()).expect("the reader waits");
                let _ = done.recv_timeout(HOLD);
                Ok(())
            })
        });
        inside.recv().expect("the snapshot is open");
        let out = read();
        let _ = done_tx.send(());
        holder
            .join()
            .expect("the snapshot thread")
            .expect("the snapshot");
        out
    })
}

/// A read connection must notice a rotation by another handle as the main
/// connection does: its change tokens are its own, never compared with
/// those of the main connection.
#[test]
fn a_read_connection_sees_a_rotation_by_another_handle() -> TestResult {
    let (_dir, path) = temp_path();
    let clock = vaults::ManualClock::new(T0);
    let mut rotator = create(&path, "pw one", &clock)?;
    rotator.put("k", &1)?;
    let stale = open(&path, "pw one", &clock)?;
    // Warm both connections of `stale`: the main one, then a read one.
    assert_eq!(stale.get::<i32>("absent")?, None);
    assert_eq!(
        while_a_snapshot_is_open(&stale, || stale.get::<i32>("absent"))?,
        None
    );
    let _ = rotator.rotate(&[(1, &pass("pw one"))], |_| {})?;
    // A miss on the read connection, then one on the main connection.
    let miss = while_a_snapshot_is_open(&stale, || stale.get::<i32>("absent").map(drop));
    assert!(matches!(miss, Err(Error::KeyRotated)), "{miss:?}");
    let miss = stale.get::<i32>("absent").map(drop);
    assert!(matches!(miss, Err(Error::KeyRotated)), "{miss:?}");
    Ok(())
}

/// A read connection opens the path again; when another file has been
/// put at the path since the handle opened, it must not read that file.
#[test]
fn a_read_connection_never_opens_a_file_put_in_the_vaults_place() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("v.db");
    let vault = Vault::open_or_create(&path)?;
    vault.put("k", &"original")?;
    let other_path = dir.path().join("other.db");
    let other = Vault::open_or_create(&other_path)?;
    other.put("k", &"impostor")?;
    other.close()?;
    std::fs::rename(&other_path, &path)?;
    // The read cannot use a read connection, so it waits for the main one,
    // which the writer gives up after 300 ms.
    let (read, took, _) = while_a_write_is_open(
        &vault,
        Duration::from_millis(300),
        |_| Ok(()),
        || vault.get::<String>("k"),
    );
    assert_eq!(read?.as_deref(), Some("original"));
    assert!(
        took >= Duration::from_millis(250),
        "it read elsewhere: {took:?}"
    );
    assert_eq!(vault.get::<String>("k")?.as_deref(), Some("original"));
    Ok(())
}

#[test]
fn many_threads_reading_one_handle_see_every_entry() -> TestResult {
    let dir = tempfile::tempdir()?;
    let vault = Vault::open_or_create(dir.path().join("v.db"))?;
    vault.put_many((0..500).map(|i| (format!("k{i:03}"), i)))?;
    std::thread::scope(|scope| {
        let readers: Vec<_> = (0..8)
            .map(|t| {
                let vault = &vault;
                scope.spawn(move || -> vaults::Result<()> {
                    for round in 0..50 {
                        let i: i32 = (t * 61 + round * 7) % 500;
                        assert_eq!(vault.get::<i32>(&format!("k{i:03}"))?, Some(i));
                        if round % 10 == 0 {
                            // Its 500, and what the writer added so far.
                            assert!((500..=600).contains(&vault.len()?));
                        }
                    }
                    Ok(())
                })
            })
            .collect();
        // A writer beside them: its entries never disturb theirs.
        for i in 0..100 {
            vault.put(&format!("w{i:03}"), &i)?;
        }
        for r in readers {
            r.join().expect("a reader thread")?;
        }
        Ok::<(), Error>(())
    })?;
    assert_eq!(vault.len()?, 600);
    Ok(())
}

/// A bulk put seals, and a listing opens names, on several threads in
/// batches: every name comes back once, sorted, across batch boundaries
/// (8,192 names a listing batch), and a tampered row anywhere fails the
/// listing instead of dropping out of it.
#[test]
fn bulk_puts_and_listings_across_many_batches_lose_nothing() -> TestResult {
    let (_dir, path) = temp_path();
    let clock = vaults::ManualClock::new(T0);
    let vault = create(&path, "pw one", &clock)?;
    let n = 20_000;
    vault.put_many((0..n).rev().map(|i| (format!("name/{i:05}"), i)))?;
    let names = vault.keys()?;
    let expected: Vec<String> = (0..n).map(|i| format!("name/{i:05}")).collect();
    assert_eq!(names, expected);
    assert_eq!(vault.get::<i32>("name/12345")?, Some(12345));

    // One sealed name edited, in the listing's third batch.
    let conn = raw(&path);
    let mut row = rows(&conn).swap_remove(17_000);
    let original = row.clone();
    if let Some(name) = row.name.as_mut() {
        name[40] ^= 1;
    }
    write_row(&conn, &row);
    let listed = vault.keys();
    assert!(matches!(listed, Err(Error::Integrity(_))), "{listed:?}");
    write_row(&conn, &original);
    assert_eq!(vault.keys()?.len(), 20_000);
    Ok(())
}
