//! Many entries at once: the batch methods (all or nothing), `get_or_insert`,
//! `clear`, and `destroy`.

use super::*;

#[test]
fn put_many_stores_all_or_nothing() -> TestResult {
    let f = Fixture::new()?;
    let v = &f.vault;
    v.put_many([("a", 1), ("b", 2), ("c", 3)])?;
    assert_eq!(v.items::<i32>()?.len(), 3);

    let long = "x".repeat(1_025);
    for bad in ["", long.as_str()] {
        let err = v
            .put_many([("d", 4), (bad, 5), ("e", 6)])
            .expect_err("an invalid name fails the batch");
        assert!(matches!(err, Error::InvalidName { .. }), "{err:?}");
        assert_eq!(v.keys()?, ["a", "b", "c"]);
    }
    // Overwrites in a batch replace the value and clear an old expiry.
    v.put_with_ttl("a", &100, secs(10))?;
    v.put_many([("a", 10), ("d", 4)])?;
    assert_eq!(v.get::<i32>("a")?, Some(10));
    assert_eq!(v.ttl("a")?, Some(Ttl::Never));
    // An empty batch is fine.
    v.put_many(Vec::<(String, i32)>::new())?;
    assert_eq!(v.len()?, 4);
    Ok(())
}

#[test]
fn bulk_puts_keep_the_last_value_of_a_repeated_name() -> TestResult {
    // Rows are sorted by key in steps of at most 16 MiB before they are
    // written: 10,000 values of 2 KiB make two steps, so the two values of a
    // name land in one step or in two.
    let f = Fixture::new()?;
    let v = &f.vault;
    let value = |i: u32| format!("{i:08}{}", "x".repeat(2040)).into_bytes();
    let items: Vec<_> = (0..10_000u32)
        .rev()
        .map(|i| (format!("k{}", i % 6_000), value(i)))
        .collect();
    v.put_many_bytes(items.iter().map(|(n, b)| (n, b)))?;
    assert_eq!(v.len()?, 6_000);
    // In reverse: the later value of a name is the smaller number.
    for j in 0..6_000u32 {
        let got = v.get_bytes(&format!("k{j}"))?;
        assert_eq!(got.as_deref().map(|b| &b[..]), Some(&value(j)[..]), "k{j}");
    }
    v.put_many_bytes([("raw", &b"first"[..]), ("other", b"x"), ("raw", b"second")])?;
    assert_eq!(
        v.get_bytes("raw")?.as_deref().map(|b| &b[..]),
        Some(&b"second"[..])
    );
    let big = vec![0u8; 64 * 1024 * 1024 + 1];
    let err = v
        .put_many_bytes([("ok", &b"small"[..]), ("big", &big)])
        .unwrap_err();
    assert!(matches!(err, Error::ValueTooLarge { .. }), "{err:?}");
    assert!(!v.contains("ok")?, "put_many_bytes is all or nothing");
    Ok(())
}

#[test]
fn get_many_keeps_the_order_asked() -> TestResult {
    let f = Fixture::new()?;
    let v = &f.vault;
    v.put_many([("a", 1), ("b", 2), ("c", 3)])?;
    assert_eq!(
        v.get_many::<i32, _, _>(["c", "z", "a", "a"])?,
        [Some(3), None, Some(1), Some(1)]
    );
    assert!(v.get_many::<i32, _, _>(Vec::<&str>::new())?.is_empty());
    assert!(matches!(
        v.get_many::<i32, _, _>(["a", ""]),
        Err(Error::InvalidName { .. })
    ));
    assert!(matches!(
        v.get_many::<String, _, _>(["a"]),
        Err(Error::Decode { .. })
    ));
    Ok(())
}

