//! Expiry with Redis semantics, under a manual clock (no sleeping).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use vaults::Expiry;
use vaults::{ExpireIf, Store, Ttl};
use vaults_test_support::{Fixture, TestResult, ms, secs};

/// Every read of the API, on one expired name `gone`, sees nothing.
fn assert_invisible(f: &Fixture, name: &str) -> TestResult {
    let v = &f.vault;
    assert_eq!(v.get::<i32>(name)?, None);
    assert_eq!(v.get_bytes(name)?, None);
    assert!(!v.contains(name)?);
    assert_eq!(v.ttl(name)?, None);
    assert!(!v.keys()?.iter().any(|k| k == name));
    assert!(!v.items::<i32>()?.iter().any(|(k, _)| k == name));
    assert!(!v.iter::<i32>().any(|r| r.is_ok_and(|(k, _)| k == name)));
    assert_eq!(v.get_many::<i32, _, _>([name])?, [None]);
    assert!(!v.has_keys([name])?);
    Ok(())
}

#[test]
fn an_expired_entry_is_invisible_to_every_read() -> TestResult {
    let f = Fixture::new()?;
    let v = &f.vault;
    v.put("keep", &1)?;
    v.put_with_ttl("gone", &2, secs(10))?;
    assert_eq!(v.len()?, 2);
    f.advance_ms(10_000);
    assert_invisible(&f, "gone")?;
    assert_eq!(v.len()?, 1);
    assert_eq!(v.keys()?, ["keep"]);
    assert_eq!(v.values::<i32>()?, [1]);
    assert_eq!(v.items::<i32>()?, [("keep".to_owned(), 1)]);
    assert!(!v.has_keys(["keep", "gone"])?);
    assert_eq!(v.get_many::<i32, _, _>(["keep", "gone"])?, [Some(1), None]);
    // Destructive reads see nothing either.
    assert_eq!(v.pop::<i32>("gone")?, None);
    assert_eq!(v.pop::<i32>("gone")?, None);
    assert_eq!(v.get_ex::<i32>("gone", secs(10))?, None);
    assert_eq!(v.pop_many::<i32, _, _>(["gone"])?, [None]);
    assert!(!v.remove("gone")?);
    assert_eq!(v.pop_item::<i32>()?, Some(("keep".to_owned(), 1)));
    assert_eq!(v.pop_item::<i32>()?, None);
    Ok(())
}

#[test]
fn expiry_is_exact_to_the_millisecond() -> TestResult {
    let f = Fixture::new()?;
    let v = &f.vault;
    v.put_with_ttl("k", &1, ms(1_000))?;
    assert_eq!(v.ttl("k")?, Some(Ttl::Remaining(ms(1_000))));
    f.advance_ms(999);
    assert_eq!(v.ttl("k")?, Some(Ttl::Remaining(ms(1))));
    assert_eq!(v.get::<i32>("k")?, Some(1));
    // Dead at the instant it expires.
    f.advance_ms(1);
    assert_eq!(v.ttl("k")?, None);
    assert_eq!(v.get::<i32>("k")?, None);
    Ok(())
}

#[test]
fn plain_reads_do_not_delete_expired_rows() -> TestResult {
    let f = Fixture::new()?;
    let v = &f.vault;
    v.put_with_ttl("a", &1, secs(1))?;
    v.put_with_ttl("b", &2, secs(1))?;
    f.advance_ms(1_000);
    assert_invisible(&f, "a")?;
    assert_invisible(&f, "b")?;
    assert_eq!(v.len()?, 0);
    assert!(!v.persist("a")?);
    assert!(!v.expire("a", secs(100), ExpireIf::Always)?);
    // Both rows were still there for cleanup to count.
    assert_eq!(v.cleanup_expired()?, 2);
    assert_eq!(v.cleanup_expired()?, 0);
    Ok(())
}

#[test]
fn expired_rows_survive_a_reopen_until_cleanup() -> TestResult {
    let f = Fixture::new()?;
    f.vault.put_with_ttl("a", &1, secs(1))?;
    f.vault.put("b", &2)?;
    f.advance_ms(5_000);
    let f = f.reopen()?;
    assert_eq!(f.vault.keys()?, ["b"]);
    assert_eq!(f.vault.cleanup_expired()?, 1);
    Ok(())
}

#[test]
fn put_clears_an_old_expiry() -> TestResult {
    let f = Fixture::new()?;
    let v = &f.vault;
    v.put_with_ttl("k", &1, secs(10))?;
    v.put("k", &2)?;
    assert_eq!(v.ttl("k")?, Some(Ttl::Never));
    f.advance_ms(3_600_000);
    assert_eq!(v.get::<i32>("k")?, Some(2));
    Ok(())
}

