//! The everyday API of a plain vault works the same on an `EncryptedVault`
//! and inside its transactions, checked against a manual clock, across
//! reopens, and by a model-based property test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde::{Deserialize, Serialize};
use vaults::Expiry;
use vaults::{EncryptedVault, Error, ExpireIf, LockedVault, ManualClock, Store, Ttl, UnlockedKey};
use vaults_test_support::Model;
use vaults_test_support::encrypted::*;

const PASS: &str = "correct horse battery staple";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Credentials {
    user: String,
    token: Vec<u8>,
    port: u16,
    tags: BTreeMap<String, bool>,
}

/// Every everyday operation, on any store, with time standing still (as it
/// does inside a transaction). Starts and ends with an empty store.
fn everyday<S: Store>(s: &S) -> vaults::Result<()> {
    assert!(s.is_empty()?);

    // Typed values round-trip.
    let creds = Credentials {
        user: "alice".into(),
        token: vec![0, 1, 2, 255],
        port: 5432,
        tags: BTreeMap::from([("prod".into(), true)]),
    };
    s.put("creds", &creds)?;
    s.put("tuple", &("alice", 7u32))?;
    s.put("unicode ключ 🔑", "значение")?;
    s.put("none", &None::<u8>)?;
    assert_eq!(s.get::<Credentials>("creds")?, Some(creds));
    assert_eq!(s.get::<(String, u32)>("tuple")?, Some(("alice".into(), 7)));
    assert!(matches!(
        s.get::<Vec<u32>>("tuple"),
        Err(Error::Decode { .. })
    ));
    assert_eq!(
        s.get::<String>("unicode ключ 🔑")?.as_deref(),
        Some("значение")
    );
    assert_eq!(s.get::<Option<u8>>("none")?, Some(None));
    assert_eq!(s.get::<String>("missing")?, None);

    // Raw bytes, and the CBOR of a typed value.
    s.put_bytes("raw", &[0, 159, 146, 150])?;
    assert_eq!(&s.get_bytes("raw")?.unwrap()[..], &[0, 159, 146, 150]);
    s.put("small", &1u8)?;
    assert_eq!(&s.get_bytes("small")?.unwrap()[..], &[1]);
    s.put_bytes("empty", &[])?;
    assert_eq!(s.get_bytes("empty")?.unwrap().len(), 0);
    let big = vec![0xabu8; 100_000];
    s.put_bytes("big", &big)?;
    assert_eq!(&s.get_bytes("big")?.unwrap()[..], &big[..]);
    assert_eq!(s.get_bytes("missing")?, None);

    // Names: empty and too long are refused.
    for bad in [String::new(), "n".repeat(vaults::MAX_NAME_LEN + 1)] {
        assert!(matches!(s.put(&bad, &1), Err(Error::InvalidName { .. })));
        assert!(matches!(s.get::<i32>(&bad), Err(Error::InvalidName { .. })));
    }
    s.put(&"n".repeat(vaults::MAX_NAME_LEN), &1)?;
    assert!(s.remove(&"n".repeat(vaults::MAX_NAME_LEN))?);

    // Expiry: put / put_with_ttl / put_keep_ttl / ttl / persist.
    s.put_with_ttl("t", &1, secs(60))?;
    assert_eq!(s.ttl("t")?, Some(Ttl::Remaining(secs(60))));
    s.put_with("t", &2, Expiry::Keep)?;
    assert_eq!(s.ttl("t")?, Some(Ttl::Remaining(secs(60))));
    assert_eq!(s.get::<i32>("t")?, Some(2));
    s.put("t", &3)?;
    assert_eq!(s.ttl("t")?, Some(Ttl::Never));
    s.put_with("new", &4, Expiry::Keep)?;
    assert_eq!(s.ttl("new")?, Some(Ttl::Never));
    assert_eq!(s.ttl("missing")?, None);
    s.put_with_ttl("t", &5, secs(30))?;
    assert!(s.persist("t")?);
    assert!(!s.persist("t")?);
    assert!(!s.persist("missing")?);
    assert_eq!(s.ttl("t")?, Some(Ttl::Never));
    assert_eq!(s.get::<i32>("t")?, Some(5));
    s.put_bytes_with("tb", b"x", Expiry::After(secs(9)))?;
    assert_eq!(s.ttl("tb")?, Some(Ttl::Remaining(secs(9))));
    // A zero TTL deletes.
    s.put_with_ttl("tb", &0, Duration::ZERO)?;
    assert!(!s.contains("tb")?);

    // expire, with every condition (Redis NX / XX / GT / LT).
    use ExpireIf::*;
    s.put("e", &0)?;
    assert!(!s.expire("e", secs(10), HasExpiry)?);
    assert!(!s.expire("e", secs(10), Later)?);
    assert!(s.expire("e", secs(10), NoExpiry)?);
    assert!(!s.expire("e", secs(20), NoExpiry)?);
    assert!(s.expire("e", secs(20), Later)?);
    assert!(!s.expire("e", secs(15), Later)?);
    assert!(s.expire("e", secs(15), Sooner)?);
    assert!(!s.expire("e", secs(16), Sooner)?);
    assert!(s.expire("e", secs(16), HasExpiry)?);
    assert!(s.expire("e", secs(40), Always)?);
    assert_eq!(s.ttl("e")?, Some(Ttl::Remaining(secs(40))));
    assert_eq!(s.get::<i32>("e")?, Some(0), "the value survives re-sealing");
    s.persist("e")?;
    assert!(
        s.expire("e", secs(5), Sooner)?,
        "no expiry counts as forever"
    );
    assert!(!s.expire("missing", secs(5), Always)?);
    assert!(s.expire("e", Duration::ZERO, Always)?);
    assert!(!s.contains("e")?);

    // get_ex: a sliding expiry; zero deletes after reading.
    s.put_with_ttl("sess", "alice", secs(60))?;
    assert_eq!(
        s.get_ex::<String>("sess", secs(1800))?.as_deref(),
        Some("alice")
    );
    assert_eq!(s.ttl("sess")?, Some(Ttl::Remaining(secs(1800))));
    assert_eq!(s.get::<String>("sess")?.as_deref(), Some("alice"));
    assert_eq!(
        s.get_ex::<String>("sess", Duration::ZERO)?.as_deref(),
        Some("alice")
    );
    assert!(!s.contains("sess")?);
    assert_eq!(s.get_ex::<String>("missing", secs(1))?, None);

    // pop / take / remove / contains.
    s.put("p", "x")?;
    assert!(s.contains("p")?);
    assert_eq!(s.pop::<String>("p")?.as_deref(), Some("x"));
    assert_eq!(s.pop::<String>("p")?, None);
    s.put("p", &9)?;
    let res = s.pop::<String>("p");
    assert!(
        matches!(res, Err(Error::Decode { .. })),
        "a value of another type: {res:?}"
    );
    assert!(s.contains("p")?, "a failed pop leaves the entry");
    assert_eq!(s.pop::<i32>("p")?, Some(9));
    assert_eq!(s.pop::<i32>("p")?, None);
    s.put("r", &1)?;
    assert!(s.remove("r")?);
    assert!(!s.remove("r")?);

    // Listing: len / keys (sorted) / values / items (in name order).
    s.clear()?;
    assert!(s.is_empty()?);
    s.put("b", &2)?;
    s.put("c", &3)?;
    s.put("a", &1)?;
    assert_eq!(s.len()?, 3);
    assert_eq!(s.keys()?, ["a", "b", "c"]);
    assert_eq!(s.values::<i32>()?, [1, 2, 3]);
    assert_eq!(
        s.items::<i32>()?,
        [("a".into(), 1), ("b".into(), 2), ("c".into(), 3)]
    );
    // pop_item: the most recently inserted.
    assert_eq!(s.pop_item::<i32>()?, Some(("a".into(), 1)));
    assert_eq!(s.pop_item::<i32>()?, Some(("c".into(), 3)));

    // Bulk: put_many / get_many / pop_many / has_keys / get_or_insert.
    s.put_many([("x", 10), ("y", 20), ("z", 30)])?;
    assert_eq!(
        s.get_many::<i32, _, _>(["z", "nope", "x"])?,
        [Some(30), None, Some(10)]
    );
    assert!(s.has_keys(["x", "y", "z", "b"])?);
    assert!(!s.has_keys(["x", "nope"])?);
    assert!(s.has_keys(Vec::<&str>::new())?);
    assert_eq!(s.pop_many::<i32, _, _>(["x", "nope"])?, [Some(10), None]);
    assert_eq!(s.get_or_insert("retries", 3)?, 3);
    assert_eq!(s.get_or_insert("retries", 5)?, 3);
    let res = s.put_many([("ok", 1), ("", 2)]);
    assert!(matches!(res, Err(Error::InvalidName { .. })), "{res:?}");
    assert!(!s.contains("ok")?, "put_many is all or nothing");

    // Streaming over more than one page (256) of rows.
    s.clear()?;
    s.put_many((0..300).map(|i| (format!("item-{i:03}"), i)))?;
    let mut seen = BTreeSet::new();
    for item in s.iter::<i32>() {
        let (name, value) = item?;
        assert_eq!(name, format!("item-{value:03}"));
        assert!(seen.insert(value), "each entry once");
    }
    assert_eq!(seen, (0..300).collect());
    assert_eq!(s.keys()?.len(), 300);
    assert!(s.keys()?.is_sorted());
    assert_eq!(s.cleanup_expired()?, 0);
    s.clear()?;
    assert!(s.is_empty()?);

    // A bulk put sorts its rows by stored key in steps of at most 16 MiB of
    // sealed rows: 10,000 values of 2 KiB make two steps, and of two values
    // for one name (in one step or in two) the later still wins.
    let value = |i: u32| format!("{i:08}{}", "x".repeat(2040)).into_bytes();
    let items: Vec<_> = (0..10_000u32)
        .map(|i| (format!("bulk-{}", i % 6_000), value(i)))
        .collect();
    s.put_many_bytes(items.iter().map(|(n, b)| (n, b)))?;
    assert_eq!(s.len()?, 6_000);
    for j in 0..6_000u32 {
        let last = if j + 6_000 < 10_000 { j + 6_000 } else { j };
        let got = s.get_bytes(&format!("bulk-{j}"))?;
        assert_eq!(
            got.as_deref().map(|b| &b[..]),
            Some(&value(last)[..]),
            "bulk-{j}"
        );
    }
    s.put_many_bytes([
        ("raw-a", &b"\x00\x01"[..]),
        ("raw-b", b"two"),
        ("raw-a", b"last"),
    ])?;
    assert_eq!(
        s.get_bytes("raw-a")?.as_deref().map(|b| &b[..]),
        Some(&b"last"[..])
    );
    let res = s.put_many_bytes([("raw-c", &b"x"[..]), ("", b"y")]);
    assert!(matches!(res, Err(Error::InvalidName { .. })), "{res:?}");
    assert!(!s.contains("raw-c")?, "put_many_bytes is all or nothing");
    s.clear()?;
    Ok(())
}

