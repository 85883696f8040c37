//! `vaults init`, file modes, umask, `destroy`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::cli_util;

use cli_util::{Env, PASS, assert_error, mode};
use predicates::prelude::*;

#[test]
fn init_creates_an_encrypted_vault_owner_only() {
    let env = Env::new();
    assert!(!env.dir.exists());
    env.pw()
        .args(["init", "--kdf-memory", "19", "--kdf-time", "2"])
        .assert()
        .success()
        .stdout(predicate::str::contains("created encrypted vault"));
    assert_eq!(mode(&env.dir), 0o700);
    assert_eq!(mode(&env.vault_path()), 0o600);
    let slots = env.json(["slots"]);
    assert_eq!(
        slots,
        serde_json::json!([{"id": 1, "kind": "passphrase", "kdf_memory_mib": 19, "kdf_time": 2}])
    );
    // Encrypted: nothing opens it without the passphrase.
    env.set("k", "v", &[]);
    let out = env.cmd().args(["get", "k"]).output().unwrap();
    assert_error(&out, 2, &[PASS, "v\n"]);
}

#[test]
fn init_plain_needs_no_passphrase() {
    let env = Env::new();
    env.cmd()
        .args(["init", "--plain"])
        .assert()
        .success()
        .stdout(predicate::str::contains("created plain vault"));
    assert_eq!(mode(&env.dir), 0o700);
    assert_eq!(mode(&env.vault_path()), 0o600);
    env.cmd()
        .args(["set", "k"])
        .write_stdin("plain value\n")
        .assert()
        .success();
    env.cmd()
        .args(["get", "k"])
        .assert()
        .success()
        .stdout("plain value\n");
    // A plain vault has no key slots.
    let out = env.cmd().arg("slots").output().unwrap();
    assert_error(&out, 2, &[]);
}

#[test]
fn init_refuses_an_existing_vault() {
    let env = Env::new();
    env.init();
    env.set("k", "kept", &[]);
    for args in [&["init"][..], &["init", "--plain"]] {
        let out = env.pw().args(args).output().unwrap();
        let line = assert_error(&out, 1, &[PASS]);
        assert!(line.contains("already exists"), "{line}");
    }
    assert_eq!(env.get("k"), b"kept");
}

#[test]
fn init_creates_nested_folders_owner_only() {
    let env = Env::new();
    let dir = env.file("a/b/c");
    env.pw()
        .env("VAULTS_DIR", &dir)
        .args(["--vault", "work", "init", "--kdf-memory", "19"])
        .args(["--kdf-time", "2"])
        .assert()
        .success();
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join("work.db")), 0o600);
}

#[test]
fn init_refuses_an_empty_passphrase_and_creates_nothing() {
    let env = Env::new();
    let out = env
        .cmd()
        .env("VAULTS_PASSPHRASE", "")
        .args(["init", "--kdf-memory", "19", "--kdf-time", "2"])
        .output()
        .unwrap();
    let line = assert_error(&out, 2, &[]);
    assert!(line.contains("empty"), "{line}");
    let empty = env.write("empty", "\n");
    let out = env
        .cmd()
        .arg("--passphrase-file")
        .arg(&empty)
        .args(["init", "--kdf-memory", "19", "--kdf-time", "2"])
        .output()
        .unwrap();
    assert_error(&out, 2, &[]);
    assert!(!env.vault_path().exists());
}

#[test]
fn init_with_no_passphrase_source_fails_without_hanging() {
    let env = Env::new();
    let out = env
        .cmd()
        .args(["init", "--kdf-memory", "19", "--kdf-time", "2"])
        .output()
        .unwrap();
    let line = assert_error(&out, 2, &[]);
    assert!(line.contains("VAULTS_PASSPHRASE"), "{line}");
    assert!(!env.vault_path().exists());
}

#[test]
fn kdf_costs_below_the_floor_are_refused() {
    let env = Env::new();
    let out = env
        .pw()
        .args(["init", "--kdf-memory", "1", "--kdf-time", "1"])
        .output()
        .unwrap();
    let line = assert_error(&out, 2, &[PASS]);
    assert!(line.contains("floor"), "{line}");
    let out = env
        .pw()
        .args(["init", "--kdf-memory", "99999"])
        .output()
        .unwrap();
    let line = assert_error(&out, 2, &[PASS]);
    assert!(line.contains("ceiling"), "{line}");
    assert!(!env.vault_path().exists());
}