#[test]
fn put_with_ttl_replaces_an_old_expiry() -> TestResult {
    let f = Fixture::new()?;
    let v = &f.vault;
    v.put_with_ttl("k", &1, secs(10))?;
    v.put_with_ttl("k", &2, secs(100))?;
    assert_eq!(v.ttl("k")?, Some(Ttl::Remaining(secs(100))));
    v.put("p", &0)?;
    v.put_with_ttl("p", &1, secs(5))?;
    assert_eq!(v.ttl("p")?, Some(Ttl::Remaining(secs(5))));
    Ok(())
}

#[test]
fn put_keep_ttl_keeps_the_old_expiry() -> TestResult {
    let f = Fixture::new()?;
    let v = &f.vault;
    v.put_with_ttl("k", &1, secs(10))?;
    f.advance_ms(4_000);
    v.put_with("k", &2, Expiry::Keep)?;
    assert_eq!(v.get::<i32>("k")?, Some(2));
    assert_eq!(v.ttl("k")?, Some(Ttl::Remaining(secs(6))));
    f.advance_ms(6_000);
    assert_eq!(v.get::<i32>("k")?, None);

    // On a persistent entry it stays persistent; a new entry never expires.
    v.put("p", &1)?;
    v.put_with("p", &2, Expiry::Keep)?;
    assert_eq!(v.ttl("p")?, Some(Ttl::Never));
    v.put_with("new", &3, Expiry::Keep)?;
    assert_eq!(v.ttl("new")?, Some(Ttl::Never));
    Ok(())
}

#[test]
fn put_keep_ttl_over_an_expired_entry_never_expires() -> TestResult {
    let f = Fixture::new()?;
    let v = &f.vault;
    v.put_with_ttl("k", &1, secs(1))?;
    f.advance_ms(2_000);
    v.put_with("k", &2, Expiry::Keep)?;
    assert_eq!(v.ttl("k")?, Some(Ttl::Never));
    f.advance_ms(3_600_000);
    assert_eq!(v.get::<i32>("k")?, Some(2));
    assert_eq!(v.cleanup_expired()?, 0);
    Ok(())
}

/// Runs `expire(name, ttl, cond)` on a fresh entry (persistent when `current`
/// is `None`) and returns whether it applied and the TTL after.
fn expire_on(current: Option<u64>, ttl: u64, cond: ExpireIf) -> TestResult<(bool, Option<Ttl>)> {
    let f = Fixture::new()?;
    let v = &f.vault;
    match current {
        None => v.put("k", &1)?,
        Some(s) => v.put_with_ttl("k", &1, secs(s))?,
    }
    let applied = v.expire("k", secs(ttl), cond)?;
    Ok((applied, v.ttl("k")?))
}

#[test]
fn expire_conditions_follow_redis() -> TestResult {
    use ExpireIf::*;
    let never = Some(Ttl::Never);
    let left = |s| Some(Ttl::Remaining(secs(s)));
    // (current ttl, new ttl, condition, applies, ttl after)
    let table = [
        // A persistent key: NX and LT apply, XX and GT do not.
        (None, 50, Always, true, left(50)),
        (None, 50, NoExpiry, true, left(50)),
        (None, 50, HasExpiry, false, never),
        (None, 50, Later, false, never),
        (None, 50, Sooner, true, left(50)),
        // A key with 100 s left.
        (Some(100), 50, Always, true, left(50)),
        (Some(100), 500, Always, true, left(500)),
        (Some(100), 50, NoExpiry, false, left(100)),
        (Some(100), 50, HasExpiry, true, left(50)),
        (Some(100), 500, Later, true, left(500)),
        (Some(100), 50, Later, false, left(100)),
        (Some(100), 100, Later, false, left(100)),
        (Some(100), 50, Sooner, true, left(50)),
        (Some(100), 500, Sooner, false, left(100)),
        (Some(100), 100, Sooner, false, left(100)),
    ];
    for (current, ttl, cond, applies, after) in table {
        let got = expire_on(current, ttl, cond)?;
        assert_eq!(got, (applies, after), "{current:?} {ttl} {cond:?}");
    }
    Ok(())
}

#[test]
fn expire_on_a_missing_or_expired_entry_does_nothing() -> TestResult {
    let f = Fixture::new()?;
    let v = &f.vault;
    for cond in [
        ExpireIf::Always,
        ExpireIf::NoExpiry,
        ExpireIf::HasExpiry,
        ExpireIf::Later,
        ExpireIf::Sooner,
    ] {
        assert!(!v.expire("missing", secs(10), cond)?, "{cond:?}");
    }
    v.put_with_ttl("old", &1, secs(1))?;
    f.advance_ms(1_000);
    assert!(!v.expire("old", secs(10), ExpireIf::Always)?);
    // It stayed expired: expire does not bring an entry back.
    assert_eq!(v.get::<i32>("old")?, None);
    assert_eq!(v.ttl("missing")?, None);
    Ok(())
}

