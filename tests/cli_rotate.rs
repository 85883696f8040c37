//! `vaults rotate`: a new vault key, every entry still readable.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod cli_util;

use cli_util::{Env, PASS, assert_error};
use serde_json::json;

#[test]
fn rotate_keeps_every_entry_readable() {
    let env = Env::new();
    env.init();
    env.set("text", "plain text", &[]);
    env.set("json", r#"{"a": [1, 2]}"#, &["--json"]);
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
