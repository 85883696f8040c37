//! The dictionary API of `Vault`: every `Store` method, value types, and
//! errors from values of the wrong type.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod bulk;
mod listing;
mod values;

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
fn a_vault_is_send_and_sync_and_debug_prints_no_value() -> TestResult {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Vault>();
    let f = Fixture::new()?;
    f.vault.put("name-in-debug", "value-in-debug")?;
    let debug = format!("{:?}", f.vault);
    assert!(!debug.contains("value-in-debug") && !debug.contains("name-in-debug"));
    Ok(())
}
