//! Repair through the library (issue item 6): `unreadable_rows` lists the
//! rows that fail to open, `drop_unreadable` deletes those that still fail
//! under the write lock, `rotate_dropping_unreadable` rotates past them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use vaults::{Error, Integrity, ManualClock, Store, UnreadableRow};
use vaults_test_support::encrypted::*;

const PASS: &str = "pass-XYZZY correct horse";

/// A closed vault with entries `a`, `b` (expiring in an hour) and `c`, and
/// a connection to its file.
fn three_entries() -> (tempfile::TempDir, std::path::PathBuf, ManualClock) {
    let (dir, path) = temp_path();
    let clock = ManualClock::new(T0);
    let vault = create(&path, PASS, &clock).unwrap();
    vault.put("a", "value-a-XYZZY").unwrap();
    vault
        .put_with_ttl("b", "value-b-XYZZY", Duration::from_secs(3600))
        .unwrap();
    vault.put("c", "value-c-XYZZY").unwrap();
    vault.close().unwrap();
    (dir, path, clock)
}

fn rowid_of(path: &std::path::Path, n: i64) -> i64 {
    raw(path).query_i64(
        "SELECT rowid FROM entries ORDER BY rowid LIMIT 1 OFFSET ?1",
        &[n.into()],
    )
}

/// Flips the last bit of the value of the row at table position `n`.
fn flip_value(path: &std::path::Path, n: usize) {
    let conn = raw(path);
    let mut row = rows(&conn).remove(n);
    let last = row.value.len() - 1;
    row.value[last] ^= 1;
    write_row(&conn, &row);
}

#[test]
fn unreadable_rows_lists_what_failed_and_nothing_else() -> TestResult {
    let (_dir, path, clock) = three_entries();
    flip_value(&path, 0);
    let a = rowid_of(&path, 0);
    // b's expiry moved into the past: expired, and its seal no longer
    // matches; it is listed too (and deleting it only deletes early).
    let b = rowid_of(&path, 1);
    raw(&path).exec(
        "UPDATE entries SET expires_at = 1 WHERE rowid = ?1",
        &[b.into()],
    );
    let vault = open(&path, PASS, &clock)?;
    let found = vault.unreadable_rows()?;
    assert_eq!(found.len(), 2);
    assert_eq!(
        (found[0].rowid, found[0].name_fails, found[0].value_fails),
        (a, false, true)
    );
    assert_eq!(
        (found[1].rowid, found[1].name_fails, found[1].value_fails),
        (b, true, true)
    );
    assert_eq!(
        found[0].to_string(),
        format!("row {a}: its sealed value fails to open")
    );
    let shown = format!("{found:?} {}", found[1]);
    assert!(
        !shown.contains("XYZZY") && !shown.contains("value-"),
        "{shown}"
    );
    assert_integrity(vault.get::<String>("a"), Integrity::Entry);
    Ok(())
}

#[test]
fn drop_unreadable_checks_again_under_the_write_lock() -> TestResult {
    let (_dir, path, clock) = three_entries();
    flip_value(&path, 0);
    flip_value(&path, 2);
    let vault = open(&path, PASS, &clock)?;
    let found: Vec<i64> = vault.unreadable_rows()?.iter().map(|r| r.rowid).collect();
    assert_eq!(found.len(), 2);
    // Meanwhile `c` is written again (same live row, same rowid): it opens
    // now, and must not be dropped.
    vault.put("c", "new-c")?;
    let missing = 1_000_000;
    let mut asked = found.clone();
    asked.push(missing);
    let dropped: Vec<UnreadableRow> = vault.drop_unreadable(&asked)?;
    assert_eq!(
        dropped.iter().map(|r| r.rowid).collect::<Vec<_>>(),
        [found[0]]
    );
    assert!(vault.unreadable_rows()?.is_empty());
    assert_eq!(vault.keys()?, ["b", "c"]);
    assert_eq!(vault.get::<String>("c")?.as_deref(), Some("new-c"));
    Ok(())
}

#[test]
fn rotate_dropping_unreadable_deletes_them_in_the_rotation() -> TestResult {
    let (_dir, path, clock) = three_entries();
    flip_value(&path, 1);
    let b = rowid_of(&path, 1);
    let mut vault = open(&path, PASS, &clock)?;
    let slot = vault.unlocked_slot();
    // A plain rotate refuses, and changes nothing.
    assert_integrity(
        vault.rotate(&[(slot, &pass(PASS))], |_| {}),
        Integrity::Entry,
    );
    assert_eq!(vault.generation(), 1);
    let (change, dropped) = vault.rotate_dropping_unreadable(&[(slot, &pass(PASS))], |_| {})?;
    assert_eq!(dropped.iter().map(|r| r.rowid).collect::<Vec<_>>(), [b]);
    // A server keeps old row versions until VACUUM (and in its WAL): it
    // says so; a file with no other connection has nothing old left.
    assert_eq!(
        change.old_material_may_remain(),
        vaults_test_support::on_server()
    );
    assert_eq!(vault.generation(), 2);
    assert_eq!(vault.keys()?, ["a", "c"]);
    drop(vault);
    let vault = open(&path, PASS, &clock)?;
    assert_eq!(vault.get::<String>("a")?.as_deref(), Some("value-a-XYZZY"));
    assert!(vault.unreadable_rows()?.is_empty());
    Ok(())
}

