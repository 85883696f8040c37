//! Edited entry rows: values and names swapped between rows or vaults, a
//! relabelled generation, flipped bits, cut or garbage blobs, odd column types.

use super::*;

#[test]
fn values_swapped_between_names_fail_as_entries() -> TestResult {
    let b = two_entries();
    let conn = raw(&b.path);
    let (mut ra, mut rb) = (row(&conn, b.key("a-XYZZY")), row(&conn, b.key("b-XYZZY")));
    std::mem::swap(&mut ra.value, &mut rb.value);
    write_row(&conn, &ra);
    write_row(&conn, &rb);
    let tampered = rows(&conn);
    drop(conn);

    let mut vault = b.open()?;
    for name in ["a-XYZZY", "b-XYZZY"] {
        expect_integrity(vault.get::<String>(name), Integrity::Entry);
        expect_integrity(vault.get_bytes(name), Integrity::Entry);
        expect_integrity(vault.get_ex::<String>(name, HOUR), Integrity::Entry);
        expect_integrity(vault.pop::<String>(name), Integrity::Entry);
        expect_integrity(vault.pop::<String>(name), Integrity::Entry);
        expect_integrity(vault.get_or_insert(name, "x".to_owned()), Integrity::Entry);
    }
    expect_integrity(vault.items::<String>(), Integrity::Entry);
    expect_integrity(vault.values::<String>(), Integrity::Entry);
    expect_integrity(
        vault.get_many::<String, _, _>(["a-XYZZY"]),
        Integrity::Entry,
    );
    expect_integrity(
        vault.pop_many::<String, _, _>(["a-XYZZY"]),
        Integrity::Entry,
    );
    expect_integrity(vault.pop_item::<String>(), Integrity::Entry);
    let first = vault.iter::<String>().next().expect("an item");
    expect_integrity(first, Integrity::Entry);
    // Names were not touched: listing works.
    assert_eq!(vault.keys()?, ["a-XYZZY", "b-XYZZY"]);
    // A failed pop leaves the row where it was.
    assert_eq!(vault.len()?, 2);
    // A rotation refuses to launder the swapped values, and changes nothing.
    let slot = vault.unlocked_slot();
    expect_integrity(
        vault.rotate(&[(slot, &pass(PASS))], |_| {}),
        Integrity::Entry,
    );
    assert_eq!(vault.generation(), 1);
    drop(vault);
    assert_eq!(rows(&raw(&b.path)), tampered, "nothing was rewritten");
    Ok(())
}

#[test]
fn names_swapped_between_rows_fail_as_names() -> TestResult {
    let b = two_entries();
    let conn = raw(&b.path);
    let (mut ra, mut rb) = (row(&conn, b.key("a-XYZZY")), row(&conn, b.key("b-XYZZY")));
    std::mem::swap(&mut ra.name, &mut rb.name);
    write_row(&conn, &ra);
    write_row(&conn, &rb);
    drop(conn);

    let mut vault = b.open()?;
    expect_integrity(vault.keys(), Integrity::Name);
    expect_integrity(vault.items::<String>(), Integrity::Name);
    expect_integrity(vault.pop_item::<String>(), Integrity::Name);
    let first = vault.iter::<String>().next().expect("an item");
    expect_integrity(first, Integrity::Name);
    // A lookup by name never reads the sealed name: each value is still the
    // right one for its name (never the other's).
    assert_eq!(
        vault.get::<String>("a-XYZZY")?.as_deref(),
        Some("value-a-XYZZY")
    );
    assert_eq!(
        vault.get::<String>("b-XYZZY")?.as_deref(),
        Some("value-b-XYZZY")
    );
    let slot = vault.unlocked_slot();
    expect_integrity(
        vault.rotate(&[(slot, &pass(PASS))], |_| {}),
        Integrity::Name,
    );
    assert_eq!(vault.generation(), 1);
    Ok(())
}

