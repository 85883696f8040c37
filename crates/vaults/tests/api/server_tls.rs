//! TLS to a server vault, through rustls: the test cluster (`.ci/pg start`)
//! serves TLS with a certificate for `localhost` signed by a throwaway CA,
//! in `$VAULTS_TEST_PG_DIR/root.crt`. Runs in the PostgreSQL run only (the
//! `server` filter of `.ci/run`); without a server it fails, never skips.

use vaults::{Error, Store, Vault};
use vaults_test_support::engine::{pg_url, unique_name};

/// The test server's URL with `host` in place of 127.0.0.1, and `params`.
fn url_with(host: &str, params: &str) -> String {
    let base = pg_url().replace("@127.0.0.1:", &format!("@{host}:"));
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}vault={}&{params}", unique_name("tls"))
}

fn cert() -> String {
    let dir = std::env::var("VAULTS_TEST_PG_DIR")
        .expect("VAULTS_TEST_PG_DIR names the test cluster's folder (.ci/pg start DIR)");
    format!("{dir}/root.crt")
}

/// Connections of role `vaults` that use TLS now, as the server counts them.
fn tls_connections() -> i64 {
    let plain = pg_url();
    let mut client = postgres::Client::connect(&plain, postgres::NoTls).unwrap();
    client
        .query_one(
            "SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
             WHERE s.ssl AND a.usename = 'vaults'",
            &[],
        )
        .unwrap()
        .get(0)
}

#[test]
#[ignore = "needs the test PostgreSQL server: .ci/run runs it"]
fn a_vault_over_tls_checks_the_certificate_it_was_given() {
    let before = tls_connections();
    let url = url_with(
        "localhost",
        &format!("sslmode=require&sslrootcert={}", cert()),
    );
    let vault = Vault::create(&url).unwrap();
    vault.put("k", "over tls").unwrap();
    assert_eq!(
        vault.get::<String>("k").unwrap().as_deref(),
        Some("over tls")
    );
    // The vault's idle pooled connection is one of the server's TLS ones.
    assert_eq!(tls_connections(), before + 1);
    vault.destroy().unwrap();
}

#[test]
#[ignore = "needs the test PostgreSQL server: .ci/run runs it"]
fn a_server_certificate_nobody_vouched_for_is_refused_not_retried() {
    let url = url_with("localhost", "sslmode=require");
    match Vault::create(&url) {
        Err(e @ Error::AccessDenied { .. }) => {
            assert!(e.to_string().contains("TLS"), "{e}");
            assert!(!e.is_transient());
            assert!(!e.to_string().contains(":vaults@"), "{e}");
        }
        other => panic!("expected AccessDenied (TLS), got {other:?}"),
    }
}

#[test]
#[ignore = "needs the test PostgreSQL server: .ci/run runs it"]
fn a_certificate_for_another_name_is_refused() {
    // The certificate names `localhost`, not 127.0.0.1.
    let url = url_with(
        "127.0.0.1",
        &format!("sslmode=require&sslrootcert={}", cert()),
    );
    match Vault::create(&url) {
        Err(Error::AccessDenied { reason }) => assert!(reason.contains("TLS"), "{reason}"),
        other => panic!("expected AccessDenied (TLS), got {other:?}"),
    }
}

#[test]
#[ignore = "needs the test PostgreSQL server: .ci/run runs it"]
fn an_unreadable_root_certificate_is_a_url_error() {
    let url = url_with(
        "localhost",
        "sslmode=require&sslrootcert=/nonexistent/ca.pem",
    );
    match Vault::create(&url) {
        Err(Error::InvalidUrl { reason }) => assert!(reason.contains("sslrootcert"), "{reason}"),
        other => panic!("expected InvalidUrl, got {other:?}"),
    }
}