fn new_vault() -> (
    tempfile::TempDir,
    std::path::PathBuf,
    ManualClock,
    EncryptedVault,
) {
    let (dir, path) = temp_path();
    let clock = ManualClock::new(T0);
    let vault = create(&path, PASS, &clock).unwrap();
    (dir, path, clock, vault)
}

#[test]
fn the_everyday_api_works_on_an_encrypted_vault() -> TestResult {
    let (_dir, _path, _clock, vault) = new_vault();
    everyday(&vault)?;
    Ok(())
}

#[test]
fn the_everyday_api_works_inside_a_transaction() -> TestResult {
    let (_dir, _path, _clock, vault) = new_vault();
    vault.transaction(|tx| everyday(tx))?;
    // And inside a nested one.
    vault.transaction(|tx| tx.transaction(|inner| everyday(inner)))?;
    Ok(())
}

#[test]
fn transactions_commit_or_roll_back_as_a_whole() -> TestResult {
    let (_dir, _path, _clock, vault) = new_vault();
    vault.put("balance", &100)?;
    let failed = vault.transaction(|tx| {
        tx.put("balance", &0)?;
        tx.put("audit", "moved")?;
        Err::<(), _>(Error::Busy)
    });
    assert!(matches!(failed, Err(Error::Busy)));
    assert_eq!(vault.get::<i32>("balance")?, Some(100));
    assert!(!vault.contains("audit")?);

    let n = vault.transaction(|tx| {
        tx.put("a", &1)?;
        // An inner failure rolls back the inner part only.
        let inner = tx.transaction(|inner| {
            inner.put("b", &2)?;
            Err::<(), _>(Error::Busy)
        });
        assert!(matches!(inner, Err(Error::Busy)), "{inner:?}");
        tx.len()
    })?;
    assert_eq!(n, 2);
    assert_eq!(vault.keys()?, ["a", "balance"]);
    Ok(())
}

