//! Changing keys from the command line: a cached unlock or a keyring slot is
//! no proof for a change of key slots, a change of keys ends a cached unlock,
//! and a change that could not purge the old key material says so.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::cli_util;

use std::process::Output;

use cli_util::{Env, LockOnDrop, PASS, assert_error, assert_success, keyring_unusable};

const ATTACKER: &str = "the attacker's passphrase";

/// `vaults unlock` with the passphrase; `None` where the keyring is unusable.
fn unlock(env: &Env) -> Option<LockOnDrop<'_>> {
    let out = env.pw().arg("unlock").output().unwrap();
    if keyring_unusable(&out) {
        return None;
    }
    assert_success(&out);
    Some(LockOnDrop(env))
}

/// Runs `vaults ARGS` with no passphrase source (a new passphrase for the
/// commands that take one) and checks it is refused for want of a
/// passphrase, changing nothing.
fn refused_without_a_passphrase(env: &Env, args: &[&str]) {
    let out = env
        .cmd()
        .env("VAULTS_NEW_PASSPHRASE", ATTACKER)
        .args(args)
        .output()
        .unwrap();
    let line = assert_error(&out, 2, &[PASS, ATTACKER]);
    assert!(line.contains("no passphrase given"), "{args:?}: {line}");
}

/// The key slots, as `vaults --json slots` lists them with the passphrase.
fn slots(env: &Env) -> serde_json::Value {
    env.json(["slots"])
}

/// Regression (audit item 3): after `vaults unlock`, `slot add-passphrase`
/// and `slot remove 1` ran with no passphrase, so anyone who could use the
/// cached key could replace the owner's passphrase with their own.
#[test]
fn a_cached_unlock_cannot_change_key_slots() {
    let env = Env::new();
    env.init().set("k", "v4lue", &[]);
    let before = slots(&env);
    let Some(_guard) = unlock(&env) else {
        return;
    };
    // The cached key does read entries.
    env.cmd().args(["get", "k"]).assert().success();
    for args in [
        &[
            "slot",
            "add-passphrase",
            "--kdf-memory",
            "19",
            "--kdf-time",
            "2",
        ][..],
        &["slot", "add-keyring"],
        &["slot", "remove", "1"],
        &["passwd"],
        &["rotate"],
    ] {
        refused_without_a_passphrase(&env, args);
    }
    env.cmd().arg("lock").assert().success();
    assert_eq!(slots(&env), before);
    assert_eq!(env.get("k"), b"v4lue");
    let out = env
        .cmd()
        .env("VAULTS_PASSPHRASE", ATTACKER)
        .args(["get", "k"])
        .output()
        .unwrap();
    assert_error(&out, 4, &["v4lue", ATTACKER]);
}

/// A keyring slot opens the vault for everyday commands, but is no proof
/// for a change of key slots either: it is as available as a cached key.
#[test]
fn a_keyring_slot_cannot_change_key_slots() {
    let env = Env::new();
    let out = env
        .pw()
        .args(["init", "--keyring", "--kdf-memory", "19", "--kdf-time", "2"])
        .output()
        .unwrap();
    if keyring_unusable(&out) {
        return;
    }
    // Destroying the vault removes its keyring entry, whatever happens.
    struct DestroyOnDrop<'a>(&'a Env);
    impl Drop for DestroyOnDrop<'_> {
        fn drop(&mut self) {
            let _ = self.0.cmd().args(["destroy", "--force"]).output();
        }
    }
    let _guard = DestroyOnDrop(&env);
    assert_success(&out);
    env.set("k", "v4lue", &[]);
    let before = slots(&env);
    // The keyring slot does open the vault without a passphrase.
    env.cmd().args(["get", "k"]).assert().success();
    for args in [
        &[
            "slot",
            "add-passphrase",
            "--kdf-memory",
            "19",
            "--kdf-time",
            "2",
        ][..],
        &["slot", "remove", "1"],
        &["slot", "remove", "2"],
    ] {
        refused_without_a_passphrase(&env, args);
    }
    assert_eq!(slots(&env), before);
    assert_eq!(env.get("k"), b"v4lue");
}

/// The passphrase of any existing slot is a fresh proof: the slot changes
/// that the tests above refuse work with one.
#[test]
fn the_passphrase_of_any_slot_is_a_fresh_proof() {
    let env = Env::new();
    env.init().set("k", "v4lue", &[]);
    env.pw()
        .env("VAULTS_NEW_PASSPHRASE", "second")
        .args([
            "slot",
            "add-passphrase",
            "--kdf-memory",
            "19",
            "--kdf-time",
            "2",
        ])
        .assert()
        .success()
        .stdout("added passphrase slot 2\n");
    // The second passphrase removes the first slot.
    env.cmd()
        .env("VAULTS_PASSPHRASE", "second")
        .args(["slot", "remove", "1"])
        .assert()
        .success()
        .stdout("removed slot 1\n");
    let out = env.pw().args(["get", "k"]).output().unwrap();
    assert_error(&out, 4, &["v4lue", PASS]);
}

