//! Memory hygiene of the CLI: a core of `vaults` taken as it exits (gdb
//! stops it at `exit_group` and runs `gcore`) holds neither the vault key,
//! nor its value and name sub-keys, nor the values it printed.
//!
//! Needs gdb (CI installs it); skipped with a message where it is missing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::cli_util;

use cli_util::{Env, PASS, assert_success};
use hkdf::Hkdf;
use sha2::Sha256;
use vaults::{LockedVault, Passphrase};

/// A value long enough that its heap copies are not all reused by later
/// allocations before exit.
fn long_value() -> String {
    "L0ngSecret-".repeat(500)
}

const SHORT: &str = "S3cretValue-0123456789abcdef";
const JSON_SECRET: &str = "JsonPassw0rd-xyz";

/// The secrets a core must not hold: the vault key, the raw value and name
/// sub-keys (the AEADs keep them as they are), and the values.
fn secrets(env: &Env) -> Vec<(&'static str, Vec<u8>)> {
    let vault = LockedVault::open(env.vault_path())
        .unwrap()
        .unlock(&Passphrase::new(PASS).unwrap())
        .unwrap();
    let key = *vault.unlocked_key().as_bytes();
    let conn = rusqlite::Connection::open(env.vault_path()).unwrap();
    let vault_id: Vec<u8> = conn
        .query_row("SELECT value FROM meta WHERE name = 'vault_id'", [], |r| {
            r.get(0)
        })
        .unwrap();
    let hkdf = Hkdf::<Sha256>::new(Some(&vault_id), &key);
    let sub = |label: &[u8]| {
        let mut out = vec![0u8; 32];
        hkdf.expand(label, &mut out).unwrap();
        out
    };
    vec![
        ("the vault key", key.to_vec()),
        ("the value sub-key", sub(b"vaults/v1/value")),
        ("the name sub-key", sub(b"vaults/v1/name")),
        ("the long value", long_value().into_bytes()[..64].to_vec()),
        ("the short value", SHORT.as_bytes().to_vec()),
        ("the JSON secret", JSON_SECRET.as_bytes().to_vec()),
    ]
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Whether gdb can run here; fails in CI, where it must.
fn gdb_available() -> bool {
    let found = std::process::Command::new("gdb")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(std::env::var_os("CI").is_none(), "CI must install gdb");
        eprintln!("skipped: gdb is not installed");
    }
    found
}

/// Runs `vaults ARGS` under gdb, dumps its core as it exits, and returns the
/// core's bytes.
fn core_at_exit(env: &Env, args: &str) -> Vec<u8> {
    let core = env.file("core");
    let script = format!(
        "gdb -q -batch -nx -ex 'catch syscall exit_group' -ex run -ex 'gcore {}' \
         --args \"$VAULTS_BIN\" {args}",
        core.display()
    );
    let out = env
        .bash(&script)
        .env("VAULTS_PASSPHRASE", PASS)
        .output()
        .unwrap();
    assert_success(&out);
    let bytes = std::fs::read(&core).unwrap_or_else(|e| {
        panic!(
            "no core ({e}); gdb said:\n{}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    std::fs::remove_file(&core).unwrap();
    bytes
}

/// Regression: `UnlockedKey` held its 32 bytes by value (moves copied them).
#[test]
fn unlocked_keys_live_on_the_heap() {
    assert_eq!(size_of::<vaults::UnlockedKey>(), size_of::<usize>());
    let key = vaults::UnlockedKey::from_slice(&[9; 32]).unwrap();
    assert_eq!(key.as_bytes(), &[9; 32]);
    assert!(vaults::UnlockedKey::from_slice(&[9; 33]).is_none());
}

/// Regression: a core at exit held the vault key after every command, the
/// sub-keys after `ls`, and the value after `get`.
#[test]
fn a_core_at_exit_holds_no_key_and_no_value() {
    if !gdb_available() {
        return;
    }
    let env = Env::new();
    env.init()
        .set("big", long_value(), &[])
        .set("tok", SHORT, &[])
        .set(
            "js",
            format!(r#"{{"user":"alice","password":"{JSON_SECRET}"}}"#),
            &["--json"],
        );
    let secrets = secrets(&env);
    let mut found = Vec::new();
    for args in ["get big", "get -n tok", "--json get tok", "get js", "ls"] {
        let core = core_at_exit(&env, args);
        assert!(core.len() > 1 << 20, "a core of {} bytes", core.len());
        for (what, bytes) in &secrets {
            if contains(&core, bytes) {
                found.push(format!("`vaults {args}`: {what}"));
            }
        }
    }
    assert!(
        found.is_empty(),
        "found in a core at exit:\n{}",
        found.join("\n")
    );
}
