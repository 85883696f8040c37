//! The dictionary API of `Vault`: every `Store` method, value types, and
//! errors from values of the wrong type.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Serialize};
use vaults::Expiry;
use vaults::{Error, Store, Ttl, Vault};
use vaults_test_support::{Fixture, TestResult, assert_no_leak, memory_with_clock, secs, sidecars};

fn cbor<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::into_writer(value, &mut out).unwrap();
    out
}

#[test]
fn put_then_get_and_overwrite() -> TestResult {
    let f = Fixture::new()?;
    let v = &f.vault;
    assert_eq!(v.get::<String>("host")?, None);
    v.put("host", "localhost")?;
    assert_eq!(v.get::<String>("host")?.as_deref(), Some("localhost"));
    v.put("host", "db.internal")?;
    assert_eq!(v.get::<String>("host")?.as_deref(), Some("db.internal"));
    assert_eq!(v.len()?, 1);
    // Names are case-sensitive and exact.
    v.put("Host", "other")?;
    assert_eq!(v.get::<String>("host")?.as_deref(), Some("db.internal"));
    assert_eq!(v.get::<String>("host ")?, None);
    assert_eq!(v.len()?, 2);
    Ok(())
}

#[test]
fn bytes_are_stored_as_they_are() -> TestResult {
    let f = Fixture::new()?;
    let v = &f.vault;
    let raw = [0u8, 0xff, 0x80, 0x00, b'\n'];
    v.put_bytes("raw", &raw)?;
    assert_eq!(
        v.get_bytes("raw")?.as_deref().map(Vec::as_slice),
        Some(&raw[..])
    );
    v.put_bytes("empty", &[])?;
    assert_eq!(v.get_bytes("empty")?.as_deref().map(Vec::len), Some(0));
    assert_eq!(v.get_bytes("missing")?, None);

    // A typed value reads back, as bytes, as its CBOR encoding.
    v.put("typed", &("a", 1u8))?;
    assert_eq!(
        v.get_bytes("typed")?.as_deref().cloned(),
        Some(cbor(&("a", 1u8)))
    );
    // Bytes that happen to be CBOR read back as the typed value.
    v.put_bytes("cbor", &cbor(&42u32))?;
    assert_eq!(v.get::<u32>("cbor")?, Some(42));
    // Bytes that are not CBOR fail to decode, they do not panic.
    v.put_bytes("junk", &[0xff, 0xfe, 0xfd])?;
    assert!(matches!(v.get::<String>("junk"), Err(Error::Decode { .. })));
    Ok(())
}

#[test]
fn put_bytes_clears_an_old_expiry_and_put_bytes_with_ttl_sets_one() -> TestResult {
    let f = Fixture::new()?;
    let v = &f.vault;
    v.put_bytes_with("nonce", b"xyz", Expiry::After(secs(5)))?;
    assert_eq!(v.ttl("nonce")?, Some(Ttl::Remaining(secs(5))));
    v.put_bytes("nonce", b"abc")?;
    assert_eq!(v.ttl("nonce")?, Some(Ttl::Never));
    v.put_bytes_with("nonce", b"def", Expiry::After(secs(5)))?;
    f.advance_ms(5_000);
    assert_eq!(v.get_bytes("nonce")?, None);
    v.put_bytes("nonce", b"again")?;
    v.put_bytes_with("nonce", b"gone", Expiry::After(secs(0)))?;
    assert_eq!(v.get_bytes("nonce")?, None);
    Ok(())
}

#[test]
fn contains_and_remove() -> TestResult {
    let f = Fixture::new()?;
    let v = &f.vault;
    assert!(!v.contains("a")?);
    v.put("a", &1)?;
    assert!(v.contains("a")?);
    assert!(!v.contains("b")?);
    assert!(v.remove("a")?);
    assert!(!v.contains("a")?);
    assert!(!v.remove("a")?);
    assert!(!v.remove("never-there")?);
    Ok(())
}

#[test]
fn pop_and_take_remove_and_return() -> TestResult {
    let f = Fixture::new()?;
    let v = &f.vault;
    v.put("session", "abc123")?;
    v.put("otp", &123_456u32)?;
    assert_eq!(v.pop::<String>("session")?.as_deref(), Some("abc123"));
    assert_eq!(v.get::<String>("session")?, None);
    assert_eq!(v.pop::<String>("session")?, None);
    assert_eq!(v.pop::<u32>("otp")?, Some(123_456));
    assert_eq!(v.pop::<u32>("otp")?, None);
    assert!(v.is_empty()?);
    Ok(())
}

