//! What the CLI takes from the vault file on trust, and what it must not:
//! the file never decides that a vault is unencrypted (issue item 1), and
//! `destroy` forgets only the keyring secrets that open this very vault
//! (item 8). The attacker edits or replaces the file with SQL.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::cli_util;

use std::path::Path;

use cli_util::{Env, PASS, assert_error, assert_success, keyring_unusable, mode};
use rusqlite::Connection;
use vaults::Store;

const SECRET: &str = "hunter2-trust";

fn sql(path: &Path, statements: &str) {
    let conn = Connection::open(path).unwrap();
    conn.execute_batch(statements).unwrap();
}

fn rows(path: &Path) -> i64 {
    let conn = Connection::open(path).unwrap();
    conn.query_row("SELECT count(*) FROM entries", [], |r| r.get(0))
        .unwrap()
}

/// The file holds an encrypted vault's records: refused by the library,
/// with or without `--plain`, exit 4.
#[test]
fn an_encrypted_vault_relabelled_plain_is_refused() {
    for value in ["'plain'", "CAST('plain' AS BLOB)"] {
        let env = Env::new();
        env.init().set("db/password", SECRET, &[]);
        let path = env.vault_path();
        sql(
            &path,
            &format!("UPDATE meta SET value = {value} WHERE name = 'kind'"),
        );
        let before = rows(&path);
        for plain in [false, true] {
            let mut cmd = env.pw();
            if plain {
                cmd.arg("--plain");
            }
            let out = cmd
                .args(["set", "new"])
                .write_stdin("in clear")
                .output()
                .unwrap();
            let line = assert_error(&out, 4, &[SECRET, PASS]);
            assert!(line.contains("looks tampered with"), "{line}");
        }
        assert_eq!(rows(&path), before, "nothing was written");
        let out = env.pw().args(["get", "db/password"]).output().unwrap();
        assert_error(&out, 4, &[SECRET, PASS]);
    }
}

/// Even with every encrypted record deleted, a file that says `plain` is
/// not opened as plain unless the user asks for a plain vault.
#[test]
fn a_stripped_encrypted_vault_is_not_opened_as_plain() {
    let env = Env::new();
    env.init().set("db/password", SECRET, &[]);
    let path = env.vault_path();
    sql(
        &path,
        "DELETE FROM meta WHERE name NOT IN ('vault_id', 'kind');
         UPDATE meta SET value = CAST('plain' AS BLOB) WHERE name = 'kind';",
    );
    let before = rows(&path);
    let marker = env.file("ran");
    for args in [
        &["set", "new"][..],
        &["get", "db/password"],
        &["ls"],
        &["exec", "--", "sh", "-c", "touch \"$MARKER\""],
    ] {
        let out = env
            .cmd()
            .env("MARKER", &marker)
            .args(args)
            .write_stdin("in clear")
            .output()
            .unwrap();
        let line = assert_error(&out, 4, &[SECRET]);
        assert!(line.contains("looks tampered with"), "{args:?}: {line}");
    }
    assert!(!marker.exists(), "exec ran its child");
    assert_eq!(rows(&path), before);
}

/// A plain vault put in place of an encrypted one (the attacker's entries,
/// with `BASH_ENV` among them) is refused; with `--plain` the user says
/// they expect a plain vault, and it opens.
#[test]
fn a_plain_file_put_in_an_encrypted_vaults_place_is_refused() {
    let env = Env::new();
    env.init().set("db/password", SECRET, &[]);
    let path = env.vault_path();
    let fake = env.file("fake.db");
    let vault = vaults::Vault::open_or_create(&fake).unwrap();
    vault.put("db/password", "attacker-chosen").unwrap();
    vault.close().unwrap();
    std::fs::rename(&fake, &path).unwrap();
    std::fs::remove_file(env.file("fake.db-wal")).ok();

    let out = env.pw().args(["get", "db/password"]).output().unwrap();
    let line = assert_error(&out, 4, &["attacker-chosen", PASS]);
    assert!(line.contains("looks tampered with"), "{line}");
    let out = env
        .pw()
        .args(["set", "k"])
        .write_stdin(SECRET)
        .output()
        .unwrap();
    assert_error(&out, 4, &[SECRET, PASS]);
    assert_eq!(rows(&path), 1);

    for plain in [&["--plain"][..], &[]] {
        let mut cmd = env.cmd();
        if plain.is_empty() {
            cmd.env("VAULTS_PLAIN", "1");
        }
        cmd.args(plain)
            .args(["get", "db/password"])
            .assert()
            .success()
            .stdout("attacker-chosen\n");
    }
}

