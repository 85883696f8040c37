//! `vaults exec`: secrets in a child's environment, its exit code ours.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::cli_util;

use cli_util::{Env, PASS, assert_error};

fn vault() -> Env {
    let env = Env::new();
    env.init()
        .set("db/password", "hunter2", &[])
        .set("api-token.v2", "tok en", &[])
        .set("config", r#"{"port": 5432}"#, &["--json-input"]);
    env
}

/// The child prints the variables it was given.
const SHOW: &str = r#"printf '%s|%s|%s|%s' "${DB_PASSWORD-unset}" "${API_TOKEN_V2-unset}" "${CONFIG-unset}" "${APP_DB_PASSWORD-unset}""#;

#[test]
fn exec_puts_every_entry_in_the_environment() {
    let env = vault();
    env.pw()
        .args(["exec", "--", "sh", "-c", SHOW])
        .assert()
        .success()
        .stdout(r#"hunter2|tok en|{"port":5432}|unset"#);
}

#[test]
fn exec_prefix_and_only() {
    let env = vault();
    env.pw()
        .args(["exec", "--prefix", "APP_", "--only", "db/password"])
        .args(["--", "sh", "-c", SHOW])
        .assert()
        .success()
        .stdout("unset|unset|unset|hunter2");
    env.pw()
        .args([
            "exec",
            "--only",
            "db/password",
            "config",
            "--",
            "sh",
            "-c",
            SHOW,
        ])
        .assert()
        .success()
        .stdout(r#"hunter2|unset|{"port":5432}|unset"#);
    // A missing --only entry: nothing runs.
    let marker = env.file("ran");
    let out = env
        .pw()
        .env("MARKER", &marker)
        .args(["exec", "--only", "db/password", "nope", "--"])
        .args(["sh", "-c", r#"touch "$MARKER""#])
        .output()
        .unwrap();
    let line = assert_error(&out, 3, &["hunter2", PASS]);
    assert!(line.contains("nope"), "{line}");
    assert!(!marker.exists());
}

#[test]
fn exec_passes_the_exit_code_through() {
    let env = vault();
    for code in [0, 1, 7, 42, 255] {
        let out = env
            .pw()
            .args(["exec", "--", "sh", "-c", &format!("exit {code}")])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(code));
        assert!(out.stderr.is_empty());
    }
    // Arguments reach the child untouched.
    env.pw()
        .args(["exec", "--", "printf", "%s,", "a b", "--json", "-n"])
        .assert()
        .success()
        .stdout("a b,--json,-n,");
}

#[test]
fn exec_of_a_missing_command_is_127() {
    let env = vault();
    let out = env
        .pw()
        .args(["exec", "--", "no-such-command-vaults-test"])
        .output()
        .unwrap();
    let line = assert_error(&out, 127, &["hunter2", PASS]);
    assert!(line.contains("no-such-command-vaults-test"), "{line}");
    let not_executable = env.write("script", "#!/bin/sh\n");
    let out = env
        .pw()
        .arg("exec")
        .arg("--")
        .arg(&not_executable)
        .output()
        .unwrap();
    assert_error(&out, 126, &["hunter2", PASS]);
    // No command at all is a usage error.
    let out = env.pw().args(["exec", "--"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn exec_refuses_values_no_environment_can_hold() {
    let env = vault();
    env.set("bin", vec![0xffu8, 0], &[]);
    // Named: an error. Unnamed, it is skipped with a notice (cli_exec_child.rs).
    let out = env
        .pw()
        .args(["exec", "--only", "bin", "--", "true"])
        .output()
        .unwrap();
    let line = assert_error(&out, 1, &["hunter2", PASS]);
    assert!(line.contains("bin"), "{line}");
    // Two names that map to one variable.
    env.pw().args(["rm", "bin"]).assert().success();
    env.set("db.password", "other", &[]);
    let out = env.pw().args(["exec", "--", "true"]).output().unwrap();
    let line = assert_error(&out, 2, &["hunter2", "other", PASS]);
    assert!(line.contains("DB_PASSWORD"), "{line}");
    env.pw()
        .args(["exec", "--only", "db.password", "--", "sh", "-c", SHOW])
        .assert()
        .success()
        .stdout("other|unset|unset|unset");
}

#[test]
fn exec_on_a_plain_vault() {
    let env = Env::new();
    env.init_plain();
    env.cmd()
        .args(["set", "db/password"])
        .write_stdin("plain")
        .assert()
        .success();
    env.cmd()
        .args(["exec", "--", "sh", "-c", SHOW])
        .assert()
        .success()
        .stdout("plain|unset|unset|unset");
}

/// Regression: the child inherited `$VAULTS_PASSPHRASE` (and the export and
/// new-passphrase variables): with `--only`, a command meant to see one
/// secret got the key to all of them.
#[test]
fn exec_does_not_hand_the_passphrase_to_the_child() {
    let env = vault();
    let show = r#"printf '%s|%s|%s|%s|%s' "${VAULTS_PASSPHRASE-unset}" "${VAULTS_NEW_PASSPHRASE-unset}" "${VAULTS_EXPORT_PASSPHRASE-unset}" "${DB_PASSWORD-unset}" "${VAULTS_DIR:+dir}""#;
    env.pw()
        .env("VAULTS_NEW_PASSPHRASE", "new one")
        .env("VAULTS_EXPORT_PASSPHRASE", "export one")
        .args(["exec", "--only", "db/password", "--", "sh", "-c", show])
        .assert()
        .success()
        // No `VAULTS_*` variable at all reaches the child, `VAULTS_DIR` included.
        .stdout("unset|unset|unset|hunter2|");
}

/// Regression: the command ran with vaults' own hardening: umask 077 (its
/// files came out owner-only) and a core-dump hard limit of 0 it could
/// never raise. It now starts as it would without vaults.
#[test]
fn exec_gives_the_command_the_callers_umask_and_core_limit() {
    let env = vault();
    let probe = "umask; ulimit -Sc; ulimit -Hc";
    // Whatever the caller's limits are, try a nonzero soft one.
    let setup = "umask 027; ulimit -S -c 4096 2>/dev/null;";
    let direct = env
        .sh(&format!("{setup} sh -c '{probe}'"))
        .output()
        .unwrap();
    cli_util::assert_success(&direct);
    let direct = String::from_utf8(direct.stdout).unwrap();
    assert!(direct.starts_with("0027\n"), "{direct}");
    env.sh(&format!(
        r#"{setup} exec "$VAULTS_BIN" exec -- sh -c '{probe}'"#
    ))
    .env("VAULTS_PASSPHRASE", PASS)
    .assert()
    .success()
    .stdout(direct);
}