#[test]
fn pop_item_is_lifo_and_none_when_empty() -> TestResult {
    let f = Fixture::new()?;
    let v = &f.vault;
    assert_eq!(v.pop_item::<i32>()?, None);
    // Inserted out of name order, so LIFO cannot be confused with sorting.
    for (name, n) in [("m", 1), ("z", 2), ("a", 3)] {
        v.put(name, &n)?;
    }
    assert_eq!(v.pop_item::<i32>()?, Some(("a".to_owned(), 3)));
    assert_eq!(v.pop_item::<i32>()?, Some(("z".to_owned(), 2)));
    // A new insertion after pops is the newest again.
    v.put("b", &4)?;
    assert_eq!(v.pop_item::<i32>()?, Some(("b".to_owned(), 4)));
    assert_eq!(v.pop_item::<i32>()?, Some(("m".to_owned(), 1)));
    assert_eq!(v.pop_item::<i32>()?, None);
    assert!(v.is_empty()?);
    Ok(())
}

#[test]
fn pop_item_order_follows_insertion_not_updates() -> TestResult {
    // As in a Python dict: overwriting a value keeps the entry's place;
    // removing and re-inserting moves it to the end.
    let f = Fixture::new()?;
    let v = &f.vault;
    v.put("a", &1)?;
    v.put("b", &2)?;
    v.put("a", &10)?;
    assert_eq!(v.pop_item::<i32>()?, Some(("b".to_owned(), 2)));
    v.put("c", &3)?;
    assert!(v.remove("a")?);
    v.put("a", &11)?;
    assert_eq!(v.pop_item::<i32>()?, Some(("a".to_owned(), 11)));
    assert_eq!(v.pop_item::<i32>()?, Some(("c".to_owned(), 3)));
    Ok(())
}

#[test]
fn pop_item_skips_expired_entries() -> TestResult {
    let f = Fixture::new()?;
    let v = &f.vault;
    v.put("old", &1)?;
    v.put_with_ttl("newer-but-expiring", &2, secs(1))?;
    f.advance_ms(1_000);
    assert_eq!(v.pop_item::<i32>()?, Some(("old".to_owned(), 1)));
    assert_eq!(v.pop_item::<i32>()?, None);
    Ok(())
}

#[test]
fn pop_item_returns_an_entry_reinserted_after_it_expired() -> TestResult {
    let f = Fixture::new()?;
    let v = &f.vault;
    v.put_with_ttl("a", &1, secs(1))?;
    v.put("b", &2)?;
    f.advance_ms(2_000);
    // "a" had expired: it was gone, and this put inserts it anew.
    v.put("a", &3)?;
    assert_eq!(v.pop_item::<i32>()?, Some(("a".to_owned(), 3)));
    Ok(())
}

#[test]
fn len_and_is_empty() -> TestResult {
    let f = Fixture::new()?;
    let v = &f.vault;
    assert_eq!(v.len()?, 0);
    assert!(v.is_empty()?);
    for i in 0..10 {
        v.put(&format!("k{i}"), &i)?;
    }
    v.put("k3", &33)?; // an overwrite does not add
    assert_eq!(v.len()?, 10);
    assert!(!v.is_empty()?);
    v.remove("k0")?;
    assert_eq!(v.len()?, 9);
    Ok(())
}

#[test]
fn keys_values_items_are_sorted_by_name() -> TestResult {
    let f = Fixture::new()?;
    let v = &f.vault;
    let names = [
        "zeta", "alpha", "Beta", "ärger", "10", "9", "日本", "a b", "a",
    ];
    for (i, name) in names.iter().enumerate() {
        v.put(name, &i)?;
    }
    let mut sorted: Vec<&str> = names.to_vec();
    sorted.sort_unstable();
    assert_eq!(v.keys()?, sorted);
    let want_values: Vec<usize> = sorted
        .iter()
        .map(|n| names.iter().position(|m| m == n).unwrap())
        .collect();
    assert_eq!(v.values::<usize>()?, want_values);
    let want_items: Vec<(String, usize)> = sorted
        .iter()
        .map(|n| ((*n).to_owned(), names.iter().position(|m| m == n).unwrap()))
        .collect();
    assert_eq!(v.items::<usize>()?, want_items);
    Ok(())
}