#[test]
fn pop_many_removes_and_returns_atomically() -> TestResult {
    let f = Fixture::new()?;
    let v = &f.vault;
    v.put_many([("a", 1), ("b", 2), ("c", 3)])?;
    assert_eq!(
        v.pop_many::<i32, _, _>(["a", "z", "a"])?,
        [Some(1), None, None]
    );
    assert_eq!(v.keys()?, ["b", "c"]);
    // A value of the wrong type in the middle: nothing is removed.
    v.put("s", "text")?;
    assert!(matches!(
        v.pop_many::<i32, _, _>(["b", "s", "c"]),
        Err(Error::Decode { .. })
    ));
    assert_eq!(v.keys()?, ["b", "c", "s"]);
    // So is an invalid name.
    assert!(matches!(
        v.pop_many::<i32, _, _>(["b", ""]),
        Err(Error::InvalidName { .. })
    ));
    assert_eq!(v.keys()?, ["b", "c", "s"]);
    Ok(())
}

#[test]
fn has_keys_means_all_present() -> TestResult {
    let f = Fixture::new()?;
    let v = &f.vault;
    v.put_many([("a", 1), ("b", 2)])?;
    assert!(v.has_keys(["a", "b"])?);
    assert!(v.has_keys(["b"])?);
    assert!(!v.has_keys(["a", "c"])?);
    assert!(!v.has_keys(["c"])?);
    assert!(v.has_keys(Vec::<&str>::new())?);
    Ok(())
}

#[test]
fn get_or_insert_inserts_only_when_missing() -> TestResult {
    let f = Fixture::new()?;
    let v = &f.vault;
    assert_eq!(v.get_or_insert("retries", 3)?, 3);
    assert_eq!(v.get_or_insert("retries", 5)?, 3);
    assert_eq!(v.get::<i32>("retries")?, Some(3));
    assert_eq!(v.ttl("retries")?, Some(Ttl::Never));
    // An expired entry counts as missing, and the new one has no expiry.
    v.put_with_ttl("token", &"old".to_owned(), secs(1))?;
    f.advance_ms(1_000);
    assert_eq!(v.get_or_insert("token", "new".to_owned())?, "new");
    assert_eq!(v.ttl("token")?, Some(Ttl::Never));
    // A stored value of another type is an error, and stays as it was.
    v.put("s", "text")?;
    assert!(matches!(
        v.get_or_insert("s", 1i32),
        Err(Error::Decode { .. })
    ));
    assert_eq!(v.get::<String>("s")?.as_deref(), Some("text"));
    Ok(())
}

#[test]
fn clear_removes_everything_including_expired_rows() -> TestResult {
    let f = Fixture::new()?;
    let v = &f.vault;
    v.put_many((0..300).map(|i| (format!("k{i}"), i)))?;
    v.put_with_ttl("t", &1, secs(1))?;
    f.advance_ms(2_000);
    v.clear()?;
    assert!(v.is_empty()?);
    assert!(v.keys()?.is_empty());
    assert_eq!(v.cleanup_expired()?, 0);
    // The vault is still usable.
    v.put("after", &1)?;
    assert_eq!(v.keys()?, ["after"]);
    Ok(())
}

#[test]
fn destroy_removes_the_file_and_its_companions() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("temporary.db");
    let vault = Vault::open_or_create(&path)?;
    vault.put("temp", "data")?;
    let [wal, shm] = sidecars(&path);
    assert!(path.exists() && wal.exists() && shm.exists());
    vault.destroy()?;
    for p in [&path, &wal, &shm] {
        assert!(!p.exists(), "{} still exists", p.display());
    }
    // Opening again makes a new, empty vault.
    assert!(Vault::open_or_create(&path)?.is_empty()?);
    Ok(())
}

#[test]
fn destroy_removes_the_file_while_another_handle_is_open() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("shared.db");
    let first = Vault::open_or_create(&path)?;
    let second = Vault::open_or_create(&path)?;
    first.put("a", &1)?;
    // With another connection open, SQLite leaves -wal and -shm behind on
    // close: destroy removes them itself.
    first.destroy()?;
    for p in std::iter::once(path.clone()).chain(sidecars(&path)) {
        assert!(!p.exists(), "{} still exists", p.display());
    }
    drop(second);
    Ok(())
}

#[test]
fn destroy_of_an_in_memory_vault_is_fine() -> TestResult {
    let (vault, _) = memory_with_clock()?;
    vault.put("a", &1)?;
    vault.destroy()?;
    Ok(())
}
