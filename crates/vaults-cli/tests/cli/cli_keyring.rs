//! `unlock`/`lock` (the key cached in the kernel keyring), the cache across
//! `rotate`, and keyring slots. Each test skips itself, with a message,
//! where the kernel keyring is unusable, and fails there instead under
//! `VAULTS_REQUIRE_KEYRING=1` (as CI runs them).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::cli_util;

use cli_util::{
    Env, LockOnDrop, PASS, assert_error, cache_description, keyring_unusable, live_key,
    visible_keys,
};

const WRONG: &str = "n0t-the-passphrase";

/// `vaults unlock ARGS` with the passphrase; `None` (after a message) when
/// the kernel keyring is unusable here.
fn unlock<'a>(env: &'a Env, args: &[&str]) -> Option<LockOnDrop<'a>> {
    let out = env.pw().arg("unlock").args(args).output().unwrap();
    if keyring_unusable(&out) {
        return None;
    }
    cli_util::assert_success(&out);
    Some(LockOnDrop(env))
}

#[test]
fn unlock_then_commands_need_no_passphrase_until_lock() {
    let env = Env::new();
    env.init().set("k", "v4lue", &[]);
    let Some(_guard) = unlock(&env, &[]) else {
        return;
    };
    env.cmd()
        .args(["get", "k"])
        .assert()
        .success()
        .stdout("v4lue\n");
    env.cmd()
        .args(["set", "k2"])
        .write_stdin("second")
        .assert()
        .success();
    env.cmd().arg("ls").assert().success().stdout("k\nk2\n");
    // A given passphrase still comes first: a wrong one fails even while
    // the key is cached.
    let out = env
        .cmd()
        .env("VAULTS_PASSPHRASE", WRONG)
        .args(["get", "k"])
        .output()
        .unwrap();
    assert_error(&out, 4, &["v4lue", WRONG]);

    env.cmd().arg("lock").assert().success();
    let out = env.cmd().args(["get", "k"]).output().unwrap();
    let line = assert_error(&out, 2, &["v4lue"]);
    assert!(line.contains("no passphrase given"), "{line}");
    // Locking twice is fine.
    env.cmd().arg("lock").assert().success();
}

#[test]
fn unlock_reports_its_duration_and_refuses_a_wrong_passphrase() {
    let env = Env::new();
    env.init();
    let out = env
        .cmd()
        .env("VAULTS_PASSPHRASE", WRONG)
        .arg("unlock")
        .output()
        .unwrap();
    if keyring_unusable(&out) {
        return;
    }
    assert_error(&out, 4, &[WRONG, PASS]);
    let out = env.cmd().arg("ls").output().unwrap();
    assert_error(&out, 2, &[]);

    let out = env
        .pw()
        .args(["--json", "unlock", "--for", "1h"])
        .output()
        .unwrap();
    let _guard = LockOnDrop(&env);
    cli_util::assert_success(&out);
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap(),
        serde_json::json!({"unlocked": true, "seconds": 3600})
    );
    env.pw()
        .args(["unlock", "--for", "90s"])
        .assert()
        .success()
        .stdout("unlocked vault \"default\" for 1m 30s\n");
    let out = env.pw().args(["unlock", "--for", "soon"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn each_vault_has_its_own_cached_key() {
    let env = Env::new();
    env.init().set("k", "default", &[]);
    env.pw()
        .args([
            "--vault",
            "other",
            "init",
            "--kdf-memory",
            "19",
            "--kdf-time",
            "2",
        ])
        .assert()
        .success();
    let Some(_guard) = unlock(&env, &[]) else {
        return;
    };
    env.cmd().args(["get", "k"]).assert().success();
    let out = env.cmd().args(["--vault", "other", "ls"]).output().unwrap();
    assert_error(&out, 2, &[]);
}

#[test]
fn rotate_drops_a_cached_key() {
    let env = Env::new();
    env.init().set("k", "v4lue", &[]);
    let Some(_guard) = unlock(&env, &[]) else {
        return;
    };
    env.cmd().arg("ls").assert().success().stdout("k\n");
    env.pw().arg("rotate").assert().success();
    let out = env.cmd().arg("ls").output().unwrap();
    let line = assert_error(&out, 2, &["v4lue"]);
    assert!(line.contains("no passphrase given"), "{line}");
    assert_eq!(env.get("k"), b"v4lue");
}

/// A cached key that no longer opens the vault (here: the file was put back
/// to a copy from before a rotation) is dropped, and the command asks.
#[test]
fn a_stale_cached_key_is_dropped_and_the_command_asks() {
    let env = Env::new();
    env.init().set("k", "v4lue", &[]);
    let before = env.file("before.db");
    std::fs::copy(env.vault_path(), &before).unwrap();
    env.pw().arg("rotate").assert().success();
    let Some(_guard) = unlock(&env, &[]) else {
        return;
    };
    std::fs::copy(&before, env.vault_path()).unwrap();
    let out = env.cmd().arg("ls").output().unwrap();
    let line = assert_error(&out, 2, &["v4lue"]);
    assert!(line.contains("no passphrase given"), "{line}");
    // The old copy still opens with its passphrase.
    assert_eq!(env.get("k"), b"v4lue");
}

#[test]
fn a_keyring_slot_opens_the_vault_without_a_passphrase() {
    let env = Env::new();
    env.init().set("k", "v4lue", &[]);
    let out = env.pw().args(["slot", "add-keyring"]).output().unwrap();
    if keyring_unusable(&out) {
        return;
    }
    cli_util::assert_success(&out);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "added keyring slot 2\n"
    );
    // The guard removes the keyring entry again, whatever happens.
    struct RemoveSlot<'a>(&'a Env);
    impl Drop for RemoveSlot<'_> {
        fn drop(&mut self) {
            let _ = self.0.pw().args(["slot", "remove", "2"]).output();
        }
    }
    let _guard = RemoveSlot(&env);

    let slots = env.stdout(["slots"]);
    assert!(
        slots
            .lines()
            .nth(1)
            .is_some_and(|l| l.starts_with("2  keyring")),
        "{slots}"
    );
    env.cmd()
        .args(["get", "k"])
        .assert()
        .success()
        .stdout("v4lue\n");
    // Changing slots needs the passphrase, not the keyring.
    let out = env
        .cmd()
        .env("VAULTS_NEW_PASSPHRASE", "new")
        .arg("passwd")
        .output()
        .unwrap();
    assert_error(&out, 2, &["v4lue"]);

    let account = env.json(["slots"])[1]["account"]
        .as_str()
        .unwrap()
        .to_owned();
    if let Some(keys) = visible_keys(&env) {
        assert!(live_key(&keys, &account).is_some());
    }
    env.pw().args(["slot", "remove", "2"]).assert().success();
    let out = env.cmd().args(["get", "k"]).output().unwrap();
    assert_error(&out, 2, &["v4lue"]);
    // The keyring entry is gone with the slot.
    if let Some(keys) = visible_keys(&env) {
        assert_eq!(live_key(&keys, &account), None);
    }
}