#[test]
fn empty_vault_lists_nothing() -> TestResult {
    let f = Fixture::new()?;
    let v = &f.vault;
    assert!(v.keys()?.is_empty());
    assert!(v.values::<i32>()?.is_empty());
    assert!(v.items::<i32>()?.is_empty());
    assert_eq!(v.iter::<i32>().count(), 0);
    Ok(())
}

#[test]
fn iter_streams_every_row_across_pages_in_order() -> TestResult {
    let f = Fixture::new()?;
    let v = &f.vault;
    // Around and across the 256-row page boundary.
    let mut stored = 0usize;
    for target in [1usize, 255, 256, 257, 512, 1_000] {
        v.put_many((stored..target).map(|i| (format!("k{i:05}"), i)))?;
        stored = target;
        let got: Vec<(String, usize)> = v.iter::<usize>().collect::<Result<_, _>>()?;
        assert_eq!(got.len(), target, "with {target} rows");
        for (i, (name, n)) in got.iter().enumerate() {
            assert_eq!((name.as_str(), *n), (format!("k{i:05}").as_str(), i));
        }
        assert_eq!(got, v.items::<usize>()?);
    }
    Ok(())
}

#[test]
fn iter_skips_expired_rows_across_pages() -> TestResult {
    let f = Fixture::new()?;
    let v = &f.vault;
    v.transaction(|tx| {
        for i in 0..700u32 {
            let name = format!("k{i:04}");
            if i % 3 == 0 {
                tx.put_with_ttl(&name, &i, secs(1))?;
            } else {
                tx.put(&name, &i)?;
            }
        }
        Ok(())
    })?;
    f.advance_ms(1_000);
    let got: Vec<u32> = v
        .iter::<u32>()
        .map(|r| r.map(|(_, n)| n))
        .collect::<Result<_, _>>()?;
    let want: Vec<u32> = (0..700).filter(|i| i % 3 != 0).collect();
    assert_eq!(got, want);
    Ok(())
}

#[test]
fn iter_reports_a_bad_row_and_goes_on() -> TestResult {
    let f = Fixture::new()?;
    let v = &f.vault;
    v.put("a", &1)?;
    v.put("b", "not a number")?;
    v.put("c", &3)?;
    let got: Vec<_> = v.iter::<i32>().collect();
    assert_eq!(got.len(), 3);
    assert_eq!(got[0].as_ref().ok(), Some(&("a".to_owned(), 1)));
    assert!(matches!(got[1], Err(Error::Decode { .. })));
    assert_eq!(got[2].as_ref().ok(), Some(&("c".to_owned(), 3)));
    Ok(())
}

#[test]
fn iter_works_while_another_thread_writes() -> TestResult {
    let f = Fixture::new()?;
    let vault = Arc::new(f.vault);
    vault.put_many((0..1_000u32).map(|i| (format!("a{i:04}"), i)))?;
    let done = Arc::new(AtomicBool::new(false));
    let started = Arc::new(AtomicBool::new(false));
    let writer = {
        let vault = Arc::clone(&vault);
        let (done, started) = (Arc::clone(&done), Arc::clone(&started));
        std::thread::spawn(move || -> vaults::Result<u32> {
            // Writes interleave with the rows being read ("a0001!") and
            // land after them ("b…"); bounded so the test always ends.
            let mut n = 0u32;
            while !done.load(Ordering::SeqCst) && n < 20_000 {
                vault.put(&format!("a{:04}!", n % 1_000), &n)?;
                vault.put(&format!("b{n:05}"), &n)?;
                n += 1;
                started.store(true, Ordering::SeqCst);
            }
            Ok(n)
        })
    };
    // On a loaded machine the writer may not be scheduled before a fast
    // iteration ends: start reading only once it is writing.
    while !started.load(Ordering::SeqCst) {
        std::thread::yield_now();
    }
    let mut seen = Vec::new();
    for item in vault.iter::<u32>() {
        let (name, _) = item?;
        if name.len() == 5 && name.starts_with('a') {
            seen.push(name);
        }
        // Give the writer a chance to run between pages.
        if seen.len() % 100 == 0 {
            std::thread::yield_now();
        }
    }
    done.store(true, Ordering::SeqCst);
    let writes = writer.join().unwrap()?;
    let want: Vec<String> = (0..1_000).map(|i| format!("a{i:04}")).collect();
    // Every row that existed throughout is seen exactly once, in order.
    assert_eq!(seen, want);
    assert!(writes > 0);
    assert_eq!(
        vault.len()?,
        1_000 + u64::from(writes.min(1_000)) + u64::from(writes)
    );
    Ok(())
}

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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Role {
    Admin,
    User { since: u16 },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Account {
    name: String,
    roles: Vec<Role>,
    limits: BTreeMap<String, f64>,
    parent: Option<Box<Account>>,
    flags: (bool, u8),
}

fn round_trip<T>(v: &Vault, name: &str, value: &T) -> TestResult
where
    T: Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    v.put(name, value)?;
    let back: Option<T> = v.get(name)?;
    assert_eq!(back.as_ref(), Some(value), "{name}");
    Ok(())
}

