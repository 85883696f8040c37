//! A vault whose folder or file is removed or replaced while it is open:
//! a write fails with `Error::Moved` (the CLI exits non-zero) instead of
//! committing to an unlinked file and reporting success.
//!
//! Regression: `(sleep 2; printf v) | vaults set k & sleep 1; rm -rf
//! "$VAULTS_DIR"` made `set` exit 0 with the value gone, also when a new
//! vault had been created at the path meanwhile.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::cli_util;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cli_util::{BIN, Env};
use vaults::{EncryptedVault, Error, KdfParams, LockedVault, Passphrase, Store, Vault};
use vaults_test_support::TestResult;

#[test]
fn writes_to_a_vault_whose_folder_was_removed_fail() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path().join("vaults");
    std::fs::create_dir(&dir)?;
    let vault = Vault::open_or_create(dir.join("v.db"))?;
    vault.put("before", "kept in memory of the old inode")?;
    std::fs::remove_dir_all(&dir)?;

    assert!(matches!(vault.put("after", "lost?"), Err(Error::Moved)));
    let tx = vault.transaction(|tx| {
        tx.put("a", "1")?;
        tx.put("b", "2")
    });
    assert!(matches!(tx, Err(Error::Moved)), "{tx:?}");
    assert!(matches!(vault.cleanup_expired(), Err(Error::Moved)));
    // Reads of what it had still work; nothing was added.
    assert_eq!(vault.keys()?, ["before"]);
    Ok(())
}

#[test]
fn writes_to_a_vault_replaced_by_a_new_one_fail_and_touch_neither() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let path = tmp.path().join("v.db");
    let pass = Passphrase::new("replaced vault passphrase")?;
    let vault = EncryptedVault::create(&path, &pass, KdfParams::MIN)?;
    vault.put("before", "1")?;
    // Another process destroys it and creates a new vault at the same path.
    for suffix in ["", "-wal", "-shm"] {
        std::fs::remove_file(format!("{}{suffix}", path.display()))?;
    }
    EncryptedVault::create(&path, &pass, KdfParams::MIN)?.close()?;

    let r = vault.put("after", "2");
    assert!(matches!(r, Err(Error::Moved)), "{r:?}");
    drop(vault);
    let new = LockedVault::open(&path)?.unlock(&pass)?;
    assert!(new.keys()?.is_empty());
    Ok(())
}

/// Waits (bounded) until `cond` holds, or fails with `what`.
fn wait_for(what: &str, mut cond: impl FnMut() -> bool) -> TestResult {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !cond() {
        if Instant::now() > deadline {
            return Err(format!("timed out waiting for {what}").into());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Ok(())
}

/// Whether process `pid` is blocked in `read(0, ...)` (Linux `/proc`).
fn reading_stdin(pid: u32) -> bool {
    #[cfg(target_arch = "x86_64")]
    const READ: &str = "0";
    #[cfg(target_arch = "aarch64")]
    const READ: &str = "63";
    std::fs::read_to_string(format!("/proc/{pid}/syscall"))
        .is_ok_and(|s| s.starts_with(&format!("{READ} 0x0 ")))
}

/// `vaults set k` on the plain default vault, its value on a pipe the test
/// writes only after `meanwhile` ran on the open vault.
fn set_while(env: &Env, meanwhile: impl FnOnce(&Path) -> TestResult) -> TestResult {
    env.init_plain();
    let vault = env.vault_path();
    let shm = env.dir.join("default.db-shm");
    assert!(!shm.exists(), "the vault was not closed cleanly");
    let mut child = Command::new(BIN)
        .args(["set", "k"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("VAULTS_DIR", &env.dir)
        // A plain vault is used only when asked for (the record `init`
        // wrote is in the config folder this cleared environment lacks).
        .env("VAULTS_PLAIN", "1")
        .env("VAULTS_NO_INPUT", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    // `set` opens the vault, then reads the value: once it waits on stdin,
    // the vault is open.
    let pid = child.id();
    wait_for("`set` to open the vault and wait for its value", || {
        reading_stdin(pid)
    })?;
    assert!(shm.exists(), "blocked on stdin before opening the vault");
    meanwhile(&vault)?;
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"the value")?;
    drop(stdin);
    let out = child.wait_with_output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert!(
        stderr.contains("removed or replaced"),
        "unclear error: {stderr}"
    );
    Ok(())
}

#[test]
fn cli_set_fails_when_the_folder_is_removed_mid_command() -> TestResult {
    let env = Env::new();
    set_while(&env, |vault| {
        std::fs::remove_dir_all(vault.parent().unwrap())?;
        Ok(())
    })?;
    assert!(!env.dir.exists());
    Ok(())
}

#[test]
fn cli_set_fails_when_a_new_vault_replaces_the_file_mid_command() -> TestResult {
    let env = Env::new();
    set_while(&env, |vault| {
        std::fs::remove_dir_all(vault.parent().unwrap())?;
        std::fs::create_dir(vault.parent().unwrap())?;
        Vault::open_or_create(vault)?.close()?;
        Ok(())
    })?;
    // The new vault holds nothing: nothing was reported as stored.
    assert!(Vault::open(env.vault_path())?.keys()?.is_empty());
    Ok(())
}