#[test]
fn expiry_follows_the_clock() -> TestResult {
    let (_dir, path, clock, vault) = new_vault();
    vault.put_with_ttl("short", "s", secs(10))?;
    vault.put_with_ttl("long", "l", secs(100))?;
    vault.put("forever", "f")?;
    vault.put_with_ttl("slide", "x", secs(10))?;
    clock.advance(secs(5));
    assert_eq!(vault.ttl("short")?, Some(Ttl::Remaining(secs(5))));
    assert_eq!(
        vault.get_ex::<String>("slide", secs(10))?.as_deref(),
        Some("x")
    );
    clock.advance(secs(6)); // "short" expired; "slide" has 4 s left
    assert_eq!(vault.get::<String>("short")?, None);
    assert!(!vault.contains("short")?);
    assert_eq!(vault.ttl("short")?, None);
    assert_eq!(vault.len()?, 3);
    assert_eq!(vault.keys()?, ["forever", "long", "slide"]);
    assert_eq!(vault.items::<String>()?.len(), 3);
    assert_eq!(vault.iter::<String>().count(), 3);
    assert_eq!(
        vault.get_many::<String, _, _>(["short", "long"])?,
        [None, Some("l".into())]
    );
    assert!(!vault.has_keys(["short"])?);
    assert_eq!(row_count(&raw(&path)), 4, "reads do not delete");
    // A pop of an expired entry finds nothing (and drops the dead row).
    assert_eq!(vault.pop::<String>("short")?, None);
    assert_eq!(row_count(&raw(&path)), 3);
    assert!(
        !vault.expire("short", secs(100), ExpireIf::Always)?,
        "no resurrection"
    );
    assert!(!vault.persist("short")?);
    // An expired entry is replaced as new, and put_keep_ttl does not inherit
    // its dead expiry.
    vault.put_with_ttl("gone", "g", secs(1))?;
    clock.advance(secs(2));
    vault.put_with("gone", "back", Expiry::Keep)?;
    assert_eq!(vault.ttl("gone")?, Some(Ttl::Never));
    vault.remove("gone")?;

    clock.advance(secs(4)); // "slide" expires now
    assert_eq!(vault.cleanup_expired()?, 1);
    assert_eq!(row_count(&raw(&path)), 2);
    // Read inside a transaction, time stands at its start.
    vault.put_with_ttl("tx", "t", secs(1))?;
    vault.transaction(|tx| {
        clock.advance(secs(5));
        assert_eq!(tx.get::<String>("tx")?.as_deref(), Some("t"));
        Ok(())
    })?;
    assert_eq!(vault.get::<String>("tx")?, None);
    Ok(())
}

