//! `Store::transaction`: commit on `Ok`, rollback on `Err` or panic, nesting,
//! and every operation inside a transaction.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use vaults::Expiry;
use vaults::{Error, ExpireIf, Store, Ttl, Vault};
use vaults_test_support::{Fixture, TestResult, open_with_clock, secs};

/// Every entry with its TTL.
type State = Vec<((String, i32), Option<Ttl>)>;

/// The state of a vault that a transaction may not change unless it commits.
fn snapshot(v: &Vault) -> vaults::Result<State> {
    v.items::<i32>()?
        .into_iter()
        .map(|item| {
            let ttl = v.ttl(&item.0)?;
            Ok((item, ttl))
        })
        .collect()
}

fn seed(v: &Vault) -> vaults::Result<()> {
    v.put("balance", &100)?;
    v.put("other", &7)?;
    v.put_with_ttl("session", &1, secs(60))?;
    Ok(())
}

#[test]
fn ok_commits_everything_and_returns_the_value() -> TestResult {
    let f = Fixture::new()?;
    let v = &f.vault;
    seed(v)?;
    let out = v.transaction(|tx| {
        tx.put("a", &1)?;
        tx.put("b", &2)?;
        assert!(tx.remove("other")?);
        Ok("done")
    })?;
    assert_eq!(out, "done");
    assert_eq!(v.keys()?, ["a", "b", "balance", "session"]);
    // Committed means on disk: another handle sees it.
    let other = open_with_clock(&f.path, &f.clock)?;
    assert_eq!(other.keys()?, ["a", "b", "balance", "session"]);
    Ok(())
}

#[test]
fn err_rolls_everything_back() -> TestResult {
    let f = Fixture::new()?;
    let v = &f.vault;
    seed(v)?;
    let before = snapshot(v)?;
    let err = v
        .transaction(|tx| {
            tx.put("balance", &0)?;
            tx.put("new", &1)?;
            tx.remove("other")?;
            tx.expire("session", secs(1), ExpireIf::Always)?;
            tx.persist("session")?;
            tx.put_many([("x", 1), ("y", 2)])?;
            tx.clear()?;
            Err::<(), _>(Error::Busy)
        })
        .unwrap_err();
    assert!(
        matches!(err, Error::Busy),
        "the closure's own error comes back"
    );
    assert_eq!(snapshot(v)?, before);
    Ok(())
}

#[test]
fn an_error_from_an_operation_rolls_back_through_the_question_mark() -> TestResult {
    let f = Fixture::new()?;
    let v = &f.vault;
    seed(v)?;
    let before = snapshot(v)?;
    let err = v
        .transaction(|tx| {
            tx.put("balance", &0)?;
            tx.put("", &1)?; // invalid name
            Ok(())
        })
        .unwrap_err();
    assert!(matches!(err, Error::InvalidName { .. }));
    assert_eq!(snapshot(v)?, before);
    Ok(())
}

#[test]
fn a_panic_rolls_back_and_the_vault_stays_usable() -> TestResult {
    let f = Fixture::new()?;
    let v = &f.vault;
    seed(v)?;
    let before = snapshot(v)?;
    let caught = catch_unwind(AssertUnwindSafe(|| {
        v.transaction(|tx| -> vaults::Result<()> {
            tx.put("balance", &0)?;
            tx.remove("other")?;
            panic!("boom in the middle of a transaction");
        })
    }));
    let payload = caught.expect_err("the panic reaches the caller");
    assert_eq!(
        payload.downcast_ref::<&str>(),
        Some(&"boom in the middle of a transaction")
    );
    assert_eq!(snapshot(v)?, before);
    // Plain operations and new transactions work afterwards.
    v.put("after", &1)?;
    v.transaction(|tx| tx.put("in-tx-after", &2))?;
    assert_eq!(v.get::<i32>("in-tx-after")?, Some(2));
    // And the file agrees: nothing of the panicked transaction was committed.
    let other = open_with_clock(&f.path, &f.clock)?;
    assert_eq!(other.get::<i32>("balance")?, Some(100));
    assert_eq!(other.len()?, 5);
    Ok(())
}

#[test]
fn a_nested_transaction_is_a_savepoint() -> TestResult {
    let f = Fixture::new()?;
    let v = &f.vault;
    v.transaction(|tx| {
        tx.put("outer-1", &1)?;
        let inner = tx.transaction(|inner| {
            inner.put("inner-failed", &2)?;
            inner.remove("outer-1")?;
            Err::<(), _>(Error::Busy)
        });
        assert!(matches!(inner, Err(Error::Busy)), "{inner:?}");
        // The inner work is undone; the outer's is intact.
        assert_eq!(tx.get::<i32>("outer-1")?, Some(1));
        assert_eq!(tx.get::<i32>("inner-failed")?, None);
        tx.transaction(|inner| inner.put("inner-ok", &3))?;
        tx.put("outer-2", &4)?;
        Ok(())
    })?;
    assert_eq!(v.keys()?, ["inner-ok", "outer-1", "outer-2"]);

    // A committed inner transaction is still undone by the outer's rollback.
    let res = v.transaction(|tx| {
        tx.transaction(|inner| inner.put("doomed", &5))?;
        assert_eq!(tx.get::<i32>("doomed")?, Some(5));
        Err::<(), _>(Error::Busy)
    });
    assert!(matches!(res, Err(Error::Busy)), "{res:?}");
    assert_eq!(v.get::<i32>("doomed")?, None);
    Ok(())
}

