//! The cleanup statement `docs/format.md` gives operators (to schedule on
//! the server, e.g. with pg_cron) does what it says: run with no key and no
//! client library, it deletes the expired entries of every vault of the
//! database and nothing else, and the vaults still open and verify after.
//! Ignored in a plain `cargo test` (no server); `.ci/run` runs it.

use std::time::Duration;

use vaults::{EncryptedVault, KdfParams, Passphrase, Store, Vault};
use vaults_test_support::engine::{pg_url, pg_vault_url, unique_name};

/// The statement for every vault, as `docs/format.md` prints it inside the
/// `cron.schedule` call.
fn documented_sql() -> String {
    let doc = include_str!("../../../../docs/format.md");
    let start = doc
        .find("$$DELETE FROM vaults.entries")
        .expect("docs/format.md gives the server-wide cleanup statement");
    let rest = &doc[start + 2..];
    let end = rest.find("$$").expect("the statement ends");
    rest[..end].to_owned()
}

#[test]
#[ignore = "needs the test PostgreSQL server: .ci/run runs it"]
fn the_documented_server_cleanup_deletes_only_expired_rows() {
    let pass = Passphrase::new("cleanup sql passphrase").unwrap();
    let sealed_url = pg_vault_url(&unique_name("cron-enc"));
    let plain_url = pg_vault_url(&unique_name("cron-plain"));
    let sealed = EncryptedVault::create(&sealed_url, &pass, KdfParams::MIN).unwrap();
    let plain = Vault::create(&plain_url).unwrap();
    for v in [&*sealed, &plain] {
        v.put("keeps", "forever").unwrap();
        v.put_with_ttl("lives", "an hour", Duration::from_secs(3600))
            .unwrap();
        v.put_with_ttl("goes", "soon", Duration::from_millis(1))
            .unwrap();
    }
    sealed.close().unwrap();
    plain.close().unwrap();
    std::thread::sleep(Duration::from_millis(50));

    let mut client = postgres::Client::connect(&pg_url(), postgres::NoTls).unwrap();
    let deleted = client.execute(documented_sql().as_str(), &[]).unwrap();
    assert!(
        deleted >= 2,
        "deleted {deleted}: at least this test's two expired rows"
    );

    let sealed = EncryptedVault::open(&sealed_url, &pass).unwrap();
    let plain = Vault::open(&plain_url).unwrap();
    for v in [&*sealed, &plain] {
        assert_eq!(v.len().unwrap(), 2);
        assert_eq!(
            v.get::<String>("keeps").unwrap().as_deref(),
            Some("forever")
        );
        assert_eq!(
            v.get::<String>("lives").unwrap().as_deref(),
            Some("an hour")
        );
        // Nothing left to clean: the server did it.
        assert_eq!(v.cleanup_expired().unwrap(), 0);
    }
    sealed.destroy().unwrap();
    plain.destroy().unwrap();
}
