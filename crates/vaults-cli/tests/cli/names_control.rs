//! Entry names with control characters (NUL, newline, escape codes): refused
//! wherever a name is written, in the library and so in the CLI; names that
//! an older version let in stay listable, escaped, and removable.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::cli_util;

use std::time::Duration;

use cli_util::{Env, assert_error, assert_success};
use vaults::{Error, Store, Vault};

/// Names no write may create: C0 (NUL, newline, tab, escape), DEL, C1.
const BAD: [&str; 7] = [
    "a\0b",
    "a\nb",
    "tab\there",
    "\x1b[31mred",
    "del\x7f",
    "next\u{85}line",
    "csi\u{9b}2J",
];

fn refused<T: std::fmt::Debug>(result: vaults::Result<T>, name: &str) {
    match result {
        Err(e @ Error::InvalidName { .. }) => {
            assert!(!e.to_string().contains(name), "the name in: {e}");
            assert!(e.to_string().contains("control character"), "{e}");
        }
        other => panic!("{name:?} was not refused: {other:?}"),
    }
}

/// Regression: names with newlines, escape codes or NUL were stored.
#[test]
fn every_write_refuses_control_characters_in_names() {
    let vault = Vault::open_in_memory().unwrap();
    let day = Duration::from_secs(86_400);
    for name in BAD {
        refused(vault.put(name, &1), name);
        refused(vault.put_with_ttl(name, &1, day), name);
        refused(vault.put_with(name, &1, vaults::Expiry::Keep), name);
        refused(vault.put_bytes(name, b"1"), name);
        refused(
            vault.put_bytes_with(name, b"1", vaults::Expiry::After(day)),
            name,
        );
        refused(vault.put_many([("ok", 1), (name, 2)]), name);
        refused(vault.put_many_bytes([(name, b"2")]), name);
        refused(vault.get_or_insert(name, 1), name);
        refused(vault.transaction(|tx| tx.put(name, &1)), name);
    }
    assert!(vault.is_empty().unwrap(), "nothing half-written");
    // Everything else a name may hold still goes in.
    for name in ["a b", "ключ", "emoji 🔑", "back\\slash", "\u{202e}rtl"] {
        vault.put(name, &1).unwrap();
    }
}

/// A plain vault with entries stored by an older version under `names`
/// (written into the file directly, as that version would have).
fn vault_with_old_names(names: &[&str]) -> Env {
    let env = Env::new();
    env.init_plain();
    let conn = rusqlite::Connection::open(env.vault_path()).unwrap();
    for name in names {
        // The CBOR text "x".
        conn.execute(
            "INSERT INTO entries (key, name, expires_at, value) VALUES (?1, NULL, NULL, X'6178')",
            [name.as_bytes()],
        )
        .unwrap();
    }
    env
}

/// Regression: `ls` printed names raw (`a\nb` looked like two entries, an
/// escape code reached the terminal).
#[test]
fn ls_prints_odd_names_escaped_and_they_stay_reachable() {
    let env = vault_with_old_names(&["a\nb", "a\0b", "\x1b[2Jx", "\u{202e}txt.exe"]);
    env.cmd()
        .args(["set", "plain"])
        .write_stdin("y")
        .assert()
        .success();
    env.cmd()
        .args(["set", "back\\slash"])
        .write_stdin("y")
        .assert()
        .success();
    let out = env.cmd().arg("ls").output().unwrap();
    assert_success(&out);
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "\"\\u{1b}[2Jx\"\n\"a\\0b\"\n\"a\\nb\"\n\"back\\\\slash\"\nplain\n\"\\u{202e}txt.exe\"\n"
    );
    // --long pads by the escaped form.
    let out = env.cmd().args(["ls", "--long"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let line = text.lines().find(|l| l.starts_with("\"a\\nb\" ")).unwrap();
    assert_eq!(
        line.len(),
        "\"\\u{202e}txt.exe\"".len() + "  never".len(),
        "{text}"
    );
    // --json has its own escaping.
    let names = env.json(["ls"]);
    assert_eq!(names[2], "a\nb");

    // A newline comes through argv: `get` and `rm` reach the entry.
    let out = env.cmd().args(["get", "-n", "a\nb"]).output().unwrap();
    assert_success(&out);
    assert_eq!(out.stdout, b"x");
    assert_success(&env.cmd().args(["rm", "a\nb"]).output().unwrap());
    // A NUL cannot: `--escaped` takes the name as `ls` prints it.
    let out = env
        .cmd()
        .args(["get", "-n", "--escaped", "\"a\\0b\""])
        .output()
        .unwrap();
    assert_success(&out);
    assert_eq!(out.stdout, b"x");
    assert_success(
        &env.cmd()
            .args(["rm", "--escaped", "\"a\\0b\"", "\"\\u{1b}[2Jx\"", "plain"])
            .output()
            .unwrap(),
    );
    let out = env.cmd().arg("ls").output().unwrap();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "\"back\\\\slash\"\n\"\\u{202e}txt.exe\"\n"
    );
    // A malformed escaped name is a usage error.
    let out = env
        .cmd()
        .args(["rm", "--escaped", "\"a\\q\""])
        .output()
        .unwrap();
    assert_error(&out, 2, &[]);
}

/// Regression: `set` stored a name holding an escape code.
#[test]
fn the_cli_refuses_control_characters_in_new_names() {
    let env = Env::new();
    env.init_plain();
    for name in ["a\nb", "\x1b]0;title\x07", "x\u{9b}"] {
        let out = env
            .cmd()
            .args(["set", name])
            .write_stdin("v")
            .output()
            .unwrap();
        let err = assert_error(&out, 2, &[]);
        assert!(err.contains("control character"), "{err}");
    }
    let doc = r#"{"format": "vaults-export", "version": 1, "entries": [
        {"name": "fine", "encoding": "text", "value": "1"},
        {"name": "bad\u001b[0m", "encoding": "text", "value": "2"}]}"#;
    let file = env.write("import.json", doc);
    let out = env.cmd().arg("import").arg(&file).output().unwrap();
    let err = assert_error(&out, 2, &[]);
    assert!(err.contains("entry 2 of the export"), "{err}");
    assert!(env.names().is_empty(), "the import is all or nothing");
}