#[test]
fn a_panic_in_a_nested_transaction_rolls_back_only_the_inner_one() -> TestResult {
    let f = Fixture::new()?;
    let v = &f.vault;
    v.transaction(|tx| {
        tx.put("outer", &1)?;
        let caught = catch_unwind(AssertUnwindSafe(|| {
            tx.transaction(|inner| -> vaults::Result<()> {
                inner.put("inner", &2)?;
                panic!("boom in a nested transaction");
            })
        }));
        let payload = caught.expect_err("the panic reaches the caller");
        assert_eq!(
            payload.downcast_ref::<&str>(),
            Some(&"boom in a nested transaction")
        );
        assert_eq!(tx.get::<i32>("inner")?, None);
        tx.put("outer-after", &3)?;
        Ok(())
    })?;
    assert_eq!(v.keys()?, ["outer", "outer-after"]);
    Ok(())
}

/// Runs every operation of the API on `s`, checking each result. The
/// vault must hold exactly `{"x": 1}` (persistent) on entry and holds
/// `{"final": 42}` on return.
fn exercise<S: Store>(s: &S) -> TestResult {
    assert_eq!(s.get::<i32>("x")?, Some(1));
    s.put("a", &1)?;
    s.put_with_ttl("b", &2, secs(10))?;
    s.put_with("b", &3, Expiry::Keep)?;
    assert_eq!(s.ttl("b")?, Some(Ttl::Remaining(secs(10))));
    s.put_bytes("raw", b"\x00\x01")?;
    s.put_bytes_with("raw-ttl", b"\x02", Expiry::After(secs(5)))?;
    assert_eq!(&s.get_bytes("raw")?.unwrap()[..], b"\x00\x01");
    assert!(s.contains("raw-ttl")?);
    assert_eq!(s.len()?, 5);
    assert!(!s.is_empty()?);
    assert_eq!(s.keys()?, ["a", "b", "raw", "raw-ttl", "x"]);
    assert_eq!(s.get::<i32>("b")?, Some(3));
    assert!(s.expire("a", secs(20), ExpireIf::NoExpiry)?);
    assert!(!s.expire("a", secs(30), ExpireIf::Sooner)?);
    assert!(s.persist("a")?);
    assert_eq!(s.get_ex::<i32>("a", secs(7))?, Some(1));
    assert_eq!(s.ttl("a")?, Some(Ttl::Remaining(secs(7))));
    assert!(s.remove("raw")?);
    assert!(s.remove("raw-ttl")?);
    assert_eq!(s.values::<i32>()?, [1, 3, 1]);
    assert_eq!(
        s.items::<i32>()?,
        [("a".into(), 1), ("b".into(), 3), ("x".into(), 1)]
    );
    let streamed: Vec<(String, i32)> = s.iter::<i32>().collect::<Result<_, _>>()?;
    assert_eq!(streamed, s.items::<i32>()?);
    s.put_many([("m1", 10), ("m2", 20)])?;
    assert_eq!(
        s.get_many::<i32, _, _>(["m1", "q", "m2"])?,
        [Some(10), None, Some(20)]
    );
    assert!(s.has_keys(["m1", "m2"])?);
    assert_eq!(s.pop_many::<i32, _, _>(["m1", "m2"])?, [Some(10), Some(20)]);
    assert_eq!(s.get_or_insert("g", 5)?, 5);
    assert_eq!(s.get_or_insert("g", 6)?, 5);
    assert_eq!(s.pop::<i32>("g")?, Some(5));
    s.put("t", &9)?;
    assert_eq!(s.pop::<i32>("t")?, Some(9));
    s.put("last", &8)?;
    assert_eq!(s.pop_item::<i32>()?, Some(("last".into(), 8)));
    s.put_with_ttl("short", &1, Duration::from_millis(1))?;
    assert_eq!(s.cleanup_expired()?, 0);
    s.clear()?;
    assert!(s.is_empty()?);
    s.transaction(|inner| inner.put("final", &42))?;
    assert_eq!(s.keys()?, ["final"]);
    Ok(())
}

#[test]
fn every_operation_works_on_the_vault() -> TestResult {
    let f = Fixture::new()?;
    f.vault.put("x", &1)?;
    exercise(&f.vault)?;
    assert_eq!(f.vault.keys()?, ["final"]);
    Ok(())
}

