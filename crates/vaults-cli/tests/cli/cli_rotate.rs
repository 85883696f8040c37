//! `vaults rotate`: a new vault key, every entry still readable.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::cli_util;

use cli_util::{Env, PASS, assert_error};
use serde_json::json;

#[test]
fn rotate_keeps_every_entry_readable() {
    let env = Env::new();
    env.init();
    env.set("text", "plain text", &[]);
    env.set("json", r#"{"a": [1, 2]}"#, &["--json-input"]);
    env.set("bin", vec![0u8, 0xff, 0xfe, 7], &[]);
    env.set("session", "expiring", &["--ttl", "2h"]);
    let before = env.json(["get", "session"]);

    env.pw()
        .arg("rotate")
        .assert()
        .success()
        .stdout("rotated vault \"default\": key generation 2\n")
        // No progress bar without a terminal.
        .stderr("");
    assert_eq!(
        env.json(["rotate"]),
        json!({"generation": 3, "old_key_material_may_remain": false})
    );

    assert_eq!(env.names(), ["bin", "json", "session", "text"]);
    assert_eq!(env.get("text"), b"plain text");
    assert_eq!(env.json(["get", "json"])["value"], json!({"a": [1, 2]}));
    assert_eq!(env.get("bin"), [0u8, 0xff, 0xfe, 7]);
    let after = env.json(["get", "session"]);
    assert_eq!(after["value"], "expiring");
    // The same expiry, give or take the time between the two reads.
    let at = |doc: &serde_json::Value| {
        humantime::parse_rfc3339(doc["expires_at"].as_str().unwrap()).unwrap()
    };
    let drift = at(&after)
        .duration_since(at(&before))
        .unwrap_or_else(|e| e.duration());
    assert!(drift.as_secs() < 5, "{drift:?}");
    // The passphrase is unchanged, and a wrong one still fails.
    let out = env
        .cmd()
        .env("VAULTS_PASSPHRASE", "n0pe")
        .arg("rotate")
        .output()
        .unwrap();
    assert_error(&out, 4, &["n0pe", "plain text"]);
}

/// Rotation rewraps every passphrase slot, so it needs each passphrase;
/// without a terminal to ask for the second, it stops with a hint and
/// changes nothing.
#[test]
fn rotate_with_a_second_passphrase_slot_needs_a_terminal() {
    let env = Env::new();
    env.init().set("k", "v4lue", &[]);
    env.pw()
        .env("VAULTS_NEW_PASSPHRASE", "second one")
        .args([
            "slot",
            "add-passphrase",
            "--kdf-memory",
            "19",
            "--kdf-time",
            "2",
        ])
        .assert()
        .success();
    let out = env.pw().arg("rotate").output().unwrap();
    let line = assert_error(&out, 2, &[PASS, "second one", "v4lue"]);
    assert!(
        line.contains("slot 2") && line.contains("vaults slot remove 2"),
        "{line}"
    );
    // Nothing changed: both passphrases still open it.
    assert_eq!(env.get("k"), b"v4lue");
    env.cmd()
        .env("VAULTS_PASSPHRASE", "second one")
        .args(["get", "k"])
        .assert()
        .success();
    // After removing the second slot, rotation works.
    env.pw().args(["slot", "remove", "2"]).assert().success();
    env.pw().arg("rotate").assert().success();
    assert_eq!(env.get("k"), b"v4lue");
}

/// A library handle that saw the old key (and cached that its generation
/// was current) notices a rotation done by the binary in another process.
#[test]
fn a_rotation_by_another_process_reaches_a_warm_handle() -> vaults_test_support::TestResult {
    use vaults::{Error, ManualClock, Store};
    use vaults_test_support::encrypted::*;
    const A: &str = "first passphrase";
    // The same as above, with the rotation done by the `vaults` binary in a
    // process of its own.
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("default.db");
    let clock = ManualClock::new(T0);
    create(&path, A, &clock)?.put("k", &1)?;
    let stale = open(&path, A, &clock)?;
    assert_eq!(stale.get::<i32>("absent")?, None);
    assert_eq!(stale.get::<i32>("absent")?, None);

    let mut rotate = std::process::Command::new(env!("CARGO_BIN_EXE_vaults"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("VAULTS_") {
            rotate.env_remove(name);
        }
    }
    let out = rotate
        .arg("--dir")
        .arg(dir.path())
        .arg("rotate")
        .env("VAULTS_PASSPHRASE", A)
        .stdin(std::process::Stdio::null())
        .output()?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    for e in [
        err(stale.get::<i32>("absent")),
        err(stale.get::<i32>("k")),
        err(stale.put("new", &2)),
    ] {
        assert!(matches!(e, Error::KeyRotated), "{e:?}");
    }
    let fresh = open(&path, A, &clock)?;
    assert_eq!(fresh.generation(), 2);
    assert_eq!(fresh.get::<i32>("k")?, Some(1));
    assert_eq!(fresh.get::<i32>("new")?, None);
    Ok(())
}