#[test]
fn expire_makes_an_entry_die_later() -> TestResult {
    let f = Fixture::new()?;
    let v = &f.vault;
    v.put("k", &1)?;
    assert!(v.expire("k", secs(30), ExpireIf::default())?);
    f.advance_ms(29_999);
    assert_eq!(v.get::<i32>("k")?, Some(1));
    f.advance_ms(1);
    assert_eq!(v.get::<i32>("k")?, None);
    Ok(())
}

#[test]
fn a_zero_ttl_deletes() -> TestResult {
    let f = Fixture::new()?;
    let v = &f.vault;
    v.put("a", &1)?;
    v.put_with_ttl("a", &2, Duration::ZERO)?;
    assert!(!v.contains("a")?);
    v.put_with_ttl("never-there", &2, Duration::ZERO)?;
    assert!(!v.contains("never-there")?);

    v.put("b", &1)?;
    assert!(v.expire("b", Duration::ZERO, ExpireIf::Always)?);
    assert!(!v.contains("b")?);

    // Only when the condition allows it.
    v.put_with_ttl("c", &1, secs(10))?;
    assert!(!v.expire("c", Duration::ZERO, ExpireIf::NoExpiry)?);
    assert!(!v.expire("c", Duration::ZERO, ExpireIf::Later)?);
    assert_eq!(v.ttl("c")?, Some(Ttl::Remaining(secs(10))));
    assert!(v.expire("c", Duration::ZERO, ExpireIf::Sooner)?);
    assert!(!v.contains("c")?);

    // get_ex with zero reads, then deletes.
    v.put("d", &4)?;
    assert_eq!(v.get_ex::<i32>("d", Duration::ZERO)?, Some(4));
    assert!(!v.contains("d")?);
    assert_eq!(v.get_ex::<i32>("d", Duration::ZERO)?, None);

    assert!(v.is_empty()?);
    // Deleted, not merely expired: nothing left to clean.
    assert_eq!(v.cleanup_expired()?, 0);
    Ok(())
}

#[test]
fn persist_removes_the_expiry() -> TestResult {
    let f = Fixture::new()?;
    let v = &f.vault;
    v.put_with_ttl("k", &1, secs(5))?;
    assert!(v.persist("k")?);
    assert_eq!(v.ttl("k")?, Some(Ttl::Never));
    f.advance_ms(60_000);
    assert_eq!(v.get::<i32>("k")?, Some(1));
    // A second persist, a persistent entry, a missing one: nothing to do.
    assert!(!v.persist("k")?);
    assert!(!v.persist("missing")?);
    Ok(())
}

#[test]
fn ttl_reports_missing_never_and_remaining() -> TestResult {
    let f = Fixture::new()?;
    let v = &f.vault;
    assert_eq!(v.ttl("missing")?, None);
    v.put("forever", &1)?;
    assert_eq!(v.ttl("forever")?, Some(Ttl::Never));
    v.put_with_ttl("session", &1, ms(1_800_123))?;
    assert_eq!(v.ttl("session")?, Some(Ttl::Remaining(ms(1_800_123))));
    f.advance_ms(123);
    assert_eq!(v.ttl("session")?, Some(Ttl::Remaining(secs(1_800))));
    // Sub-millisecond parts of a TTL are dropped, not rounded up.
    v.put_with_ttl("fine", &1, Duration::from_micros(2_999))?;
    assert_eq!(v.ttl("fine")?, Some(Ttl::Remaining(ms(2))));
    Ok(())
}

#[test]
fn a_huge_ttl_saturates_instead_of_wrapping() -> TestResult {
    let f = Fixture::new()?;
    let v = &f.vault;
    v.put_with_ttl("k", &1, Duration::MAX)?;
    assert!(matches!(v.ttl("k")?, Some(Ttl::Remaining(d)) if d > secs(1 << 40)));
    assert!(v.expire("k", Duration::MAX, ExpireIf::Always)?);
    f.clock.advance(Duration::from_secs(100 * 365 * 24 * 3600));
    assert_eq!(v.get::<i32>("k")?, Some(1));
    assert_eq!(v.get_ex::<i32>("k", Duration::MAX)?, Some(1));
    assert_eq!(v.cleanup_expired()?, 0);
    Ok(())
}

