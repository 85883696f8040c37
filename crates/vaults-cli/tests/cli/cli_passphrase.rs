//! Passphrase sources and their order, `passwd`, `slots` and `slot`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::cli_util;

use cli_util::{Env, PASS, assert_error, assert_success};

const WRONG: &str = "not the passphrase";

/// A vault holding one entry, `k` = `v4lue`.
fn vault() -> Env {
    let env = Env::new();
    env.init().set("k", "v4lue", &[]);
    env
}

/// Runs `get k` with `cmd`'s passphrase setup and checks it prints `v4lue`.
fn opens(mut cmd: assert_cmd::Command) {
    cmd.args(["get", "-n", "k"])
        .assert()
        .success()
        .stdout("v4lue");
}

/// Runs `get k` and checks it fails with `code`, leaking nothing.
fn refused(mut cmd: assert_cmd::Command, code: i32) -> String {
    let out = cmd.args(["get", "k"]).output().unwrap();
    assert_error(&out, code, &[PASS, WRONG, "v4lue"])
}

#[test]
fn passphrase_file_strips_one_trailing_newline() {
    let env = vault();
    for (name, content) in [("bare", PASS.to_owned()), ("nl", format!("{PASS}\n"))] {
        let file = env.write(name, content);
        let mut cmd = env.cmd();
        cmd.arg("--passphrase-file").arg(&file);
        opens(cmd);
        // Also from the environment.
        let mut cmd = env.cmd();
        cmd.env("VAULTS_PASSPHRASE_FILE", &file);
        opens(cmd);
    }
    let crlf = env.write("crlf", format!("{PASS}\r\n"));
    let mut cmd = env.cmd();
    cmd.arg("--passphrase-file").arg(&crlf);
    opens(cmd);
    // Only one newline is stripped: the second is part of the passphrase.
    let two = env.write("two", format!("{PASS}\n\n"));
    let mut cmd = env.cmd();
    cmd.arg("--passphrase-file").arg(&two);
    let line = refused(cmd, 4);
    assert!(line.contains("wrong passphrase"), "{line}");
}

#[test]
fn passphrase_file_that_cannot_be_read_is_an_error() {
    let env = vault();
    let mut cmd = env.cmd();
    cmd.arg("--passphrase-file").arg(env.file("missing"));
    let line = refused(cmd, 1);
    assert!(line.contains("passphrase file"), "{line}");
    let empty = env.write("empty", "");
    let mut cmd = env.cmd();
    cmd.arg("--passphrase-file").arg(&empty);
    let line = refused(cmd, 2);
    assert!(line.contains("empty"), "{line}");
}

#[test]
fn passphrase_command_output_is_the_passphrase() {
    let env = vault();
    for script in [
        "printf %s \"$PW\"".to_owned(),
        "echo \"$PW\"".to_owned(),
        "printf '%s\\n' \"$PW\"".to_owned(),
    ] {
        let mut cmd = env.cmd();
        cmd.env("PW", PASS).args(["--passphrase-command", &script]);
        opens(cmd);
        let mut cmd = env.cmd();
        cmd.env("PW", PASS)
            .env("VAULTS_PASSPHRASE_COMMAND", &script);
        opens(cmd);
    }
    // A failing command is an error, not an empty passphrase or a prompt.
    let mut cmd = env.cmd();
    cmd.args(["--passphrase-command", "exit 3"]);
    let line = refused(cmd, 1);
    assert!(line.contains("passphrase command failed"), "{line}");
    let mut cmd = env.cmd();
    cmd.args(["--passphrase-command", "true"]);
    refused(cmd, 2);
    let mut cmd = env.cmd();
    cmd.env("PW", WRONG)
        .args(["--passphrase-command", "printf %s \"$PW\""]);
    refused(cmd, 4);
}

#[test]
fn passphrase_from_the_environment() {
    let env = vault();
    opens(env.pw());
    let mut cmd = env.cmd();
    cmd.env("VAULTS_PASSPHRASE", WRONG);
    let line = refused(cmd, 4);
    assert_eq!(line, "vaults: wrong passphrase");
    let mut cmd = env.cmd();
    cmd.env("VAULTS_PASSPHRASE", "");
    let line = refused(cmd, 2);
    assert!(line.contains("empty"), "{line}");
}