/// Regression (audit item 3): `passwd` and slot changes left a cached unlock
/// in place, so a session opened before a passphrase change went on.
#[test]
fn key_changes_forget_the_cached_key() {
    let env = Env::new();
    env.init().set("k", "v4lue", &[]);
    let changes: [&[&str]; 4] = [
        &["passwd"],
        &[
            "slot",
            "add-passphrase",
            "--kdf-memory",
            "19",
            "--kdf-time",
            "2",
        ],
        &["slot", "remove", "2"],
        &["rotate"],
    ];
    for args in changes {
        let Some(_guard) = unlock(&env) else {
            return;
        };
        env.cmd().arg("ls").assert().success().stdout("k\n");
        // `passwd` sets the passphrase it already had: only the cache changes.
        env.pw()
            .env("VAULTS_NEW_PASSPHRASE", PASS)
            .args(args)
            .assert()
            .success();
        let out = env.cmd().arg("ls").output().unwrap();
        let line = assert_error(&out, 2, &["v4lue"]);
        assert!(line.contains("no passphrase given"), "{args:?}: {line}");
    }
    assert_eq!(env.get("k"), b"v4lue");
}

/// Another process's connection in the middle of a read: it pins the WAL,
/// so a key change cannot purge the old key material.
fn reader(path: &std::path::Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(path).unwrap();
    // What came before into the main file, so a copy of that holds the vault.
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE); BEGIN")
        .unwrap();
    let _: i64 = conn
        .query_row("SELECT count(*) FROM entries", [], |r| r.get(0))
        .unwrap();
    conn
}

/// Checks a run that succeeded with one warning on stderr, that another
/// process kept the old key material; returns its stdout.
fn warned(out: &Output, copy_may: &str) -> String {
    assert_success(out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("warning: another process has vault \"default\" open")
            && stderr.contains(copy_may)
            && stderr.lines().count() == 1,
        "{stderr}"
    );
    assert!(!stderr.contains(PASS) && !stderr.contains("v4lue"));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Regression (audit item 7): with another connection reading the vault,
/// the WAL checkpoint after `passwd`, `rotate` or `slot remove` failed with
/// a log line only (under `VAULTS_LOG`), while a copy of the `.db` still
/// opened with the old passphrase. Now the command says so on stderr and in
/// its JSON; without the other connection it says nothing.
#[test]
fn key_changes_say_when_another_process_keeps_old_key_material() {
    let env = Env::new();
    env.init().set("k", "v4lue", &[]);
    let holder = reader(&env.vault_path());
    let out = env
        .pw()
        .env("VAULTS_NEW_PASSPHRASE", "new one")
        .arg("passwd")
        .output()
        .unwrap();
    let stdout = warned(&out, "open with the old passphrase");
    assert_eq!(stdout, "passphrase changed\n");
    // What the warning is about: a copy of the file opens with the old one.
    let copy = env.file("copy");
    std::fs::create_dir(&copy).unwrap();
    std::fs::copy(env.vault_path(), copy.join("default.db")).unwrap();
    env.pw()
        .arg("--dir")
        .arg(&copy)
        .args(["get", "k"])
        .assert()
        .success();

    let new = |args: &[&str]| {
        env.cmd()
            .env("VAULTS_PASSPHRASE", "new one")
            .env("VAULTS_NEW_PASSPHRASE", "second")
            .args(args)
            .output()
            .unwrap()
    };
    let out = new(&["--json", "rotate"]);
    let doc: serde_json::Value = serde_json::from_str(&warned(&out, "old key")).unwrap();
    assert_eq!(doc["old_key_material_may_remain"], true, "{doc}");
    let slot = &[
        "slot",
        "add-passphrase",
        "--kdf-memory",
        "19",
        "--kdf-time",
        "2",
    ];
    assert_success(&new(slot));
    let out = new(&["--json", "slot", "remove", "2"]);
    let doc: serde_json::Value = serde_json::from_str(&warned(&out, "removed slot")).unwrap();
    assert_eq!(doc["old_key_material_may_remain"], true, "{doc}");

    // Without the reader: no warning, and nothing old in the file.
    drop(holder);
    let out = new(&["--json", "passwd"]);
    assert_success(&out);
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["old_key_material_may_remain"], false, "{doc}");
    std::fs::copy(env.vault_path(), copy.join("default.db")).unwrap();
    for old in [PASS, "new one"] {
        let out = env
            .cmd()
            .env("VAULTS_PASSPHRASE", old)
            .arg("--dir")
            .arg(&copy)
            .args(["get", "k"])
            .output()
            .unwrap();
        assert_error(&out, 4, &["v4lue", old]);
    }
}