#[test]
fn get_ex_slides_the_expiry() -> TestResult {
    let f = Fixture::new()?;
    let v = &f.vault;
    v.put_with_ttl("sess", &"alice".to_owned(), secs(10))?;
    for _ in 0..5 {
        f.advance_ms(8_000);
        let user: Option<String> = v.get_ex("sess", secs(10))?;
        assert_eq!(user.as_deref(), Some("alice"));
        assert_eq!(v.ttl("sess")?, Some(Ttl::Remaining(secs(10))));
    }
    f.advance_ms(10_000);
    assert_eq!(v.get_ex::<String>("sess", secs(10))?, None);
    assert_eq!(v.get_ex::<String>("missing", secs(10))?, None);
    assert_eq!(v.ttl("missing")?, None);

    // On a persistent entry, get_ex sets an expiry.
    v.put("p", &1)?;
    assert_eq!(v.get_ex::<i32>("p", secs(3))?, Some(1));
    assert_eq!(v.ttl("p")?, Some(Ttl::Remaining(secs(3))));
    // It may also shorten one.
    assert_eq!(v.get_ex::<i32>("p", secs(1))?, Some(1));
    assert_eq!(v.ttl("p")?, Some(Ttl::Remaining(secs(1))));
    Ok(())
}

#[test]
fn cleanup_expired_counts_exactly_and_keeps_live_rows() -> TestResult {
    let f = Fixture::new()?;
    let v = &f.vault;
    for i in 0..4 {
        v.put_with_ttl(&format!("one-{i}"), &i, secs(1))?;
    }
    for i in 0..3 {
        v.put_with_ttl(&format!("five-{i}"), &i, secs(5))?;
    }
    for i in 0..3 {
        v.put(&format!("keep-{i}"), &i)?;
    }
    assert_eq!(v.cleanup_expired()?, 0);
    assert_eq!(v.len()?, 10);
    f.advance_ms(2_000);
    assert_eq!(v.cleanup_expired()?, 4);
    assert_eq!(v.cleanup_expired()?, 0);
    assert_eq!(v.len()?, 6);
    f.advance_ms(10_000);
    assert_eq!(v.len()?, 3);
    assert_eq!(v.cleanup_expired()?, 3);
    assert_eq!(v.keys()?, ["keep-0", "keep-1", "keep-2"]);
    assert_eq!(v.values::<i32>()?, [0, 1, 2]);
    Ok(())
}

#[test]
fn cleanup_of_many_rows_spread_over_pages() -> TestResult {
    let f = Fixture::new()?;
    let v = &f.vault;
    v.transaction(|tx| {
        for i in 0..2_000u32 {
            let name = format!("k{i:05}");
            match i % 4 {
                0 => tx.put_with_ttl(&name, &i, secs(1))?,
                1 => tx.put_with_ttl(&name, &i, secs(100))?,
                _ => tx.put(&name, &i)?,
            }
        }
        Ok(())
    })?;
    f.advance_ms(1_000);
    assert_eq!(v.len()?, 1_500);
    assert_eq!(v.cleanup_expired()?, 500);
    assert_eq!(v.len()?, 1_500);
    let keys = v.keys()?;
    assert_eq!(keys.len(), 1_500);
    assert!(
        keys.iter()
            .all(|k| !k[1..].parse::<u32>().unwrap().is_multiple_of(4))
    );
    Ok(())
}

#[test]
fn time_stands_still_inside_a_transaction() -> TestResult {
    let f = Fixture::new()?;
    let v = &f.vault;
    v.put_with_ttl("k", &1, secs(1))?;
    v.transaction(|tx| {
        f.advance_ms(5_000);
        // The transaction still sees the instant it began.
        assert_eq!(tx.get::<i32>("k")?, Some(1));
        tx.put_with_ttl("t", &2, secs(2))?;
        assert_eq!(tx.ttl("t")?, Some(Ttl::Remaining(secs(2))));
        Ok(())
    })?;
    // Outside, 5 s have passed: both are gone.
    assert_eq!(v.get::<i32>("k")?, None);
    assert_eq!(v.get::<i32>("t")?, None);
    Ok(())
}

#[test]
fn expiry_survives_a_reopen() -> TestResult {
    let f = Fixture::new()?;
    f.vault.put("never", &1)?;
    f.vault.put_with_ttl("long", &2, secs(60))?;
    f.vault.put_with_ttl("short", &3, secs(10))?;
    let f = f.reopen()?;
    f.advance_ms(30_000);
    let f = f.reopen()?;
    assert_eq!(f.vault.ttl("never")?, Some(Ttl::Never));
    assert_eq!(f.vault.ttl("long")?, Some(Ttl::Remaining(secs(30))));
    assert_eq!(f.vault.ttl("short")?, None);
    assert_eq!(f.vault.keys()?, ["long", "never"]);
    Ok(())
}