/// First found wins: --passphrase-file, --passphrase-command,
/// $VAULTS_PASSPHRASE. Each pair is checked both ways round, so only the
/// winner's value can open the vault.
#[test]
fn sources_are_tried_in_order() {
    let env = vault();
    let right = env.write("right", PASS);
    let wrong = env.write("wrong", WRONG);
    let cmd_of = |pw: &str| {
        let mut cmd = env.cmd();
        cmd.env("PW", pw)
            .args(["--passphrase-command", "printf %s \"$PW\""]);
        cmd
    };

    // --passphrase-file beats $VAULTS_PASSPHRASE.
    let mut cmd = env.cmd();
    cmd.env("VAULTS_PASSPHRASE", WRONG)
        .arg("--passphrase-file")
        .arg(&right);
    opens(cmd);
    let mut cmd = env.pw();
    cmd.arg("--passphrase-file").arg(&wrong);
    refused(cmd, 4);
    // Also when the file comes from $VAULTS_PASSPHRASE_FILE.
    let mut cmd = env.cmd();
    cmd.env("VAULTS_PASSPHRASE", WRONG)
        .env("VAULTS_PASSPHRASE_FILE", &right);
    opens(cmd);

    // --passphrase-command beats $VAULTS_PASSPHRASE.
    let mut cmd = cmd_of(PASS);
    cmd.env("VAULTS_PASSPHRASE", WRONG);
    opens(cmd);
    let mut cmd = cmd_of(WRONG);
    cmd.env("VAULTS_PASSPHRASE", PASS);
    refused(cmd, 4);

    // --passphrase-file beats --passphrase-command.
    let mut cmd = cmd_of(WRONG);
    cmd.arg("--passphrase-file").arg(&right);
    opens(cmd);
    let mut cmd = cmd_of(PASS);
    cmd.arg("--passphrase-file").arg(&wrong);
    refused(cmd, 4);
}

#[test]
fn no_source_and_no_terminal_is_a_clear_usage_error() {
    let env = vault();
    for args in [
        &["get", "k"][..],
        &["ls"],
        &["set", "x"],
        &["unlock"],
        &["passwd"],
        &["rotate"],
        &["export", "--plaintext"],
    ] {
        let out = env.cmd().args(args).output().unwrap();
        let line = assert_error(&out, 2, &["v4lue"]);
        assert!(
            line.contains("no passphrase given") && line.contains("VAULTS_PASSPHRASE"),
            "{args:?}: {line}"
        );
    }
    // --no-input works as a flag too, and wins over VAULTS_NO_INPUT=0.
    let out = env
        .cmd()
        .env("VAULTS_NO_INPUT", "0")
        .args(["--no-input", "get", "k"])
        .output()
        .unwrap();
    assert_error(&out, 2, &[]);
}

#[test]
fn passwd_from_the_environment() {
    let env = vault();
    let new = "a brand new passphrase";
    env.pw()
        .env("VAULTS_NEW_PASSPHRASE", new)
        .arg("passwd")
        .assert()
        .success()
        .stdout("passphrase changed\n");
    refused(env.pw(), 4);
    let mut cmd = env.cmd();
    cmd.env("VAULTS_PASSPHRASE", new);
    opens(cmd);
    // An empty new passphrase is refused and changes nothing.
    let out = env
        .cmd()
        .env("VAULTS_PASSPHRASE", new)
        .env("VAULTS_NEW_PASSPHRASE", "")
        .arg("passwd")
        .output()
        .unwrap();
    assert_error(&out, 2, &[new]);
    let mut cmd = env.cmd();
    cmd.env("VAULTS_PASSPHRASE", new);
    opens(cmd);
}

#[test]
fn passwd_from_a_file() {
    let env = vault();
    let new = "from a file";
    let file = env.write("new", format!("{new}\n"));
    env.pw()
        .arg("passwd")
        .arg("--new-passphrase-file")
        .arg(&file)
        .assert()
        .success();
    let mut cmd = env.cmd();
    cmd.env("VAULTS_PASSPHRASE", new);
    opens(cmd);
    refused(env.pw(), 4);
    // Wrong old passphrase: nothing changes.
    let out = env
        .pw()
        .env("VAULTS_NEW_PASSPHRASE", "other")
        .arg("passwd")
        .output()
        .unwrap();
    assert_error(&out, 4, &[PASS, "other"]);
    // No new passphrase and no terminal: a usage error.
    let out = env
        .cmd()
        .env("VAULTS_PASSPHRASE", new)
        .arg("passwd")
        .output()
        .unwrap();
    assert_error(&out, 2, &[new]);
    let mut cmd = env.cmd();
    cmd.env("VAULTS_PASSPHRASE", new);
    opens(cmd);
}