/// `init --plain` records the vault (path and id) in the user's config
/// folder, owner-only; later commands need no flag. Another plain file in
/// its place (another id) is refused; after `destroy`, so is the old one.
#[test]
fn init_plain_records_the_vault_where_the_file_cannot_change_it() {
    let env = Env::new();
    env.init_plain().set("k", "v", &[]);
    assert_eq!(env.get("k"), b"v");
    let list = env.config_dir().join("vaults").join("plain-vaults.json");
    assert_eq!(mode(&list), 0o600);
    assert_eq!(mode(list.parent().unwrap()), 0o700);
    let text = std::fs::read_to_string(&list).unwrap();
    assert!(text.contains("default.db"), "{text}");

    // Keep a copy of the recorded vault, then replace it by another plain one.
    let path = env.vault_path();
    let copy = env.file("copy.db");
    std::fs::copy(&path, &copy).unwrap();
    let other = env.file("other.db");
    vaults::Vault::open_or_create(&other)
        .unwrap()
        .close()
        .unwrap();
    std::fs::copy(&other, &path).unwrap();
    let out = env.cmd().args(["get", "k"]).output().unwrap();
    let line = assert_error(&out, 4, &[]);
    assert!(line.contains("looks tampered with"), "{line}");

    // Back to the recorded one: fine. Destroyed, its record goes with it.
    std::fs::copy(&copy, &path).unwrap();
    assert_eq!(env.get("k"), b"v");
    env.cmd().args(["destroy", "--force"]).assert().success();
    env.init();
    std::fs::copy(&copy, &path).unwrap();
    let out = env
        .pw()
        .args(["set", "k"])
        .write_stdin(SECRET)
        .output()
        .unwrap();
    let line = assert_error(&out, 4, &[SECRET, PASS]);
    assert!(line.contains("looks tampered with"), "{line}");
}

#[test]
fn plain_init_takes_the_flag_or_the_variable_and_no_key_options() {
    let env = Env::new();
    env.cmd()
        .env("VAULTS_PLAIN", "1")
        .args(["--json", "init"])
        .assert()
        .success()
        .stdout(predicates::str::contains(r#""kind":"plain""#));
    env.cmd()
        .args(["set", "k"])
        .write_stdin("v")
        .assert()
        .success();
    for args in [
        &["--vault", "b", "init", "--plain", "--keyring"][..],
        &["--vault", "b", "init", "--plain", "--kdf-time", "4"],
    ] {
        let out = env.cmd().args(args).output().unwrap();
        assert_error(&out, 2, &[]);
    }
}

/// The account of the first keyring slot of vault `name`.
fn keyring_account(env: &Env, name: &str) -> String {
    let slots = env.json(["--vault", name, "slots"]);
    slots
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "keyring")
        .and_then(|s| s["account"].as_str())
        .unwrap()
        .to_owned()
}

fn meta(path: &Path, name: &str) -> Vec<u8> {
    let conn = Connection::open(path).unwrap();
    conn.query_row("SELECT value FROM meta WHERE name = ?1", [name], |r| {
        r.get(0)
    })
    .unwrap()
}

fn meta_put(path: &Path, name: &str, value: &[u8]) {
    let conn = Connection::open(path).unwrap();
    conn.execute(
        "INSERT OR REPLACE INTO meta (name, value) VALUES (?1, ?2)",
        (name, value),
    )
    .unwrap();
}

/// Item 8: a keyring slot record copied from vault `b` into the default
/// vault made `destroy` delete b's keyring secret.
#[test]
fn destroy_leaves_another_vaults_keyring_secret() {
    let env = Env::new();
    env.init();
    let out = env
        .pw()
        .args([
            "--vault",
            "b",
            "init",
            "--keyring",
            "--kdf-memory",
            "19",
            "--kdf-time",
            "2",
        ])
        .output()
        .unwrap();
    if keyring_unusable(&out) {
        return;
    }
    assert_success(&out);
    let b = env.dir.join("b.db");
    let account = keyring_account(&env, "b");
    let slot = (1..10)
        .map(|id| format!("slot.{id:010}"))
        .find(|name| String::from_utf8_lossy(&meta(&b, name)).contains(&account))
        .unwrap();
    meta_put(&env.vault_path(), "slot.0000000099", &meta(&b, &slot));

    env.cmd().args(["destroy", "--force"]).assert().success();
    assert!(!env.vault_path().exists());
    // b still unlocks through its keyring slot, with no passphrase.
    env.cmd().args(["--vault", "b", "ls"]).assert().success();
    env.cmd()
        .args(["--vault", "b", "destroy", "--force"])
        .assert()
        .success();
}

/// Runs `vaults --vault b lock` when dropped.
struct LockB<'a>(&'a Env);

impl Drop for LockB<'_> {
    fn drop(&mut self) {
        let _ = self.0.cmd().args(["--vault", "b", "lock"]).output();
    }
}

/// Item 8: a vault whose id was set to another vault's made `destroy`
/// forget that vault's cached unlock key.
#[test]
fn destroy_leaves_another_vaults_cached_key() {
    let env = Env::new();
    env.init();
    env.pw()
        .args([
            "--vault",
            "b",
            "init",
            "--kdf-memory",
            "19",
            "--kdf-time",
            "2",
        ])
        .assert()
        .success();
    let out = env.pw().args(["--vault", "b", "unlock"]).output().unwrap();
    if keyring_unusable(&out) {
        return;
    }
    assert_success(&out);
    let _guard = LockB(&env);
    let b = env.dir.join("b.db");
    meta_put(&env.vault_path(), "vault_id", &meta(&b, "vault_id"));

    env.cmd().args(["destroy", "--force"]).assert().success();
    // b is still unlocked.
    env.cmd().args(["--vault", "b", "ls"]).assert().success();
    env.cmd().args(["--vault", "b", "lock"]).assert().success();
}
