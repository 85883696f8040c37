//! Plain reads stay reads: the clock mark is raised by a read only when the
//! read skipped an entry that expired after the stored mark (the only case
//! where forgetting the read's time could later revive something).
//!
//! Regression: every `get`, `ls`, and even `LockedVault::open`, committed
//! an fsync'd write of the mark about once a second per handle.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::cli_util;
use crate::faketime;

use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;
use vaults::{EncryptedVault, KdfParams, LockedVault, ManualClock, OpenOptions, Passphrase, Store};
use vaults_test_support::{T0, TestResult, open_with_clock};

/// Watches a vault file from another connection, as another process would.
struct Watcher {
    conn: Connection,
    version: i64,
    mark: Option<Vec<u8>>,
}

impl Watcher {
    fn new(path: &Path) -> TestResult<Watcher> {
        let conn = Connection::open(path)?;
        let (version, mark) = Self::look(&conn)?;
        Ok(Watcher {
            conn,
            version,
            mark,
        })
    }

    fn look(conn: &Connection) -> TestResult<(i64, Option<Vec<u8>>)> {
        // `data_version` changes when another connection commits.
        let version = conn.query_row("PRAGMA data_version", [], |r| r.get(0))?;
        let mark = conn
            .query_row(
                "SELECT value FROM meta WHERE name = 'clock_mark'",
                [],
                |r| r.get(0),
            )
            .ok();
        Ok((version, mark))
    }

    /// Whether anything committed since the last look.
    fn changed(&mut self) -> TestResult<bool> {
        let (version, mark) = Self::look(&self.conn)?;
        let changed = version != self.version || mark != self.mark;
        (self.version, self.mark) = (version, mark);
        Ok(changed)
    }
}

/// Every kind of read, on a vault whose entries are all alive.
fn read_everything<S: Store>(vault: &S) -> TestResult {
    assert_eq!(vault.get::<String>("forever")?.as_deref(), Some("kept"));
    assert!(vault.contains("session")?);
    assert!(vault.ttl("session")?.is_some());
    assert_eq!(vault.get::<String>("missing")?, None);
    assert_eq!(vault.keys()?, ["forever", "session"]);
    assert_eq!(vault.len()?, 2);
    Ok(())
}

#[test]
fn reads_of_a_vault_with_nothing_expired_leave_the_file_unchanged() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("v.db");
    let clock = ManualClock::new(T0);
    let vault = open_with_clock(&path, &clock)?;
    vault.put("forever", "kept")?;
    vault.put_with_ttl("session", "token", Duration::from_secs(3_600))?;
    let mut watcher = Watcher::new(&path)?;
    // Far more than the mark's step later, in this handle and a new one.
    for step in 1..=3 {
        clock.set(T0 + step * 5_000);
        read_everything(&vault)?;
        read_everything(&open_with_clock(&path, &clock)?)?;
        assert!(!watcher.changed()?, "a read wrote to the vault");
    }
    // A write still records the mark.
    vault.put("other", "v")?;
    assert!(watcher.changed()?);
    Ok(())
}

#[test]
fn a_read_that_hides_a_newly_expired_entry_records_the_mark_once() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("v.db");
    let clock = ManualClock::new(T0);
    let vault = open_with_clock(&path, &clock)?;
    vault.put_with_ttl("session", "token", Duration::from_secs(10))?;
    let mut watcher = Watcher::new(&path)?;
    clock.set(T0 + 20_000);
    assert_eq!(vault.keys()?, Vec::<String>::new());
    assert!(watcher.changed()?, "the mark was not recorded");
    // The mark is past that expiry now: later reads write nothing.
    clock.set(T0 + 40_000);
    let fresh = open_with_clock(&path, &clock)?;
    assert_eq!(fresh.get::<String>("session")?, None);
    assert_eq!(fresh.len()?, 0);
    assert!(!watcher.changed()?);
    Ok(())
}

#[test]
fn opening_and_reading_an_encrypted_vault_do_not_write() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("v.db");
    let pass = Passphrase::new("clock mark passphrase")?;
    let clock = ManualClock::new(T0);
    let options = OpenOptions::new().clock(clock.clone());
    let vault = EncryptedVault::create_with(&options, &path, &pass, KdfParams::MIN)?;
    vault.put("forever", "kept")?;
    vault.put_with_ttl("session", "token", Duration::from_secs(3_600))?;
    vault.close()?;
    let mut watcher = Watcher::new(&path)?;
    clock.set(T0 + 5_000);
    let locked = LockedVault::open_with(&options, &path)?;
    assert!(!watcher.changed()?, "LockedVault::open wrote to the vault");
    clock.set(T0 + 10_000);
    let vault = locked.unlock(&pass)?;
    clock.set(T0 + 15_000);
    read_everything(&vault)?;
    assert!(!watcher.changed()?, "a read wrote to the vault");
    Ok(())
}

#[test]
fn cli_get_and_ls_leave_a_vault_with_nothing_expired_unchanged() -> TestResult {
    let Some(faketime) = faketime::faketime() else {
        return Ok(());
    };
    let env = cli_util::Env::new();
    env.init_plain();
    let run = |fake, args: &[&str], stdin| faketime::run(&env, faketime, fake, args, stdin);
    cli_util::assert_success(&run(None, &["set", "k", "--ttl", "3h"], "token"));
    let mut watcher = Watcher::new(&env.vault_path())?;
    // Two hours on (far past the mark's step), the entry is alive.
    for args in [&["get", "k"][..], &["ls"]] {
        cli_util::assert_success(&run(Some("+2h"), args, ""));
    }
    assert!(!watcher.changed()?, "a CLI read wrote to the vault");
    Ok(())
}
