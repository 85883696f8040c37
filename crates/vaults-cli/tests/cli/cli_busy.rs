//! Writers that wait for each other: `--busy-timeout` (`VAULTS_BUSY_TIMEOUT`)
//! sets how long, and a write that still finds the vault locked exits with
//! its own code, 5, so a script can tell "try again" from a real failure.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::cli_util;

use std::process::{Command, Stdio};

use cli_util::{BIN, Env, PASS, assert_error, assert_success};

/// A connection holding the vault's write lock until dropped.
fn hold_write_lock(env: &Env) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(env.vault_path()).unwrap();
    conn.execute_batch("BEGIN IMMEDIATE").unwrap();
    conn
}

/// Regression: a write that found the vault busy exited 1, like any error.
#[test]
fn a_write_that_stays_locked_exits_with_the_busy_code() {
    let env = Env::new();
    env.init_plain();
    let lock = hold_write_lock(&env);
    let out = env
        .cmd()
        .args(["--busy-timeout", "200ms", "set", "k"])
        .write_stdin("v")
        .output()
        .unwrap();
    let err = assert_error(&out, 5, &[]);
    assert!(
        err.contains("busy") && err.contains("--busy-timeout"),
        "{err}"
    );
    // The variable does the same.
    let out = env
        .cmd()
        .env("VAULTS_BUSY_TIMEOUT", "200ms")
        .args(["rm", "k"])
        .output()
        .unwrap();
    assert_error(&out, 5, &[]);
    drop(lock);
    assert_success(
        &env.cmd()
            .args(["set", "k"])
            .write_stdin("v")
            .output()
            .unwrap(),
    );
    // Scripts find the code in --help.
    let out = env.cmd().arg("--help").output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    assert!(
        help.contains("5 busy") && help.contains("--busy-timeout"),
        "{help}"
    );
}

/// Regression: with 32 concurrent `set`s a few failed after the fixed 5 s
/// wait; with a longer wait every one of them gets its turn.
#[test]
fn thirty_two_concurrent_writers_all_succeed_with_a_longer_wait() {
    let env = Env::new();
    env.init();
    let children: Vec<_> = (0..32)
        .map(|i| {
            let mut child = Command::new(BIN)
                .env("VAULTS_DIR", &env.dir)
                .env("VAULTS_PASSPHRASE", PASS)
                .env("VAULTS_NO_INPUT", "1")
                .args(["--busy-timeout", "5m", "set", &format!("writer/{i:02}")])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            // Dropping stdin closes it: the value is this, then end of input.
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(format!("value {i}").as_bytes())
                .unwrap();
            child
        })
        .collect();
    for child in children {
        assert_success(&child.wait_with_output().unwrap());
    }
    let names = env.names();
    assert_eq!(names.len(), 32, "{names:?}");
    assert_eq!(env.get("writer/31"), b"value 31");
}