#[test]
fn value_types_round_trip() -> TestResult {
    let f = Fixture::new()?;
    let v = &f.vault;
    round_trip(v, "string", &"hello".to_owned())?;
    round_trip(v, "empty string", &String::new())?;
    round_trip(v, "i64 min", &i64::MIN)?;
    round_trip(v, "i64 max", &i64::MAX)?;
    round_trip(v, "u64 max", &u64::MAX)?;
    round_trip(v, "i8", &-7i8)?;
    round_trip(v, "f64", &std::f64::consts::PI)?;
    round_trip(v, "f64 tiny", &f64::MIN_POSITIVE)?;
    round_trip(v, "f64 inf", &f64::NEG_INFINITY)?;
    round_trip(v, "f32", &1.5f32)?;
    round_trip(v, "bool", &true)?;
    round_trip(v, "unit", &())?;
    round_trip(v, "char", &'ß')?;
    round_trip(v, "none", &None::<i32>)?;
    round_trip(v, "some", &Some(7i32))?;
    round_trip(v, "vec", &vec![1u32, 2, 3])?;
    round_trip(v, "bytes as vec", &vec![0u8, 255, 128])?;
    round_trip(v, "vec of strings", &vec!["a".to_owned(), String::new()])?;
    round_trip(v, "empty vec", &Vec::<i32>::new())?;
    let hm: HashMap<String, i32> = [("x".to_owned(), 1), ("y".to_owned(), -2)].into();
    round_trip(v, "hashmap", &hm)?;
    let bm: BTreeMap<String, Vec<i32>> = [("a".into(), vec![1]), ("b".into(), vec![])].into();
    round_trip(v, "btreemap", &bm)?;
    let int_keys: BTreeMap<u32, String> = [(1, "one".into()), (2, "two".into())].into();
    round_trip(v, "int keys", &int_keys)?;
    let child = Account {
        name: "child".into(),
        roles: vec![Role::User { since: 2020 }],
        limits: BTreeMap::new(),
        parent: None,
        flags: (false, 0),
    };
    let account = Account {
        name: "Zoë 🦀".into(),
        roles: vec![Role::Admin, Role::User { since: 1999 }],
        limits: [("rate".to_owned(), 0.25)].into(),
        parent: Some(Box::new(child)),
        flags: (true, 255),
    };
    round_trip(v, "nested struct", &account)?;
    // NaN is not equal to itself: check it by hand.
    v.put("nan", &f64::NAN)?;
    assert!(v.get::<f64>("nan")?.is_some_and(f64::is_nan));
    // A value written as &str reads back as String.
    v.put("str ref", "borrowed")?;
    assert_eq!(v.get::<String>("str ref")?.as_deref(), Some("borrowed"));
    Ok(())
}

#[test]
fn unicode_names_and_values_round_trip() -> TestResult {
    let f = Fixture::new()?;
    let v = &f.vault;
    let pairs = [
        ("日本語のキー", "値"),
        ("emoji 🔑", "🦀🔒"),
        ("עברית", "שלום"),
        ("e\u{301}", "combining"),
        ("é", "precomposed"),
        // Control characters are fine in values; names refuse them
        // (tests/names_control.rs).
        ("control in the value", "with\0nul, line\nbreak, tab\tvalue"),
    ];
    for (name, value) in pairs {
        v.put(name, value)?;
    }
    for (name, value) in pairs {
        assert_eq!(v.get::<String>(name)?.as_deref(), Some(value), "{name:?}");
    }
    // NFC and NFD forms are different names.
    assert_eq!(v.len()?, pairs.len() as u64);
    let mut names: Vec<&str> = pairs.iter().map(|p| p.0).collect();
    names.sort_unstable();
    assert_eq!(v.keys()?, names);
    Ok(())
}

