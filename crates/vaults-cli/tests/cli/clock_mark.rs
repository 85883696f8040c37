//! A clock set back does not revive expired entries: every vault keeps a
//! high-water mark of the latest time it has seen (meta record
//! `clock_mark`), and expiry is decided at the later of it and the clock.
//!
//! Regression: under `faketime -f -1h` an entry that had expired read
//! again, and `persist` made it permanent.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::cli_util;
use crate::faketime;

use std::path::Path;
use std::time::Duration;

use vaults::{
    EncryptedVault, Error, KdfParams, LockedVault, ManualClock, OpenOptions, Passphrase, Store,
    Vault,
};
use vaults_test_support::{T0, TestResult, open_with_clock};

const HOUR: i64 = 3_600_000;

/// An entry with a 10 s TTL written at `T0`, seen expired at `T0 + 20 s`.
fn expired_and_seen<S: Store>(vault: &S, clock: &ManualClock) -> TestResult {
    vault.put_with_ttl("session", "token", Duration::from_secs(10))?;
    vault.put("forever", "kept")?;
    clock.set(T0 + 20_000);
    assert_eq!(vault.get::<String>("session")?, None);
    Ok(())
}

/// Everything a reader can ask says the entry is gone, and `persist`
/// cannot bring it back.
fn stays_expired<S: Store>(vault: &S) -> TestResult {
    assert_eq!(vault.get::<String>("session")?, None);
    assert!(!vault.contains("session")?);
    assert_eq!(vault.ttl("session")?, None);
    assert!(!vault.persist("session")?);
    assert_eq!(vault.keys()?, ["forever"]);
    assert_eq!(vault.len()?, 1);
    assert_eq!(vault.get::<String>("forever")?.as_deref(), Some("kept"));
    Ok(())
}

#[test]
fn a_clock_set_back_does_not_revive_an_expired_entry_in_the_same_handle() -> TestResult {
    let dir = tempfile::tempdir()?;
    let clock = ManualClock::new(T0);
    let vault = open_with_clock(&dir.path().join("v.db"), &clock)?;
    expired_and_seen(&vault, &clock)?;
    clock.set(T0 + 20_000 - HOUR);
    stays_expired(&vault)?;
    // Exact within a handle, even for less than the file's step.
    clock.set(T0 + 20_000);
    vault.put_with_ttl("short", "x", Duration::from_millis(300))?;
    assert!(vault.contains("short")?);
    clock.set(T0 + 21_000);
    assert!(!vault.contains("short")?);
    clock.set(T0 + 20_500);
    assert!(!vault.contains("short")?);
    Ok(())
}

#[test]
fn a_clock_set_back_does_not_revive_an_expired_entry_in_a_new_handle() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("v.db");
    let clock = ManualClock::new(T0);
    let vault = open_with_clock(&path, &clock)?;
    // Seen expired by a read only: the read records the mark.
    expired_and_seen(&vault, &clock)?;
    vault.close()?;
    clock.set(T0 + 20_000 - HOUR);
    stays_expired(&open_with_clock(&path, &clock)?)?;
    // `cleanup` deletes it by the mark too.
    let vault = open_with_clock(&path, &clock)?;
    assert_eq!(vault.cleanup_expired()?, 1);
    Ok(())
}

#[test]
fn a_write_records_the_mark_for_other_processes() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("v.db");
    let clock = ManualClock::new(T0);
    let writer = open_with_clock(&path, &clock)?;
    let behind = ManualClock::new(T0);
    let reader = open_with_clock(&path, &behind)?;
    writer.put_with_ttl("session", "token", Duration::from_secs(10))?;
    writer.put("forever", "kept")?;
    clock.set(T0 + 20_000);
    writer.put("later", "write")?;
    writer.remove("later")?;
    // A handle opened now, whose clock is an hour behind, sees it expired.
    behind.set(T0 + 20_000 - HOUR);
    stays_expired(&open_with_clock(&path, &behind)?)?;
    // One opened before the write learns the mark when it writes.
    reader.put("x", "y")?;
    assert!(!reader.contains("session")?);
    Ok(())
}