#[test]
fn init_keyring_and_destroy_clean_up_the_keyring_entry() {
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
    cli_util::assert_success(&out);
    let slots = env.json(["slots"]);
    assert_eq!(slots[1]["kind"], "keyring", "{slots}");
    let account = slots[1]["account"].as_str().unwrap().to_owned();
    if let Some(keys) = visible_keys(&env) {
        assert!(live_key(&keys, &account).is_some());
    }
    env.cmd().arg("ls").assert().success();

    env.cmd().args(["destroy", "--force"]).assert().success();
    assert!(!env.vault_path().exists());
    if let Some(keys) = visible_keys(&env) {
        assert_eq!(live_key(&keys, &account), None);
    }
}

#[test]
fn the_cached_key_has_the_requested_timeout() {
    let env = Env::new();
    env.init();
    let Some(_guard) = unlock(&env, &["--for", "1h"]) else {
        return;
    };
    let Some(keys) = visible_keys(&env) else {
        return;
    };
    let timeout = live_key(&keys, &cache_description(&env));
    assert!(
        timeout.is_some_and(|t| t == "59m" || t == "1h"),
        "{timeout:?}\n{keys}"
    );
    env.cmd().arg("lock").assert().success();
    assert_eq!(
        live_key(
            &visible_keys(&env).unwrap_or_default(),
            &cache_description(&env)
        ),
        None
    );
}

/// Regression: the kernel takes a key's timeout as 32-bit seconds, so
/// `unlock --for` 2^32 s (136 years) wrapped to 0, which means no timeout:
/// the key stayed cached for good. `--for` now stops at 24h, so such a
/// duration is a usage error and nothing is cached (the clamp in the
/// keyring code stays as a second line).
#[test]
fn a_huge_unlock_duration_is_refused() {
    let env = Env::new();
    env.init();
    let _guard = LockOnDrop(&env);
    let out = env
        .pw()
        .args(["unlock", "--for", "4294967296s"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("24h"));
    let out = env.cmd().arg("ls").output().unwrap();
    assert_error(&out, 2, &[]);
}

#[test]
fn destroy_forgets_the_cached_key() {
    let env = Env::new();
    env.init();
    let Some(_guard) = unlock(&env, &[]) else {
        return;
    };
    let description = cache_description(&env);
    if let Some(keys) = visible_keys(&env) {
        assert!(live_key(&keys, &description).is_some());
    }
    env.cmd().args(["destroy", "--force"]).assert().success();
    if let Some(keys) = visible_keys(&env) {
        assert_eq!(live_key(&keys, &description), None);
    }
}