#[test]
fn a_stale_handle_gets_key_rotated_not_a_list_of_every_row() -> TestResult {
    let (_dir, path, clock) = three_entries();
    let stale = open(&path, PASS, &clock)?;
    let mut other = open(&path, PASS, &clock)?;
    let slot = other.unlocked_slot();
    let _ = other.rotate(&[(slot, &pass(PASS))], |_| {})?;
    assert!(matches!(stale.unreadable_rows(), Err(Error::KeyRotated)));
    assert!(matches!(
        stale.drop_unreadable(&[1]),
        Err(Error::KeyRotated)
    ));
    assert_eq!(other.keys()?.len(), 3);
    Ok(())
}

/// Just over the 67 MiB that our connections let SQLite read in one column
/// (`SQLITE_LIMIT_LENGTH`); a plain rusqlite connection (1 GB) writes it.
const OVERSIZED: i64 = 70 << 20;

/// Plants a row with these SQL expressions as its sealed name and value
/// (`?1` is [`OVERSIZED`]); returns its rowid. `zeroblob` keeps it cheap.
fn plant_oversized(path: &std::path::Path, name: &str, value: &str) -> i64 {
    let conn = raw(path);
    conn.execute(
        &format!(
            "INSERT INTO entries (key, name, expires_at, value) \
             VALUES (randomblob(32), {name}, NULL, {value})"
        ),
        [OVERSIZED],
    )
    .unwrap();
    conn.last_insert_rowid()
}

/// Regression: a planted name or value longer than SQLite's length limit
/// made `unreadable_rows` fail (SQLite's TooBig, as `Corrupt`), so the
/// repair meant to remove it could not run.
#[test]
fn rows_too_large_to_read_are_listed_and_dropped_unread() -> TestResult {
    let (_dir, path, clock) = three_entries();
    let big_value = plant_oversized(&path, "randomblob(64)", "zeroblob(?1)");
    let big_name = plant_oversized(&path, "zeroblob(?1)", "randomblob(64)");
    let vault = open(&path, PASS, &clock)?;
    let found = vault.unreadable_rows()?;
    assert_eq!(
        found.iter().map(ToString::to_string).collect::<Vec<_>>(),
        [
            format!("row {big_value}: too large to open"),
            format!("row {big_name}: too large to open"),
        ]
    );
    let dropped = vault.drop_unreadable(&[big_value, big_name])?;
    assert_eq!(dropped, found);
    assert!(vault.unreadable_rows()?.is_empty());
    assert_eq!(vault.keys()?, ["a", "b", "c"]);
    assert_eq!(
        raw(&path).query_row("SELECT count(*) FROM entries", [], |r| r.get::<_, i64>(0))?,
        3
    );
    Ok(())
}

/// Regression: `rotate_dropping_unreadable` failed on a row too large to
/// read instead of deleting it; a plain rotate refuses it as unreadable.
#[test]
fn rotate_dropping_unreadable_deletes_a_row_too_large_to_read() -> TestResult {
    let (_dir, path, clock) = three_entries();
    let big = plant_oversized(&path, "randomblob(64)", "zeroblob(?1)");
    let mut vault = open(&path, PASS, &clock)?;
    let slot = vault.unlocked_slot();
    assert_integrity(
        vault.rotate(&[(slot, &pass(PASS))], |_| {}),
        Integrity::Entry,
    );
    assert_eq!(vault.generation(), 1);
    let mut last = None;
    let (_change, dropped) =
        vault.rotate_dropping_unreadable(&[(slot, &pass(PASS))], |p| last = Some(p))?;
    assert_eq!(dropped.iter().map(|r| r.rowid).collect::<Vec<_>>(), [big]);
    let last = last.unwrap();
    assert_eq!((last.done, last.total), (3, 3));
    assert_eq!(vault.generation(), 2);
    drop(vault);
    let vault = open(&path, PASS, &clock)?;
    assert_eq!(vault.keys()?, ["a", "b", "c"]);
    assert_eq!(vault.get::<String>("c")?.as_deref(), Some("value-c-XYZZY"));
    assert!(vault.unreadable_rows()?.is_empty());
    Ok(())
}