#[test]
fn an_encrypted_vault_keeps_the_mark_and_still_unlocks() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("v.db");
    let pass = Passphrase::new("clock mark passphrase")?;
    let clock = ManualClock::new(T0);
    let options = OpenOptions::new().clock(clock.clone());
    let vault = EncryptedVault::create_with(&options, &path, &pass, KdfParams::MIN)?;
    expired_and_seen(&vault, &clock)?;
    vault.close()?;
    clock.set(T0 + 20_000 - HOUR);
    // The mark is outside the authenticated metadata: unlock still verifies.
    let vault = LockedVault::open_with(&options, &path)?.unlock(&pass)?;
    stays_expired(&vault)?;
    Ok(())
}

fn edit_mark(path: &Path, value: &[u8]) -> TestResult {
    let conn = rusqlite::Connection::open(path)?;
    conn.execute(
        "UPDATE meta SET value = ?1 WHERE name = 'clock_mark'",
        [value],
    )?;
    Ok(())
}

#[test]
fn a_mark_edited_forward_only_expires_entries_early_never_lengthens_a_life() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("v.db");
    let clock = ManualClock::new(T0);
    let vault = open_with_clock(&path, &clock)?;
    vault.put_with_ttl("session", "token", Duration::from_secs(60))?;
    vault.put("forever", "kept")?;
    vault.close()?;
    edit_mark(&path, &(T0 + 100 * HOUR).to_be_bytes())?;

    let vault = open_with_clock(&path, &clock)?;
    // Early expiry (no more than deleting the row) ...
    assert!(!vault.contains("session")?);
    assert_eq!(vault.get::<String>("forever")?.as_deref(), Some("kept"));
    // ... a TTL the edited mark would hide is refused, not acknowledged ...
    assert!(matches!(
        vault.put_with_ttl("new", "v", Duration::from_secs(60)),
        Err(Error::ClockBehind {
            behind_secs: 360_000
        })
    ));
    // ... and a longer one counts from the clock, not from the edited mark.
    vault.put_with_ttl("new", "v", Duration::from_secs(101 * 3_600))?;
    assert!(vault.contains("new")?);
    vault.close()?;
    let conn = rusqlite::Connection::open(&path)?;
    let at: i64 = conn.query_row(
        "SELECT expires_at FROM entries WHERE key = CAST('new' AS BLOB)",
        [],
        |r| r.get(0),
    )?;
    assert_eq!(at, T0 + 101 * HOUR);
    Ok(())
}

#[test]
fn a_malformed_or_removed_mark_is_the_clock_as_before() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("v.db");
    let clock = ManualClock::new(T0);
    let vault = open_with_clock(&path, &clock)?;
    vault.put_with_ttl("session", "token", Duration::from_secs(60))?;
    vault.close()?;
    edit_mark(&path, b"garbage")?;
    assert!(open_with_clock(&path, &clock)?.contains("session")?);
    rusqlite::Connection::open(&path)?.execute("DELETE FROM meta WHERE name = 'clock_mark'", [])?;
    assert!(Vault::open(&path).is_ok());
    assert!(open_with_clock(&path, &clock)?.contains("session")?);
    Ok(())
}

#[test]
fn cli_an_entry_seen_expired_stays_expired_when_the_clock_goes_back() {
    let Some(faketime) = faketime::faketime() else {
        return;
    };
    let env = cli_util::Env::new();
    env.init_plain();
    let run = |fake, args: &[&str], stdin| faketime::run(&env, faketime, fake, args, stdin);
    cli_util::assert_success(&run(None, &["set", "k", "--ttl", "1h"], "token"));
    // Two hours on, the entry has expired: a read sees it so.
    assert_eq!(run(Some("+2h"), &["get", "k"], "").status.code(), Some(3));
    // Back to the real clock, an hour before its expiry: still gone.
    let out = run(None, &["get", "k"], "");
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert_eq!(run(None, &["persist", "k"], "").status.code(), Some(3));
    assert_eq!(run(Some("+3h"), &["get", "k"], "").status.code(), Some(3));
}