#[test]
fn every_operation_works_inside_a_transaction() -> TestResult {
    let f = Fixture::new()?;
    let v = &f.vault;
    v.put("x", &1)?;
    let outcome = v.transaction(|tx| Ok(exercise(tx).map_err(|e| e.to_string())))?;
    outcome?;
    assert_eq!(v.keys()?, ["final"]);
    assert_eq!(v.get::<i32>("final")?, Some(42));
    Ok(())
}

#[test]
fn every_operation_inside_a_rolled_back_transaction_leaves_no_trace() -> TestResult {
    let f = Fixture::new()?;
    let v = &f.vault;
    v.put("x", &1)?;
    let res = v.transaction(|tx| {
        exercise(tx).map_err(|e| Error::Decode {
            reason: e.to_string(),
        })?;
        Err::<(), _>(Error::Busy)
    });
    assert!(matches!(res, Err(Error::Busy)), "{res:?}");
    assert_eq!(v.items::<i32>()?, [("x".to_owned(), 1)]);
    assert_eq!(v.ttl("x")?, Some(Ttl::Never));
    Ok(())
}

#[test]
fn a_failed_operation_inside_a_transaction_leaves_no_partial_effect() -> TestResult {
    let f = Fixture::new()?;
    let v = &f.vault;
    v.put("s", "text")?;
    v.put_many([("a", 1), ("b", 2)])?;
    v.transaction(|tx| {
        tx.put("before", &0)?;
        // pop of the wrong type: the entry stays.
        assert!(matches!(tx.pop::<i32>("s"), Err(Error::Decode { .. })));
        assert_eq!(tx.get::<String>("s")?.as_deref(), Some("text"));
        // A batch with an invalid name in the middle stores nothing.
        let res = tx.put_many([("c", 3), ("", 4), ("d", 5)]);
        assert!(matches!(res, Err(Error::InvalidName { .. })), "{res:?}");
        assert_eq!(tx.get::<i32>("c")?, None);
        // pop_many failing halfway removes nothing.
        let res = tx.pop_many::<i32, _, _>(["a", "s", "b"]);
        assert!(matches!(res, Err(Error::Decode { .. })), "{res:?}");
        assert!(tx.has_keys(["a", "b", "s"])?);
        // get_or_insert of the wrong type changes nothing.
        let res = tx.get_or_insert("s", 1);
        assert!(matches!(res, Err(Error::Decode { .. })), "{res:?}");
        // pop_item of the wrong type puts the entry back.
        tx.put("newest", "not a number")?;
        let res = tx.pop_item::<i32>();
        assert!(matches!(res, Err(Error::Decode { .. })), "{res:?}");
        assert!(tx.contains("newest")?);
        tx.put("after", &6)?;
        Ok(())
    })?;
    assert_eq!(v.keys()?, ["a", "after", "b", "before", "newest", "s"]);
    Ok(())
}

#[test]
fn reads_inside_see_the_transaction_and_others_do_not() -> TestResult {
    let f = Fixture::new()?;
    let v = &f.vault;
    v.put("k", &1)?;
    let other = open_with_clock(&f.path, &f.clock)?;
    v.transaction(|tx| {
        tx.put("k", &2)?;
        tx.put("new", &3)?;
        assert_eq!(tx.get::<i32>("k")?, Some(2));
        assert_eq!(tx.len()?, 2);
        // Another connection reads the last committed state.
        assert_eq!(other.get::<i32>("k")?, Some(1));
        assert_eq!(other.get::<i32>("new")?, None);
        Ok(())
    })?;
    assert_eq!(other.get::<i32>("k")?, Some(2));
    assert_eq!(other.get::<i32>("new")?, Some(3));
    Ok(())
}

#[test]
fn a_writer_elsewhere_waits_then_reports_busy() -> TestResult {
    let f = Fixture::new()?;
    let v = &f.vault;
    let other = Vault::options()
        .busy_timeout(Duration::from_millis(50))
        .open_or_create(&f.path)?;
    v.transaction(|tx| {
        tx.put("held", &1)?;
        // The transaction holds the write lock until it ends.
        let err = other.put("blocked", &2).unwrap_err();
        assert!(matches!(err, Error::Busy), "{err:?}");
        let err = other.transaction(|o| o.put("blocked", &2)).unwrap_err();
        assert!(matches!(err, Error::Busy), "{err:?}");
        Ok(())
    })?;
    other.put("after", &3)?;
    assert_eq!(v.keys()?, ["after", "held"]);
    Ok(())
}

/// Regression: using the vault itself inside its own transaction closure
/// deadlocked on the connection's mutex; it is now a typed error.
#[test]
fn using_the_vault_inside_its_own_transaction_is_an_error_not_a_deadlock() -> TestResult {
    let v = vaults::Vault::open_in_memory()?;
    let r = v.transaction(|_tx| v.put("a", &1));
    assert!(matches!(r, Err(vaults::Error::Reentrant)), "{r:?}");
    // The vault still works afterwards, and the transaction handle is the way.
    v.transaction(|tx| tx.put("a", &2))?;
    assert_eq!(v.get::<i32>("a")?, Some(2));
    Ok(())
}