#[test]
fn large_values_round_trip() -> TestResult {
    let f = Fixture::new()?;
    let v = &f.vault;
    let big: String = "0123456789abcdef".repeat(100 * 1024 / 16);
    assert_eq!(big.len(), 100 * 1024);
    round_trip(v, "100 KB", &big)?;
    let blob: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
    v.put_bytes("1 MB", &blob)?;
    assert_eq!(v.get_bytes("1 MB")?.as_deref(), Some(&blob));
    Ok(())
}

#[test]
fn tuples_come_back_as_sequences() -> TestResult {
    let f = Fixture::new()?;
    let v = &f.vault;
    v.put("t", &(1, "a", 2.5))?;
    let seq: Vec<ciborium::Value> = v.get("t")?.unwrap();
    assert_eq!(
        seq,
        [
            ciborium::Value::Integer(1.into()),
            ciborium::Value::Text("a".into()),
            ciborium::Value::Float(2.5),
        ]
    );
    // And as the tuple type itself.
    let (a, b, c): (i32, String, f64) = v.get("t")?.unwrap();
    assert_eq!((a, b.as_str(), c), (1, "a", 2.5));
    // A homogeneous tuple reads as a Vec.
    v.put("pair", &(3u8, 4u8))?;
    assert_eq!(v.get::<Vec<u8>>("pair")?, Some(vec![3, 4]));
    Ok(())
}

#[test]
fn wrong_type_is_a_decode_error_that_names_no_value() -> TestResult {
    let f = Fixture::new()?;
    let v = &f.vault;
    v.put("password", "hunter2-secret")?;
    let err = v.get::<u32>("password").unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    assert!(err.to_string().contains("expected"), "{err}");
    assert_no_leak(&err, &["hunter2", "password"]);

    // A struct read from a map with the wrong field types.
    v.put("account", &BTreeMap::from([("name", 7)]))?;
    let err = v.get::<Account>("account").unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    // A number where a string is expected does not print the number.
    v.put("pin", &987_654_321u64)?;
    let err = v.get::<String>("pin").unwrap_err();
    assert_no_leak(&err, &["987654321"]);
    Ok(())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NoFields {}

#[test]
fn decode_error_of_an_unknown_field_names_no_stored_key() -> TestResult {
    let f = Fixture::new()?;
    let v = &f.vault;
    // serde: "unknown field `expected hunter2`, there are no fields".
    v.put("m", &BTreeMap::from([("expected hunter2", 1)]))?;
    let err = v.get::<NoFields>("m").unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    assert_no_leak(&err, &["hunter2"]);
    Ok(())
}

#[test]
fn a_failed_read_of_the_wrong_type_keeps_the_entry() -> TestResult {
    let f = Fixture::new()?;
    let v = &f.vault;
    v.put_with_ttl("s", "text", secs(60))?;
    assert!(matches!(v.pop::<u32>("s"), Err(Error::Decode { .. })));
    assert!(matches!(v.pop::<u32>("s"), Err(Error::Decode { .. })));
    assert!(matches!(v.pop_item::<u32>(), Err(Error::Decode { .. })));
    assert!(matches!(
        v.get_ex::<u32>("s", secs(600)),
        Err(Error::Decode { .. })
    ));
    assert!(matches!(
        v.get_ex::<u32>("s", secs(0)),
        Err(Error::Decode { .. })
    ));
    // Still there, with its value and its expiry unchanged.
    assert_eq!(v.get::<String>("s")?.as_deref(), Some("text"));
    assert_eq!(v.ttl("s")?, Some(Ttl::Remaining(secs(60))));
    assert_eq!(v.len()?, 1);
    Ok(())
}

#[test]
fn a_vault_is_send_and_sync_and_debug_prints_no_value() -> TestResult {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Vault>();
    let f = Fixture::new()?;
    f.vault.put("name-in-debug", "value-in-debug")?;
    let debug = format!("{:?}", f.vault);
    assert!(!debug.contains("value-in-debug") && !debug.contains("name-in-debug"));
    Ok(())
}
