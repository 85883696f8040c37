//! A clock behind the vault's clock mark does not make a write with a time
//! to live vanish: a life the mark has already passed is refused with
//! [`Error::ClockBehind`] (the write was never acknowledged), and a longer
//! one is stored and readable.
//!
//! Regression: after a read raised the mark and the clock stepped back by
//! G, `put_with_ttl`, `expire` and `get_ex` with a TTL shorter than G
//! returned `Ok`, while `get` returned `None`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::cli_util;
use crate::faketime;

use std::time::Duration;

use vaults::{Error, ExpireIf, ManualClock, Store, Ttl};
use vaults_test_support::{T0, TestResult, open_with_clock};

const SEC: Duration = Duration::from_secs(1);

fn clock_behind_by<T: std::fmt::Debug>(out: vaults::Result<T>, secs: u64) {
    assert!(
        matches!(out, Err(Error::ClockBehind { behind_secs }) if behind_secs == secs),
        "{out:?}"
    );
}

/// Every write of a new expiry, against a vault whose time is 60 s ahead
/// of the clock.
fn refuses_short_and_keeps_long<S: Store>(vault: &S) -> TestResult {
    clock_behind_by(vault.put_with_ttl("short", "v", 30 * SEC), 60);
    clock_behind_by(
        vault.put_bytes_with("short", b"v", vaults::Expiry::After(30 * SEC)),
        60,
    );
    assert_eq!(vault.get::<String>("short")?, None);
    // On an existing entry the refusal leaves it as it was.
    clock_behind_by(vault.expire("forever", 30 * SEC, ExpireIf::Always), 60);
    clock_behind_by(vault.get_ex::<String>("forever", 30 * SEC), 60);
    assert_eq!(vault.ttl("forever")?, Some(Ttl::Never));
    clock_behind_by(
        vault.transaction(|tx| tx.put_with_ttl("short", "v", 30 * SEC)),
        60,
    );
    // A zero TTL still deletes.
    vault.put("doomed", "v")?;
    vault.put_with_ttl("doomed", "v", Duration::ZERO)?;
    assert!(!vault.contains("doomed")?);
    // A life longer than the gap is stored, counted from the clock: it is
    // readable for what is left of it at the vault's time.
    vault.put_with_ttl("long", "v", 120 * SEC)?;
    assert_eq!(vault.get::<String>("long")?.as_deref(), Some("v"));
    assert_eq!(vault.ttl("long")?, Some(Ttl::Remaining(60 * SEC)));
    assert!(vault.expire("forever", 90 * SEC, ExpireIf::Always)?);
    assert_eq!(vault.ttl("forever")?, Some(Ttl::Remaining(30 * SEC)));
    Ok(())
}

#[test]
fn a_ttl_the_clock_mark_would_hide_is_refused_and_a_longer_one_is_readable() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("v.db");
    let clock = ManualClock::new(T0);
    let vault = open_with_clock(&path, &clock)?;
    vault.put_with_ttl("session", "token", 10 * SEC)?;
    vault.put("forever", "kept")?;
    // A read sees the session expired, which raises the mark ...
    clock.set(T0 + 20_000);
    assert_eq!(vault.get::<String>("session")?, None);
    // ... then the clock steps back a minute (NTP).
    clock.set(T0 + 20_000 - 60_000);
    refuses_short_and_keeps_long(&vault)?;
    vault.close()?;
    // A new handle learns the mark from the file.
    let vault = open_with_clock(&path, &clock)?;
    vault.remove("long")?;
    vault.persist("forever")?;
    refuses_short_and_keeps_long(&vault)?;
    Ok(())
}

#[test]
fn with_the_mark_not_ahead_a_ttl_is_never_refused() -> TestResult {
    let dir = tempfile::tempdir()?;
    let clock = ManualClock::new(T0);
    let vault = open_with_clock(&dir.path().join("v.db"), &clock)?;
    vault.put_with_ttl("k", "v", Duration::from_millis(1))?;
    assert!(vault.contains("k")?);
    clock.advance(SEC);
    vault.put_with_ttl("k", "v", Duration::from_millis(1))?;
    assert!(vault.contains("k")?);
    Ok(())
}

#[test]
fn cli_set_with_a_ttl_the_mark_would_hide_fails_and_says_fix_the_clock() {
    let Some(faketime) = faketime::faketime() else {
        return;
    };
    let env = cli_util::Env::new();
    env.init_plain();
    let run = |fake, args: &[&str], stdin| faketime::run(&env, faketime, fake, args, stdin);
    cli_util::assert_success(&run(None, &["set", "session", "--ttl", "1h"], "token"));
    // Two hours on, a read sees the session expired: the mark is raised.
    assert_eq!(
        run(Some("+2h"), &["get", "session"], "").status.code(),
        Some(3)
    );
    // Back on the real clock, two hours behind the mark.
    let out = run(None, &["set", "k", "--ttl", "1h"], "secret value");
    let line = cli_util::assert_error(&out, 1, &["secret value"]);
    assert!(
        line.starts_with(
            "vaults: the system clock is behind the latest time this vault has seen by 7"
        ) && line.ends_with(" s: fix the clock"),
        "{line}"
    );
    assert_eq!(run(None, &["get", "k"], "").status.code(), Some(3));
    // A life longer than the gap is stored and readable.
    cli_util::assert_success(&run(None, &["set", "k", "--ttl", "3h"], "secret value"));
    let out = run(None, &["get", "k"], "");
    cli_util::assert_success(&out);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim_end(),
        "secret value"
    );
}