#[test]
fn entries_persist_across_reopen() -> TestResult {
    let (_dir, path, clock, vault) = new_vault();
    vault.put("plain", "p")?;
    vault.put_with_ttl("ttl", &42, secs(3600))?;
    vault.put_bytes("bytes", &[1, 2, 3])?;
    vault.put_many((0..50).map(|i| (format!("many-{i}"), i)))?;
    vault.transaction(|tx| tx.put("in-tx", &true))?;
    let _ = vault.transaction(|tx| {
        tx.put("rolled-back", &true)?;
        Err::<(), _>(Error::Busy)
    });
    vault.close()?;

    clock.advance(secs(600));
    let vault = open(&path, PASS, &clock)?;
    assert_eq!(vault.get::<String>("plain")?.as_deref(), Some("p"));
    assert_eq!(vault.get::<i32>("ttl")?, Some(42));
    assert_eq!(vault.ttl("ttl")?, Some(Ttl::Remaining(secs(3000))));
    assert_eq!(&vault.get_bytes("bytes")?.unwrap()[..], &[1, 2, 3]);
    assert_eq!(vault.get::<i32>("many-49")?, Some(49));
    assert_eq!(vault.get::<bool>("in-tx")?, Some(true));
    assert!(!vault.contains("rolled-back")?);
    assert_eq!(vault.len()?, 54);
    Ok(())
}

/// Names the model test uses: few, so operations meet on the same entry.
const KEYS: u8 = 4;

/// One step of the model test.
#[derive(Debug, Clone)]
enum Op {
    Put(u8, u32),
    PutTtl(u8, u32, u64),
    PutKeepTtl(u8, u32),
    Get(u8),
    Remove(u8),
    Pop(u8),
    Expire(u8, u64, u8),
    Persist(u8),
    Ttl(u8),
    GetEx(u8, u64),
    Advance(u64),
    Reopen,
    Len,
    Keys,
    Cleanup,
}

fn op() -> impl Strategy<Value = Op> {
    let k = 0..KEYS;
    let ttl = prop_oneof![Just(0u64), 1..5_000u64];
    prop_oneof![
        (k.clone(), any::<u32>()).prop_map(|(k, v)| Op::Put(k, v)),
        (k.clone(), any::<u32>(), ttl.clone()).prop_map(|(k, v, t)| Op::PutTtl(k, v, t)),
        (k.clone(), any::<u32>()).prop_map(|(k, v)| Op::PutKeepTtl(k, v)),
        k.clone().prop_map(Op::Get),
        k.clone().prop_map(Op::Remove),
        k.clone().prop_map(Op::Pop),
        (k.clone(), ttl.clone(), 0..5u8).prop_map(|(k, t, c)| Op::Expire(k, t, c)),
        k.clone().prop_map(Op::Persist),
        k.clone().prop_map(Op::Ttl),
        (k, ttl).prop_map(|(k, t)| Op::GetEx(k, t)),
        (0..4_000u64).prop_map(Op::Advance),
        Just(Op::Reopen),
        Just(Op::Len),
        Just(Op::Keys),
        Just(Op::Cleanup),
    ]
}

