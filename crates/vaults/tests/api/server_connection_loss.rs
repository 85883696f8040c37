//! A connection lost in the middle of a transaction (the server ended the
//! session: an administrator's `pg_terminate_backend`, a crash, a failover)
//! fails the operation as `Error::Unavailable`, commits nothing of it, and
//! the next operation runs on a new connection. Ignored in a plain
//! `cargo test` (no server); `.ci/run` runs it.

use vaults::{Error, Store, Vault};
use vaults_test_support::engine::{pg_url, pg_vault_url, unique_name};

/// A fresh vault's URL whose connections carry their own application name
/// (so this test ends its own sessions, never another test's), and that name.
fn tagged_url(prefix: &str) -> (String, String) {
    let name = unique_name(prefix);
    (
        format!("{}&application_name={name}", pg_vault_url(&name)),
        name,
    )
}

/// Ends, from another session, the sessions named `app` in `state`;
/// returns how many.
fn terminate(app: &str, state: &str) -> usize {
    let mut admin = postgres::Client::connect(&pg_url(), postgres::NoTls).unwrap();
    admin
        .query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE application_name = $1 AND state = $2",
            &[&app, &state],
        )
        .unwrap()
        .len()
}

#[test]
#[ignore = "needs the test PostgreSQL server: .ci/run runs it"]
fn a_connection_lost_inside_a_transaction_commits_nothing() {
    let (url, app) = tagged_url("lost");
    let vault = Vault::create(&url).unwrap();
    vault.put("before", "kept").unwrap();
    let out = vault.transaction(|tx| {
        tx.put("inside", "never committed")?;
        tx.put("before", "overwritten, never committed")?;
        // This session is now idle inside its transaction; end it.
        assert_eq!(terminate(&app, "idle in transaction"), 1);
        tx.put("after", "fails")?;
        Ok(())
    });
    match out {
        Err(e @ Error::Unavailable { .. }) => {
            assert!(e.is_transient());
            assert!(!e.to_string().contains(":vaults@"), "{e}");
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    // Nothing of the transaction was committed, and the vault goes on (a
    // new connection replaces the lost one).
    assert_eq!(
        vault.get::<String>("before").unwrap().as_deref(),
        Some("kept")
    );
    assert_eq!(vault.get::<String>("inside").unwrap(), None);
    assert_eq!(vault.get::<String>("after").unwrap(), None);
    vault.put("later", "fine").unwrap();
    assert_eq!(vault.len().unwrap(), 2);
    vault.destroy().unwrap();
}

#[test]
#[ignore = "needs the test PostgreSQL server: .ci/run runs it"]
fn an_idle_connection_ended_by_the_server_is_replaced_without_an_error() {
    let (url, app) = tagged_url("idle");
    let vault = Vault::create(&url).unwrap();
    vault.put("k", "v").unwrap();
    assert!(terminate(&app, "idle") >= 1);
    // Past the idle check's threshold, the pooled connection is checked
    // before use and replaced: the caller sees no error.
    std::thread::sleep(std::time::Duration::from_millis(1_100));
    assert_eq!(vault.get::<String>("k").unwrap().as_deref(), Some("v"));
    vault.destroy().unwrap();
}