#[test]
fn a_row_from_another_vault_fails() -> TestResult {
    // Same passphrase, same entry name, different vault id (and vault key).
    let ours = build(&[
        ("shared-XYZZY", "ours-XYZZY", None),
        ("own-XYZZY", "own-value-XYZZY", None),
    ]);
    let theirs = build(&[("shared-XYZZY", "theirs-XYZZY", None)]);
    let their_row = row(&raw(&theirs.path), theirs.key("shared-XYZZY"));
    let pristine = snapshot(&ours.path);

    // 1. Their sealed name and value, moved onto our row for the same name.
    let conn = raw(&ours.path);
    let mut moved = row(&conn, ours.key("shared-XYZZY"));
    moved.name = their_row.name.clone();
    moved.value = their_row.value.clone();
    write_row(&conn, &moved);
    drop(conn);
    let vault = ours.open()?;
    expect_integrity(vault.get::<String>("shared-XYZZY"), Integrity::Entry);
    expect_integrity(vault.keys(), Integrity::Name);
    assert_eq!(
        vault.get::<String>("own-XYZZY")?.as_deref(),
        Some("own-value-XYZZY")
    );
    drop(vault);

    // 2. Their whole row, inserted as is (under their stored key).
    restore(&ours.path, &pristine);
    insert_row(&raw(&ours.path), &their_row);
    let vault = ours.open()?;
    assert_eq!(
        vault.get::<String>("shared-XYZZY")?.as_deref(),
        Some("ours-XYZZY"),
        "their row is not reachable under our index"
    );
    expect_integrity(vault.keys(), Integrity::Name);
    expect_integrity(vault.items::<String>(), Integrity::Name);
    Ok(())
}

#[test]
fn a_relabelled_generation_is_integrity_not_key_rotated() -> TestResult {
    let b = two_entries();
    let conn = raw(&b.path);
    let original_a = row(&conn, b.key("a-XYZZY"));
    let original_b = row(&conn, b.key("b-XYZZY"));
    assert_eq!(
        &original_a.value[..5],
        &[1, 0, 0, 0, 1],
        "version 1, generation 1"
    );
    drop(conn);
    let vault = b.open()?;

    let conn = raw(&b.path);
    for generation in [0u32, 2, 7, u32::MAX] {
        // The value envelope's generation field: bytes 1..5.
        let mut r = original_a.clone();
        r.value[1..5].copy_from_slice(&generation.to_be_bytes());
        write_row(&conn, &r);
        expect_integrity(vault.get::<String>("a-XYZZY"), Integrity::Entry);
        write_row(&conn, &original_a);

        // The sealed name's generation field.
        let mut r = original_b.clone();
        r.name.as_mut().expect("a sealed name")[1..5].copy_from_slice(&generation.to_be_bytes());
        write_row(&conn, &r);
        expect_integrity(vault.keys(), Integrity::Name);
        write_row(&conn, &original_b);
    }
    assert_eq!(vault.generation(), 1);
    assert_eq!(
        vault.get::<String>("a-XYZZY")?.as_deref(),
        Some("value-a-XYZZY")
    );
    Ok(())
}

/// Flips every bit of a stored blob in turn (nonce, ciphertext, tag, and the
/// header), writing each flip through rusqlite under the open handle (reads
/// never cache), and checks `read` fails every time.
fn flip_every_bit(
    path: &Path,
    original: &Row,
    in_name: bool,
    mut read_fails: impl FnMut() -> bool,
) -> usize {
    let conn = raw(path);
    let blob = match in_name {
        true => original.name.clone().expect("a sealed name"),
        false => original.value.clone(),
    };
    let mut flips = 0;
    for bit in 0..blob.len() * 8 {
        let mut edited = blob.clone();
        edited[bit / 8] ^= 1 << (bit % 8);
        let mut r = original.clone();
        match in_name {
            true => r.name = Some(edited),
            false => r.value = edited,
        }
        write_row(&conn, &r);
        assert!(read_fails(), "bit {bit} flipped and still opened");
        flips += 1;
    }
    write_row(&conn, original);
    flips
}

