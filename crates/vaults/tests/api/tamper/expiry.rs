//! Edited `expires_at`: extended, shortened, removed or added; none is
//! served, and a shortening into the past only deletes.

use super::*;

/// A vault with a 1-hour session and a persistent entry, at T0.
fn session_and_persistent() -> Built {
    build(&[
        ("session-XYZZY", "sess-value-XYZZY", Some(HOUR)),
        ("persistent-XYZZY", "pers-value-XYZZY", None),
    ])
}

/// Sets the `expires_at` of the row of `name`.
fn set_expires_at(b: &Built, name: &str, at: Option<i64>) {
    let conn = raw(&b.path);
    let mut r = row(&conn, b.key(name));
    r.expires_at = at;
    write_row(&conn, &r);
}

#[test]
fn an_extended_expiry_fails_and_is_never_served() -> TestResult {
    let b = session_and_persistent();
    let true_expiry = T0 + 3_600_000;
    assert_eq!(
        row(&raw(&b.path), b.key("session-XYZZY")).expires_at,
        Some(true_expiry)
    );
    set_expires_at(&b, "session-XYZZY", Some(true_expiry + 30 * 86_400_000));

    let mut vault = b.open()?;
    let name = "session-XYZZY";
    expect_integrity(vault.get::<String>(name), Integrity::Entry);
    expect_integrity(vault.get_ex::<String>(name, HOUR), Integrity::Entry);
    // Reads of the expiry alone open the sealed name, which binds it too.
    expect_integrity(vault.expire(name, HOUR, ExpireIf::Always), Integrity::Name);
    expect_integrity(vault.persist(name), Integrity::Name);
    expect_integrity(vault.pop::<String>(name), Integrity::Entry);
    expect_integrity(vault.get_or_insert(name, String::new()), Integrity::Entry);
    // Past the true expiry, the entry must still never come back as a value,
    // nor look alive to a read that only asks about it.
    b.clock.set(true_expiry + 1);
    expect_integrity(vault.get::<String>(name), Integrity::Entry);
    expect_integrity(vault.contains(name), Integrity::Name);
    expect_integrity(vault.ttl(name), Integrity::Name);
    expect_integrity(vault.has_keys([name]), Integrity::Name);
    expect_integrity(vault.keys(), Integrity::Name);
    assert_eq!(
        vault.get::<String>("persistent-XYZZY")?.as_deref(),
        Some("pers-value-XYZZY")
    );
    let slot = vault.unlocked_slot();
    expect_integrity(
        vault.rotate(&[(slot, &pass(PASS))], |_| {}),
        Integrity::Name,
    );
    Ok(())
}

/// Regression: `put_keep_ttl` adopted the row's `expires_at` without
/// authenticating it, and sealed the new value under it — so an attacker
/// who extended an expiry in the file had the extension made genuine by the
/// next `put_keep_ttl`.
#[test]
fn put_keep_ttl_does_not_adopt_a_tampered_expiry() -> TestResult {
    let b = session_and_persistent();
    let true_expiry = T0 + 3_600_000;
    let extended = true_expiry + 30 * 86_400_000;
    set_expires_at(&b, "session-XYZZY", Some(extended));

    let vault = b.open()?;
    expect_integrity(
        vault.put_with("session-XYZZY", "new-XYZZY", Expiry::Keep),
        Integrity::Name,
    );
    // Nothing was written: past the true expiry, no value is served.
    b.clock.set(true_expiry + 1);
    expect_integrity(vault.get::<String>("session-XYZZY"), Integrity::Entry);
    // A put without KEEPTTL still replaces the entry (that is no extension).
    vault.put("session-XYZZY", "fresh-XYZZY")?;
    assert_eq!(
        vault.get::<String>("session-XYZZY")?.as_deref(),
        Some("fresh-XYZZY")
    );
    // An authentic expiry is still kept by put_keep_ttl.
    vault.put_with_ttl("session-XYZZY", "v1-XYZZY", HOUR)?;
    vault.put_with("session-XYZZY", "v2-XYZZY", Expiry::Keep)?;
    assert_eq!(
        vault.ttl("session-XYZZY")?,
        Some(vaults::Ttl::Remaining(HOUR))
    );
    assert_eq!(
        vault.get::<String>("session-XYZZY")?.as_deref(),
        Some("v2-XYZZY")
    );
    Ok(())
}

#[test]
fn an_expiry_shortened_into_the_past_only_deletes() -> TestResult {
    let b = session_and_persistent();
    set_expires_at(&b, "session-XYZZY", Some(T0 - 1));

    let vault = b.open()?;
    assert_eq!(vault.get::<String>("session-XYZZY")?, None);
    assert!(!vault.contains("session-XYZZY")?);
    assert_eq!(vault.ttl("session-XYZZY")?, None);
    assert_eq!(vault.keys()?, ["persistent-XYZZY"]);
    assert_eq!(vault.len()?, 1);
    drop(vault);

    // Cleanup needs no key, and deletes it.
    assert_eq!(row_count(&raw(&b.path)), 2);
    let locked = LockedVault::open_with(&options(&b.clock), &b.path)?;
    assert_eq!(locked.cleanup_expired()?, 1);
    drop(locked);
    assert_eq!(row_count(&raw(&b.path)), 1);
    Ok(())
}

#[test]
fn an_expiry_shortened_but_still_in_the_future_fails() -> TestResult {
    let b = session_and_persistent();
    set_expires_at(&b, "session-XYZZY", Some(T0 + 60_000));
    let vault = b.open()?;
    expect_integrity(vault.get::<String>("session-XYZZY"), Integrity::Entry);
    Ok(())
}

#[test]
fn a_removed_expiry_fails() -> TestResult {
    let b = session_and_persistent();
    set_expires_at(&b, "session-XYZZY", None);
    let vault = b.open()?;
    expect_integrity(vault.get::<String>("session-XYZZY"), Integrity::Entry);
    expect_integrity(
        vault.expire("session-XYZZY", HOUR, ExpireIf::NoExpiry),
        Integrity::Name,
    );
    expect_integrity(
        vault.put_with("session-XYZZY", "new-XYZZY", Expiry::Keep),
        Integrity::Name,
    );
    // Long after the true expiry: still no value.
    b.clock.set(T0 + 1_000 * 86_400_000);
    expect_integrity(vault.get::<String>("session-XYZZY"), Integrity::Entry);
    Ok(())
}

#[test]
fn an_expiry_added_to_a_persistent_entry_fails() -> TestResult {
    let b = session_and_persistent();
    set_expires_at(&b, "persistent-XYZZY", Some(T0 + 3_600_000));
    let vault = b.open()?;
    expect_integrity(vault.get::<String>("persistent-XYZZY"), Integrity::Entry);
    expect_integrity(vault.persist("persistent-XYZZY"), Integrity::Name);
    Ok(())
}
