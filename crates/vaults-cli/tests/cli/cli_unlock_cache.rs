//! The key `vaults unlock` caches in the kernel keyring: set up whole or not
//! at all, for possessors only, and for 24 hours at most.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::cli_util;

use cli_util::{
    Env, LockOnDrop, PASS, assert_error, assert_success, cache_description, keyring_unusable,
    live_key, visible_keys,
};

/// The kernel keys a `vaults` process sees; `None` (after a message, or a
/// failure under `VAULTS_REQUIRE_KEYRING=1`) where `/proc/keys` is unreadable.
fn keys(env: &Env) -> Option<String> {
    visible_keys(env)
}

/// Checks that no command gets in without a passphrase: nothing is cached.
fn nothing_cached(env: &Env) {
    let out = env.cmd().arg("ls").output().unwrap();
    let line = assert_error(&out, 2, &[]);
    assert!(line.contains("no passphrase given"), "{line}");
    if let Some(keys) = keys(env) {
        assert_eq!(live_key(&keys, &cache_description(env)), None, "{keys}");
    }
}

/// Regression (audit item 4): the key went into the persistent keyring
/// first and got its timeout and permissions after, so a failure in between
/// left it cached for good, with the kernel's default permissions, while
/// `unlock` exited 1. A failure at any step now leaves nothing cached. The
/// kernel has no fault a test can cause there, so a debug build takes one
/// from `VAULTS_TEST_CACHE_FAULT`.
#[test]
#[cfg_attr(
    not(debug_assertions),
    ignore = "the fault hook exists in debug builds only"
)]
fn a_failure_while_caching_leaves_no_key() {
    let env = Env::new();
    env.init();
    let _guard = LockOnDrop(&env);
    for step in ["timeout", "perms", "link"] {
        let out = env
            .pw()
            .env("VAULTS_TEST_CACHE_FAULT", step)
            .arg("unlock")
            .output()
            .unwrap();
        if keyring_unusable(&out) {
            return;
        }
        let line = assert_error(&out, 1, &[PASS]);
        assert!(
            line.contains("cannot cache the key") && line.contains(step),
            "{step}: {line}"
        );
        nothing_cached(&env);
    }
    // Without a fault, the same command caches the key.
    env.pw().arg("unlock").assert().success();
    env.cmd().arg("ls").assert().success();
}

/// The cached key carries its timeout, and only its possessors (processes
/// in a session that holds the user's persistent keyring) may use it: no
/// permission for the user, group or others, the kernel's default being
/// `view` for the user.
#[test]
fn the_cached_key_is_for_possessors_only() {
    let env = Env::new();
    env.init();
    let out = env.pw().args(["unlock", "--for", "2h"]).output().unwrap();
    if keyring_unusable(&out) {
        return;
    }
    let _guard = LockOnDrop(&env);
    assert_success(&out);
    let Some(keys) = keys(&env) else {
        return;
    };
    let description = cache_description(&env);
    let line = keys
        .lines()
        .find(|l| l.contains(&description))
        .unwrap_or_else(|| panic!("no cached key\n{keys}"));
    let fields: Vec<&str> = line.split_whitespace().collect();
    assert!(fields[3] == "1h" || fields[3] == "2h", "timeout: {line}");
    let perms = u32::from_str_radix(fields[4], 16).unwrap();
    assert_eq!(perms & 0x00ff_ffff, 0, "user, group, other: {line}");
    // Possessor: view, read, search.
    assert_eq!(perms >> 24 & 0x0b, 0x0b, "possessor: {line}");
}

/// `unlock --for` takes 1s to 24h; anything else is a usage error that
/// caches nothing, and `--help` says so.
#[test]
fn unlock_for_is_capped_at_24_hours() {
    let env = Env::new();
    env.init();
    let _guard = LockOnDrop(&env);
    for (duration, says) in [
        ("25h", "24h"),
        ("24h 1s", "24h"),
        ("7d", "24h"),
        ("0", "at least 1s"),
        ("500ms", "at least 1s"),
    ] {
        let out = env
            .pw()
            .args(["unlock", "--for", duration])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{duration}: {stderr}");
        assert!(stderr.contains(says), "{duration}: {stderr}");
        assert!(!stderr.contains(PASS));
        nothing_cached(&env);
    }
    let help = env.cmd().args(["unlock", "--help"]).output().unwrap();
    assert_success(&help);
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("at most 24h"), "{help}");

    let out = env.pw().args(["unlock", "--for", "24h"]).output().unwrap();
    if keyring_unusable(&out) {
        return;
    }
    assert_success(&out);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "unlocked vault \"default\" for 1day\n"
    );
    if let Some(keys) = keys(&env) {
        let timeout = live_key(&keys, &cache_description(&env));
        assert!(
            timeout.is_some_and(|t| t == "23h" || t == "1d"),
            "{timeout:?}"
        );
    }
}
