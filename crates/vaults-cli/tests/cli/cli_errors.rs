//! Exit codes, error lines, tampering, closed pipes and secrets kept out
//! of argv, stdout and stderr.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::cli_util;

use std::fmt::Write as _;

use cli_util::{Env, PASS, assert_error};
use predicates::prelude::*;

const SECRET: &str = "s3cr3t-v4lue-xyz";

#[test]
fn exit_0_on_success() {
    let env = Env::new();
    env.init();
    let out = env.pw().arg("ls").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stderr.is_empty());
}

#[test]
fn exit_1_on_other_errors() {
    let env = Env::new();
    env.init();
    let out = env.pw().arg("init").output().unwrap();
    let line = assert_error(&out, 1, &[PASS]);
    assert!(line.contains("already exists"), "{line}");
    // A file that is not a vault, under a vault's name.
    let junk = env.dir.join("junk.db");
    std::fs::write(&junk, vec![0x5a; 4096]).unwrap();
    // Owner-only, so no permission warning joins the error line.
    std::fs::set_permissions(&junk, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    for args in [&["ls"][..], &["cleanup"]] {
        let out = env
            .pw()
            .args(["--vault", "junk"])
            .args(args)
            .output()
            .unwrap();
        let line = assert_error(&out, 1, &[PASS]);
        assert!(line.contains("not a vault file"), "{line}");
    }
}

#[test]
fn exit_2_on_usage_errors() {
    let env = Env::new();
    env.init();
    let cases: &[&[&str]] = &[
        &["set", "k", "--ttl", "soon"],
        &["set", "k", "--ttl", "-5s"],
        &["expire", "k", "later"],
        &["unlock", "--for", "ever"],
        &["--bogus", "ls"],
        &["ls", "--bogus"],
        &["get"],
        &["frobnicate"],
        &["completions", "powershell-9"],
        &["import", "x", "--format", "yaml"],
    ];
    for args in cases {
        let out = env.pw().args(*args).write_stdin("v").output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.starts_with("vaults: ") && stderr.lines().count() == 1,
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    // A bad duration says what a good one looks like.
    env.pw()
        .args(["set", "k", "--ttl", "soon"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("90s"));
    // A vault name that is a path.
    let out = env.pw().args(["--vault", "../x", "ls"]).output().unwrap();
    assert_error(&out, 2, &[]);
}

/// Secrets never travel in argv: `set` has no value argument.
#[test]
fn set_takes_no_value_argument() {
    let env = Env::new();
    env.init();
    let out = env
        .pw()
        .args(["set", "k", SECRET])
        .write_stdin("from stdin")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(env.names().is_empty(), "nothing stored");
}

#[test]
fn exit_3_on_a_missing_key_or_vault() {
    let env = Env::new();
    for args in [
        &["get", "k"][..],
        &["ls"],
        &["set", "k"],
        &["cleanup"],
        &["unlock"],
        &["lock"],
        &["rotate"],
        &["slots"],
        &["export", "--plaintext"],
        &["destroy", "--force"],
    ] {
        let out = env.pw().args(args).output().unwrap();
        let line = assert_error(&out, 3, &[PASS]);
        assert!(line.contains("run `vaults init`"), "{args:?}: {line}");
    }
    assert!(!env.dir.exists(), "no folder created by a failed command");
    env.init().set("k", SECRET, &[]);
    for args in [
        &["get", "missing"][..],
        &["ttl", "missing"],
        &["rm", "missing"],
        &["expire", "missing", "1h"],
        &["persist", "missing"],
        &["exec", "--only", "missing", "--", "true"],
    ] {
        let out = env.pw().args(args).output().unwrap();
        let line = assert_error(&out, 3, &[PASS, SECRET]);
        assert!(line.contains("\"missing\""), "{args:?}: {line}");
    }
}

#[test]
fn exit_4_on_a_wrong_passphrase() {
    let env = Env::new();
    env.init().set("k", SECRET, &[]);
    for args in [&["get", "k"][..], &["ls"], &["export", "--plaintext"]] {
        let out = env
            .cmd()
            .env("VAULTS_PASSPHRASE", "Wr0ng-Pass")
            .args(args)
            .output()
            .unwrap();
        let line = assert_error(&out, 4, &[PASS, "Wr0ng-Pass", SECRET, "\"k\""]);
        assert_eq!(line, "vaults: wrong passphrase");
    }
}

/// Runs `sql` on the vault file, as an attacker with write access would.
fn tamper(env: &Env, sql: impl FnOnce(&rusqlite::Connection)) {
    let conn = rusqlite::Connection::open(env.vault_path()).unwrap();
    sql(&conn);
}

#[test]
fn exit_4_on_a_tampered_value() {
    let env = Env::new();
    env.init().set("k", SECRET, &[]).set("other", "fine", &[]);
    let rows_before = env.names();
    tamper(&env, |c| {
        // Flip one bit in the middle of every sealed value but the first.
        let rows: Vec<(i64, Vec<u8>)> = c
            .prepare("SELECT rowid, value FROM entries ORDER BY rowid")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(rows.len(), 2);
        let (rowid, mut value) = rows[0].clone();
        let mid = value.len() / 2;
        value[mid] ^= 0x01;
        c.execute(
            "UPDATE entries SET value = ?1 WHERE rowid = ?2",
            rusqlite::params![value, rowid],
        )
        .unwrap();
    });
    // Listing opens names only, so it still works.
    assert_eq!(env.names(), rows_before);
    // `k` was inserted first.
    for args in [
        &["get", "k"][..],
        &["--json", "get", "k"],
        &["export", "--plaintext"],
    ] {
        let out = env.pw().args(args).output().unwrap();
        let line = assert_error(&out, 4, &[PASS, SECRET]);
        assert!(
            line.contains("integrity") && line.contains("modified or damaged"),
            "{line}"
        );
    }
    assert_eq!(env.get("other"), b"fine");
}

/// Extending a life by editing `expires_at` breaks the entry's seal.
#[test]
fn exit_4_on_an_extended_expiry() {
    let env = Env::new();
    env.init().set("k", SECRET, &["--ttl", "1h"]);
    tamper(&env, |c| {
        let n = c
            .execute("UPDATE entries SET expires_at = expires_at + 86400000", [])
            .unwrap();
        assert_eq!(n, 1);
    });
    let out = env.pw().args(["get", "k"]).output().unwrap();
    let line = assert_error(&out, 4, &[PASS, SECRET]);
    assert!(line.contains("integrity"), "{line}");
}

#[test]
fn errors_never_show_secrets() {
    let env = Env::new();
    env.init().set("k", SECRET, &[]);
    // The value on stdin of a failing `set --json`.
    let out = env
        .pw()
        .args(["set", "j", "--json-input"])
        .write_stdin(format!("{{\"password\": \"{SECRET}\""))
        .output()
        .unwrap();
    assert_error(&out, 2, &[SECRET, PASS]);
    // A passphrase command that prints the passphrase and then fails.
    let out = env
        .cmd()
        .env("PW", PASS)
        .args([
            "--passphrase-command",
            "printf %s \"$PW\"; exit 1",
            "get",
            "k",
        ])
        .output()
        .unwrap();
    assert_error(&out, 1, &[SECRET, PASS]);
    // A non-UTF-8 passphrase command output.
    let out = env
        .cmd()
        .args(["--passphrase-command", "printf '\\377'", "get", "k"])
        .output()
        .unwrap();
    assert_error(&out, 1, &[SECRET]);
}

/// `vaults ls | head -1` on a big vault: the closed pipe is not an error.
#[test]
fn a_closed_stdout_pipe_is_not_an_error() {
    let env = Env::new();
    env.init();
    // ~100 KB of names: more than a pipe holds, so `vaults` is still
    // writing when `head` goes away.
    let mut dotenv = String::new();
    for i in 0..2000 {
        writeln!(
            dotenv,
            "SERVICE_{i:04}_A_RATHER_LONG_SECRET_NAME_TO_FILL_A_PIPE=v{i}"
        )
        .unwrap();
    }
    let file = env.write("big.env", dotenv);
    env.pw()
        .args(["import", "--format", "env"])
        .arg(&file)
        .assert()
        .success()
        .stdout("imported 2000 entries (0 already expired, skipped)\n")
        // No progress bar without a terminal.
        .stderr("");

    for (script, first) in [
        (
            r#""$VAULTS_BIN" ls | head -1"#,
            "SERVICE_0000_A_RATHER_LONG_SECRET_NAME_TO_FILL_A_PIPE\n",
        ),
        (
            r#""$VAULTS_BIN" ls --long | head -1 | cut -c1-12"#,
            "SERVICE_0000\n",
        ),
        (r#""$VAULTS_BIN" export --plaintext | head -1"#, "{\n"),
        // The reader is gone before anything is written.
        (r#""$VAULTS_BIN" ls | true"#, ""),
        (
            r#""$VAULTS_BIN" get SERVICE_0001_A_RATHER_LONG_SECRET_NAME_TO_FILL_A_PIPE | true"#,
            "",
        ),
        (r#""$VAULTS_BIN" completions bash | true"#, ""),
        (r#""$VAULTS_BIN" man | true"#, ""),
    ] {
        let out = env
            .bash(&format!("set -o pipefail; {script}"))
            .env("VAULTS_PASSPHRASE", PASS)
            .output()
            .unwrap();
        assert_eq!(
            (
                out.status.code(),
                String::from_utf8_lossy(&out.stderr).as_ref()
            ),
            (Some(0), ""),
            "{script}"
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout), first, "{script}");
    }
}