fn condition(c: u8) -> ExpireIf {
    [
        ExpireIf::Always,
        ExpireIf::NoExpiry,
        ExpireIf::HasExpiry,
        ExpireIf::Later,
        ExpireIf::Sooner,
    ][usize::from(c)]
}

/// Runs `ops` on a copy of the base vault and on the model; any difference
/// fails the case.
fn run_model(base: &std::path::Path, key: &UnlockedKey, ops: &[Op]) -> vaults::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = vaults_test_support::vault_location(dir.path(), "model.db");
    copy_storage(base, &path);
    let clock = ManualClock::new(T0);
    let reopen = || LockedVault::open_with(&options(&clock), &path)?.unlock_with_key(key);
    let mut vault = reopen()?;
    let mut m = Model::new(T0);
    let name = |k: &u8| format!("key-{k}");
    let names: Vec<String> = (0..KEYS).map(|k| name(&k)).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    for (step, op) in ops.iter().enumerate() {
        let ms = Duration::from_millis;
        let ctx = format!("step {step}: {op:?}");
        match op {
            Op::Put(k, v) => {
                vault.put(&name(k), v)?;
                m.put(&name(k), *v);
            }
            Op::PutTtl(k, v, t) => {
                vault.put_with_ttl(&name(k), v, ms(*t))?;
                m.put_with_ttl(&name(k), *v, ms(*t));
            }
            Op::PutKeepTtl(k, v) => {
                vault.put_with(&name(k), v, Expiry::Keep)?;
                m.put_keep_ttl(&name(k), *v);
            }
            Op::Get(k) => assert_eq!(vault.get::<u32>(&name(k))?, m.get(&name(k)), "{ctx}"),
            Op::Remove(k) => assert_eq!(vault.remove(&name(k))?, m.remove(&name(k)), "{ctx}"),
            Op::Pop(k) => assert_eq!(vault.pop::<u32>(&name(k))?, m.pop(&name(k)), "{ctx}"),
            Op::Expire(k, t, c) => {
                let cond = condition(*c);
                let want = m.expire(&name(k), ms(*t), cond);
                assert_eq!(vault.expire(&name(k), ms(*t), cond)?, want, "{ctx}");
            }
            Op::Persist(k) => assert_eq!(vault.persist(&name(k))?, m.persist(&name(k)), "{ctx}"),
            Op::Ttl(k) => assert_eq!(vault.ttl(&name(k))?, m.ttl(&name(k)), "{ctx}"),
            Op::GetEx(k, t) => {
                let want = m.get_ex(&name(k), ms(*t));
                assert_eq!(vault.get_ex::<u32>(&name(k), ms(*t))?, want, "{ctx}");
            }
            Op::Advance(t) => {
                clock.advance(ms(*t));
                m.advance(ms(*t));
            }
            Op::Reopen => {
                vault.close()?;
                vault = reopen()?;
            }
            Op::Len => assert_eq!(vault.len()?, m.len(), "{ctx}"),
            Op::Keys => assert_eq!(vault.keys()?, m.keys(), "{ctx}"),
            Op::Cleanup => assert_eq!(vault.cleanup_expired()?, m.cleanup_expired(), "{ctx}"),
        }
        // After every step, every name reads as the model says.
        if let Err(e) = m.check(&vault, &names) {
            panic!("{ctx}: {e}");
        }
    }
    // At the end, everything live reads back.
    assert_eq!(vault.items::<u32>()?, m.items());
    Ok(())
}

#[test]
fn model_based_operations_match_a_btreemap() -> TestResult {
    // One vault made once (Argon2 runs once); each case works on a copy,
    // unlocked with the cached key.
    let (_dir, base) = temp_path();
    let vault = create(&base, PASS, &ManualClock::new(T0))?;
    let key = vault.unlocked_key();
    vault.close()?;

    let config = Config {
        cases: 32,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let result = runner.run(&proptest::collection::vec(op(), 1..=40), |ops| {
        run_model(&base, &key, &ops).map_err(|e| TestCaseError::fail(e.to_string()))
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    Ok(())
}