/// The binary sets umask 077 itself: what it creates is owner-only even
/// when started under `umask 000`.
#[test]
fn files_are_owner_only_even_under_a_permissive_umask() {
    let env = Env::new();
    env.sh(r#"umask 000; exec "$VAULTS_BIN" init --kdf-memory 19 --kdf-time 2"#)
        .env("VAULTS_PASSPHRASE", PASS)
        .assert()
        .success();
    assert_eq!(mode(&env.dir), 0o700);
    assert_eq!(mode(&env.vault_path()), 0o600);
    env.sh(r#"umask 000; printf 'v' | exec "$VAULTS_BIN" set k"#)
        .env("VAULTS_PASSPHRASE", PASS)
        .assert()
        .success();

    // The WAL and shared-memory files exist while the vault is open: the
    // passphrase command runs then, and records their modes.
    let modes = env.file("modes");
    env.sh(r#"umask 000; exec "$VAULTS_BIN" --passphrase-command 'stat -c %a "$VAULTS_DIR/default.db-wal" "$VAULTS_DIR/default.db-shm" > "$MODES" && printf %s "$PW"' ls"#)
        .env("MODES", &modes)
        .env("PW", PASS)
        .assert()
        .success()
        .stdout("k\n");
    assert_eq!(std::fs::read_to_string(&modes).unwrap(), "600\n600\n");

    let plain = env.file("dump.json");
    let sealed = env.file("backup.age");
    env.sh(r#"umask 000; "$VAULTS_BIN" export --plaintext --out "$PLAIN" && exec "$VAULTS_BIN" export --out "$SEALED""#)
        .env("VAULTS_PASSPHRASE", PASS)
        .env("VAULTS_EXPORT_PASSPHRASE", "export pass")
        .env("PLAIN", &plain)
        .env("SEALED", &sealed)
        .assert()
        .success();
    assert_eq!(mode(&plain), 0o600);
    assert_eq!(mode(&sealed), 0o600);
}

#[test]
fn destroy_needs_force_without_a_terminal() {
    let env = Env::new();
    env.init().set("k", "v", &[]);
    let out = env.pw().arg("destroy").output().unwrap();
    let line = assert_error(&out, 2, &[PASS]);
    assert!(line.contains("--force"), "{line}");
    assert!(env.vault_path().exists());
    assert_eq!(env.get("k"), b"v");

    env.cmd()
        .args(["destroy", "--force"])
        .assert()
        .success()
        .stdout(predicate::str::contains("destroyed"));
    assert!(!env.vault_path().exists());
    let out = env.pw().args(["get", "k"]).output().unwrap();
    let line = assert_error(&out, 3, &[]);
    assert!(line.contains("vaults init"), "{line}");
}

#[test]
fn destroy_of_a_plain_vault_and_of_no_vault() {
    let env = Env::new();
    let out = env.cmd().args(["destroy", "--force"]).output().unwrap();
    assert_error(&out, 3, &[]);
    env.init_plain();
    env.cmd().args(["destroy", "--force"]).assert().success();
    assert!(!env.vault_path().exists());
}

#[test]
fn a_vault_others_can_read_is_used_with_a_warning() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    env.init().set("k", "v", &[]);
    std::fs::set_permissions(env.vault_path(), std::fs::Permissions::from_mode(0o644)).unwrap();
    env.pw()
        .args(["get", "k"])
        .assert()
        .success()
        .stdout("v\n")
        .stderr(
            predicate::str::contains("accessible to other users")
                .and(predicate::str::contains("chmod 600")),
        );
}

#[test]
fn commands_that_report_speak_json() {
    let env = Env::new();
    let out = env
        .pw()
        .args(["--json", "init", "--kdf-memory", "19", "--kdf-time", "2"])
        .output()
        .unwrap();
    cli_util::assert_success(&out);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["vault"], "default");
    assert_eq!(doc["kind"], "encrypted");
    assert_eq!(doc["keyring_slot"], serde_json::Value::Null);
    assert_eq!(
        std::path::Path::new(doc["path"].as_str().unwrap()),
        env.vault_path()
    );
    env.set("k", "v", &[]);
    let json = |extra: &[(&str, &str)], args: &[&str]| {
        let mut cmd = env.pw();
        for (k, v) in extra {
            cmd.env(k, v);
        }
        let out = cmd.arg("--json").args(args).output().unwrap();
        cli_util::assert_success(&out);
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let new = [("VAULTS_NEW_PASSPHRASE", "second")];
    assert_eq!(
        json(
            &new,
            &[
                "slot",
                "add-passphrase",
                "--kdf-memory",
                "19",
                "--kdf-time",
                "2"
            ]
        ),
        serde_json::json!({"id": 2})
    );
    assert_eq!(
        json(&[], &["slot", "remove", "2"]),
        serde_json::json!({"removed": 2, "old_key_material_may_remain": false})
    );
    assert_eq!(
        json(&new, &["passwd"]),
        serde_json::json!({"changed": true, "old_key_material_may_remain": false})
    );
    let second = [("VAULTS_PASSPHRASE", "second")];
    assert_eq!(
        json(&second, &["cleanup"]),
        serde_json::json!({"deleted": 0})
    );
    assert_eq!(
        json(&second, &["destroy", "--force"]),
        serde_json::json!({"destroyed": "default"})
    );
    let out = env
        .cmd()
        .args(["--json", "init", "--plain"])
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["kind"], "plain");
}
