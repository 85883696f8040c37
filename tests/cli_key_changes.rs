//! Changing keys from the command line: a cached unlock or a keyring slot is
//! no proof for a change of key slots, a change of keys ends a cached unlock,
//! and a change that could not purge the old key material says so.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod cli_util;

use std::process::Output;

use cli_util::{Env, LockOnDrop, PASS, assert_error, assert_success, keyring_unusable};

const ATTACKER: &str = "the attacker's passphrase";

/// Whether the kernel keyring is unusable here (`out` is a run that needed
/// it): then a test skips, with a message, except in CI, where it fails.
fn no_keyring(out: &Output) -> bool {
    let unusable = keyring_unusable(out);
    assert!(
        !(unusable && std::env::var_os("CI").is_some()),
        "CI needs a usable kernel keyring for this test"
    );
    unusable
}

/// `vaults unlock` with the passphrase; `None` where the keyring is unusable.
fn unlock(env: &Env) -> Option<LockOnDrop<'_>> {
    let out = env.pw().arg("unlock").output().unwrap();
    if no_keyring(&out) {
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
    if no_keyring(&out) {
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