#[test]
fn passphrase_slots_add_list_and_remove() {
    let env = vault();
    let second = "recovery passphrase";
    env.pw()
        .env("VAULTS_NEW_PASSPHRASE", second)
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
    let file = env.write("third", "third passphrase\n");
    let out = env
        .pw()
        .args(["--json", "slot", "add-passphrase", "--kdf-memory", "20"])
        .args(["--kdf-time", "2", "--new-passphrase-file"])
        .arg(&file)
        .output()
        .unwrap();
    assert_success(&out);
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap(),
        serde_json::json!({"id": 3})
    );
    assert_eq!(
        env.stdout(["slots"]),
        "1  passphrase  argon2id 19 MiB, 2 passes\n\
         2  passphrase  argon2id 19 MiB, 2 passes\n\
         3  passphrase  argon2id 20 MiB, 2 passes\n"
    );
    // Every slot opens the vault.
    for pw in [second, "third passphrase"] {
        let mut cmd = env.cmd();
        cmd.env("VAULTS_PASSPHRASE", pw);
        opens(cmd);
    }
    // Remove the first: its passphrase stops working, the others remain.
    env.pw()
        .args(["slot", "remove", "1"])
        .assert()
        .success()
        .stdout("removed slot 1\n");
    refused(env.pw(), 4);
    let as_second = || {
        let mut cmd = env.cmd();
        cmd.env("VAULTS_PASSPHRASE", second);
        cmd
    };
    opens(as_second());
    let out = as_second().args(["slot", "remove", "9"]).output().unwrap();
    assert_error(&out, 3, &[second]);
    as_second().args(["slot", "remove", "3"]).assert().success();
    // The last passphrase slot cannot go.
    let out = as_second().args(["slot", "remove", "2"]).output().unwrap();
    let line = assert_error(&out, 1, &[second]);
    assert!(line.contains("last passphrase slot"), "{line}");
    opens(as_second());
    let list = as_second().args(["--json", "slots"]).output().unwrap();
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&list.stdout).unwrap(),
        serde_json::json!([{"id": 2, "kind": "passphrase", "kdf_memory_mib": 19, "kdf_time": 2}])
    );
}

#[test]
fn slot_commands_on_a_plain_vault_are_usage_errors() {
    let env = Env::new();
    env.init_plain();
    for args in [
        &["slots"][..],
        &["slot", "remove", "1"],
        &["passwd"],
        &["rotate"],
    ] {
        let out = env
            .cmd()
            .env("VAULTS_NEW_PASSPHRASE", "x")
            .args(args)
            .output()
            .unwrap();
        let line = assert_error(&out, 2, &[]);
        assert!(line.contains("plain"), "{args:?}: {line}");
    }
}

/// Passphrases are NFC-normalised: "é" typed precomposed or as "e" plus a
/// combining accent is the same passphrase.
#[test]
fn passphrases_are_unicode_normalised() {
    let env = Env::new();
    env.cmd()
        .env("VAULTS_PASSPHRASE", "caf\u{e9} cr\u{e8}me")
        .args(["init", "--kdf-memory", "19", "--kdf-time", "2"])
        .assert()
        .success();
    env.cmd()
        .env("VAULTS_PASSPHRASE", "cafe\u{301} cre\u{300}me")
        .arg("ls")
        .assert()
        .success();
}

#[test]
fn a_passphrase_that_is_not_utf8_is_a_usage_error() {
    use std::os::unix::ffi::OsStrExt;
    let env = vault();
    let out = env
        .cmd()
        .env("VAULTS_PASSPHRASE", std::ffi::OsStr::from_bytes(b"caf\xe9"))
        .args(["get", "k"])
        .output()
        .unwrap();
    let line = assert_error(&out, 2, &["v4lue"]);
    assert!(line.contains("UTF-8"), "{line}");
}
