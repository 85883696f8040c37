//! Repair (issue item 6): a row planted from another vault, or edited, made
//! `ls`, `export`, `exec` and `rotate` fail with nothing to remove it.
//! `vaults doctor` lists such rows by rowid and deletes them once confirmed;
//! `rotate --drop-unreadable` deletes them inside the rotation. The reads
//! keep failing loudly, pointing to `doctor`.
//!
//! Real binary, real files; the attacker's edits are SQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::cli_util;

use cli_util::*;
use vaults_test_support::encrypted::{Raw, Row, insert_row, raw, row_count, rows, write_row};

/// Our vault with two entries, and a row of another vault (same
/// passphrase, an entry named `theirs-name`) planted into it. Returns our
/// env and the planted row's rowid.
fn planted() -> (Env, i64) {
    let ours = Env::new();
    ours.init()
        .set("db/password", "ours-1", &[])
        .set("api/token", "ours-2", &[]);
    let theirs = Env::new();
    theirs.init().set("theirs-name", "theirs-secret", &[]);
    let their_row = rows(&raw(&theirs.vault_path())).remove(0);
    let conn = raw(&ours.vault_path());
    insert_row(&conn, &their_row);
    let rowid = conn.last_insert_rowid();
    (ours, rowid)
}

fn count(conn: &Raw) -> i64 {
    row_count(conn)
}

/// The rowid and row of the entry at table position `n` (insertion order).
fn nth(conn: &Raw, n: usize) -> (i64, Row) {
    let rowid = conn.query_i64(
        "SELECT rowid FROM entries ORDER BY rowid LIMIT 1 OFFSET ?1",
        &[(n as i64).into()],
    );
    (rowid, rows(conn).remove(n))
}

#[test]
fn reads_and_rotate_keep_failing_and_point_to_doctor() {
    let (env, _) = planted();
    for args in [
        &["ls"][..],
        &["export", "--plaintext"],
        &["exec", "--", "true"],
        &["rotate"],
    ] {
        let out = env.pw().args(args).output().unwrap();
        let line = assert_error(&out, 4, &[PASS, "theirs-name", "theirs-secret"]);
        assert!(line.contains("integrity check failed"), "{args:?}: {line}");
        assert!(
            line.contains("`vaults doctor` lists and deletes unreadable rows"),
            "{args:?}: {line}"
        );
    }
    let out = env.pw().arg("rotate").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("`vaults rotate --drop-unreadable`"));
}

#[test]
fn doctor_lists_then_deletes_only_when_confirmed() {
    let (env, planted) = planted();
    let before = count(&raw(&env.vault_path()));

    // No terminal, no --yes: listed, nothing deleted, exit 4.
    let out = env.pw().arg("doctor").output().unwrap();
    let line = assert_error(&out, 4, &[PASS, "theirs", "ours", "db/password"]);
    assert_eq!(
        line,
        "vaults: 1 unreadable row left; nothing deleted (run `vaults doctor --yes` to delete)"
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("row {planted}: its sealed name and value fail to open\n")
    );
    assert_eq!(count(&raw(&env.vault_path())), before);

    // --yes: deleted; every read works again.
    let out = env.pw().args(["doctor", "--yes"]).output().unwrap();
    assert_success(&out);
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!(
            "row {planted}: its sealed name and value fail to open\ndeleted 1 unreadable row\n"
        )
    );
    assert_eq!(count(&raw(&env.vault_path())), before - 1);
    assert_eq!(env.names(), ["api/token", "db/password"]);
    assert_eq!(env.get("db/password"), b"ours-1");

    // Healthy: exit 0.
    assert_eq!(env.stdout(["doctor"]), "no unreadable rows\n");
    assert_eq!(
        env.json(["doctor"]),
        serde_json::json!({"unreadable": [], "deleted": []})
    );
}