#[test]
fn every_bit_flip_in_a_value_fails() -> TestResult {
    let value = format!("{MARKER}-{}", "v".repeat(94)); // 100 chars, 102 bytes of CBOR
    let b = build(&[("a-XYZZY", &value, Some(HOUR))]);
    let original = row(&raw(&b.path), b.key("a-XYZZY"));
    // 1 + 4 + 24 header, 128 padded, 16 tag.
    assert_eq!(original.value.len(), 173);
    let vault = b.open()?;
    let flips = flip_every_bit(&b.path, &original, false, || {
        match vault.get::<String>("a-XYZZY") {
            Err(e @ Error::Integrity(Integrity::Entry)) => {
                assert_names_no_secret(&e, &[MARKER]);
                true
            }
            other => panic!("expected Integrity(Entry), got {other:?}"),
        }
    });
    assert!(flips >= 1_000, "{flips} bit positions");
    assert_eq!(vault.get::<String>("a-XYZZY")?, Some(value));
    Ok(())
}

#[test]
fn every_bit_flip_in_a_name_fails() -> TestResult {
    let b = build(&[("a-XYZZY", "value-XYZZY", None)]);
    let original = row(&raw(&b.path), b.key("a-XYZZY"));
    let vault = b.open()?;
    let flips = flip_every_bit(&b.path, &original, true, || {
        matches!(vault.keys(), Err(Error::Integrity(Integrity::Name)))
    });
    assert_eq!(flips, 77 * 8);
    assert_eq!(vault.keys()?, ["a-XYZZY"]);
    Ok(())
}

#[test]
fn truncated_extended_or_garbage_blobs_fail() -> TestResult {
    let b = build(&[("a-XYZZY", "value-XYZZY", None)]);
    let original = row(&raw(&b.path), b.key("a-XYZZY"));
    let vault = b.open()?;
    let conn = raw(&b.path);
    let mut variants: Vec<Vec<u8>> = (0..original.value.len())
        .map(|n| original.value[..n].to_vec())
        .collect();
    for extra in [&[0u8][..], &[0; 16], &[0xff; 32]] {
        variants.push([&original.value[..], extra].concat());
    }
    variants.push(vec![0; original.value.len()]);
    variants.push(vec![0xff; 4096]);
    for value in variants {
        write_row(
            &conn,
            &Row {
                value: value.clone(),
                ..original.clone()
            },
        );
        expect_integrity(vault.get::<String>("a-XYZZY"), Integrity::Entry);
        write_row(
            &conn,
            &Row {
                name: Some(value),
                ..original.clone()
            },
        );
        expect_integrity(vault.keys(), Integrity::Name);
    }
    write_row(
        &conn,
        &Row {
            name: None,
            ..original.clone()
        },
    );
    expect_integrity(vault.keys(), Integrity::Name);
    Ok(())
}

#[test]
fn odd_column_types_are_errors_not_panics() -> TestResult {
    let b = build(&[("a-XYZZY", "value-XYZZY", None)]);
    let key = b.key("a-XYZZY").to_vec();
    let vault = b.open()?;
    let conn = raw(&b.path);
    let edits = [
        "UPDATE entries SET value = 42 WHERE key = ?1",
        "UPDATE entries SET value = 'text-value' WHERE key = ?1",
        "UPDATE entries SET name = 7 WHERE key = ?1",
        "UPDATE entries SET expires_at = 'soon' WHERE key = ?1",
        "UPDATE entries SET expires_at = 1.5e15 WHERE key = ?1",
    ];
    for sql in edits {
        let backup = row(&conn, &key);
        conn.execute(sql, [&key])?;
        let outcomes = [
            vault.get::<String>("a-XYZZY").map(drop),
            vault.keys().map(drop),
            vault.items::<String>().map(drop),
        ];
        assert!(
            outcomes.iter().any(Result::is_err),
            "{sql}: some read must fail"
        );
        for outcome in outcomes {
            if let Err(e) = outcome {
                assert_names_no_secret(&e, &[MARKER]);
                assert!(
                    matches!(e, Error::Integrity(_) | Error::Corrupt { .. }),
                    "{sql}: {e:?}"
                );
            }
        }
        write_row(&conn, &backup);
    }
    assert_eq!(
        vault.get::<String>("a-XYZZY")?.as_deref(),
        Some("value-XYZZY")
    );
    Ok(())
}