#[test]
fn doctor_names_what_failed_for_flipped_and_relabelled_rows() {
    let env = Env::new();
    env.init()
        .set("a", "value-a", &[])
        .set("b", "value-b", &[])
        .set("c", "value-c", &[])
        .set("d", "value-d", &[]);
    let conn = raw(&env.vault_path());
    // a: a bit of the sealed value flipped.
    let (id_a, mut a) = nth(&conn, 0);
    let last = a.value.len() - 1;
    a.value[last] ^= 1;
    write_row(&conn, &a);
    // b: a bit of the sealed name flipped.
    let (id_b, mut b) = nth(&conn, 1);
    let name = b.name.as_mut().unwrap();
    let last = name.len() - 1;
    name[last] ^= 1;
    write_row(&conn, &b);
    // c: the sealed name relabelled with generation 7 (bytes 1..5).
    let (id_c, mut c) = nth(&conn, 2);
    c.name.as_mut().unwrap()[1..5].copy_from_slice(&7u32.to_be_bytes());
    write_row(&conn, &c);
    drop(conn);

    let out = env
        .pw()
        .args(["--json", "doctor", "--yes"])
        .output()
        .unwrap();
    assert_success(&out);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        doc,
        serde_json::json!({
            "unreadable": [
                {"row": id_a, "name_fails": false, "value_fails": true, "other_generation": null, "too_large": false},
                {"row": id_b, "name_fails": true, "value_fails": false, "other_generation": null, "too_large": false},
                {"row": id_c, "name_fails": true, "value_fails": false, "other_generation": 7, "too_large": false},
            ],
            "deleted": [id_a, id_b, id_c],
        })
    );
    let text = String::from_utf8(out.stdout).unwrap();
    for secret in ["value-", "\"a\"", "\"d\""] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    assert_eq!(env.names(), ["d"]);
}

#[test]
fn rotate_drop_unreadable_rotates_past_planted_rows() {
    let (env, planted) = planted();
    let out = env
        .pw()
        .args(["rotate", "--drop-unreadable"])
        .output()
        .unwrap();
    assert_success(&out);
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "rotated vault \"default\": key generation 2; 1 unreadable row deleted\n"
    );
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        format!(
            "vaults: deleted unreadable row {planted}: its sealed name and value fail to open\n"
        )
    );
    assert_eq!(env.names(), ["api/token", "db/password"]);
    assert_eq!(env.get("api/token"), b"ours-2");
    assert_eq!(env.stdout(["doctor"]), "no unreadable rows\n");

    // Nothing to drop: same as a plain rotate, in JSON too.
    assert_eq!(
        env.json(["rotate", "--drop-unreadable"]),
        serde_json::json!({"generation": 3, "dropped": [], "old_key_material_may_remain": false})
    );
}

#[test]
fn doctor_on_a_plain_vault_finds_nothing() {
    let env = Env::new();
    env.init_plain().set("k", "v", &[]);
    assert_eq!(env.stdout(["doctor"]), "no unreadable rows\n");
}

/// Our vault with entries `a` and `b`, and a planted row whose value is
/// longer (70 MiB) than our connections let SQLite read (67 MiB); plain
/// rusqlite (1 GB) writes it. Returns the env and the planted rowid.
fn planted_oversized() -> (Env, i64) {
    let env = Env::new();
    env.init().set("a", "value-a", &[]).set("b", "value-b", &[]);
    let conn = raw(&env.vault_path());
    conn.execute(
        "INSERT INTO entries (key, name, expires_at, value) \
         VALUES (randomblob(32), randomblob(64), NULL, zeroblob(?1))",
        [70i64 << 20],
    )
    .unwrap();
    (env, conn.last_insert_rowid())
}

/// Regression: the oversized row came back from SQLite as TooBig, and
/// `doctor` exited 1 instead of listing and deleting it.
#[test]
fn doctor_lists_and_deletes_a_row_too_large_to_read() {
    let (env, planted) = planted_oversized();
    let out = env.pw().arg("doctor").output().unwrap();
    assert_error(&out, 4, &[PASS]);
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("row {planted}: too large to open\n")
    );
    assert_eq!(count(&raw(&env.vault_path())), 3);

    let out = env
        .pw()
        .args(["--json", "doctor", "--yes"])
        .output()
        .unwrap();
    assert_success(&out);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        doc,
        serde_json::json!({
            "unreadable": [
                {"row": planted, "name_fails": true, "value_fails": true, "other_generation": null, "too_large": true},
            ],
            "deleted": [planted],
        })
    );
    assert_eq!(count(&raw(&env.vault_path())), 2);
    assert_eq!(env.names(), ["a", "b"]);
    assert_eq!(env.stdout(["doctor"]), "no unreadable rows\n");
}

/// Regression: `rotate --drop-unreadable` exited 1 on the oversized row.
#[test]
fn rotate_drop_unreadable_rotates_past_a_row_too_large_to_read() {
    let (env, planted) = planted_oversized();
    let out = env
        .pw()
        .args(["rotate", "--drop-unreadable"])
        .output()
        .unwrap();
    assert_success(&out);
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "rotated vault \"default\": key generation 2; 1 unreadable row deleted\n"
    );
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        format!("vaults: deleted unreadable row {planted}: too large to open\n")
    );
    assert_eq!(count(&raw(&env.vault_path())), 2);
    assert_eq!(env.names(), ["a", "b"]);
    assert_eq!(env.get("b"), b"value-b");
}
