//! Bad input on a PostgreSQL server, the server's counterparts of the
//! file cases in `bad_input.rs`: a database of the wrong shape, a newer
//! layout, wrong credentials, an unreachable server, a missing vault, a URL
//! without a vault. Only for the server run (`.ci/run` runs them with
//! `-- --ignored server::` and `VAULTS_TEST_PG_URL` set); without a server
//! URL they panic, never pass.
//!
//! The layout is shared by every vault of a database, so the tests that
//! damage it do so in a database of their own (the test role has CREATEDB).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use vaults::{EncryptedVault, Error, KdfParams, LockedVault, Store, Vault};
use vaults_test_support::encrypted::{pass, pg_client};
use vaults_test_support::engine::{pg_url, pg_vault_url, unique_name};

/// A database of its own for one test, dropped at the end.
struct Database {
    name: String,
}

impl Database {
    fn new() -> Self {
        let name = unique_name("vt").replace('-', "_");
        pg_client()
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap_or_else(|e| {
                panic!("CREATE DATABASE (the test role needs CREATEDB, see .ci/pg): {e}")
            });
        Database { name }
    }

    /// The server URL of this database (no vault).
    fn url(&self) -> String {
        let base = pg_url();
        let (server, _db) = base.rsplit_once('/').expect("a URL with a database");
        format!("{server}/{}", self.name)
    }

    fn vault(&self, vault: &str) -> PathBuf {
        PathBuf::from(format!("{}?vault={vault}", self.url()))
    }

    fn client(&self) -> postgres::Client {
        postgres::Client::connect(&self.url(), postgres::NoTls).unwrap()
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let _ = pg_client().batch_execute(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ));
    }
}

fn open_all(path: &Path) -> Vec<(&'static str, Error)> {
    let mut out = Vec::new();
    let mut push = |what, r: vaults::Result<()>| match r {
        Ok(()) => panic!("{what} on {}: expected an error", path.display()),
        Err(e) => out.push((what, e)),
    };
    push("Vault::open", Vault::open(path).map(drop));
    push(
        "Vault::open_or_create",
        Vault::open_or_create(path).map(drop),
    );
    push("LockedVault::open", LockedVault::open(path).map(drop));
    out
}

#[test]
#[ignore = "needs PostgreSQL: run with VAULTS_TEST_PG_URL set and -- --ignored server::"]
fn a_database_whose_vaults_schema_has_the_wrong_shape_is_not_a_vault() {
    let shapes = [
        // Another application's tables in a schema of the same name.
        "CREATE SCHEMA vaults; CREATE TABLE vaults.users (id int, login text)",
        // Our tables, one column of the wrong type.
        "CREATE SCHEMA vaults; CREATE TABLE vaults.layout (version integer NOT NULL); \
         INSERT INTO vaults.layout VALUES (1); \
         CREATE TABLE vaults.vaults (vault integer, name text, meta_version bigint); \
         CREATE TABLE vaults.entries (vault integer, id bigint, key text, name bytea, \
             expires_at bigint, value bytea); \
         CREATE TABLE vaults.meta (vault integer, name text, value bytea)",
        // A layout table with no row.
        "CREATE SCHEMA vaults; CREATE TABLE vaults.layout (version integer NOT NULL)",
    ];
    for sql in shapes {
        let db = Database::new();
        db.client().batch_execute(sql).unwrap();
        for (what, e) in open_all(&db.vault("v")) {
            assert!(
                matches!(e, Error::NotAVault { .. }),
                "{sql}: {what}: expected NotAVault, got {e:?}"
            );
        }
        // Nothing was created next to the foreign tables.
        let n: i64 = db
            .client()
            .query_one(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'vaults'",
                &[],
            )
            .unwrap()
            .get(0);
        let expected = sql.matches("CREATE TABLE").count();
        assert_eq!(
            n,
            i64::try_from(expected).unwrap(),
            "{sql}: the schema was left as found"
        );
    }
}

#[test]
#[ignore = "needs PostgreSQL: run with VAULTS_TEST_PG_URL set and -- --ignored server::"]
fn a_newer_layout_version_is_refused() {
    let db = Database::new();
    let path = db.vault("v");
    Vault::create(&path).unwrap().put("a", &1).unwrap();
    db.client()
        .batch_execute("UPDATE vaults.layout SET version = 2")
        .unwrap();
    for (what, e) in open_all(&path) {
        match e {
            Error::UnsupportedVersion { found, supported } => {
                assert_eq!((found, supported), (2, 1), "{what}");
            }
            other => panic!("{what}: expected UnsupportedVersion, got {other:?}"),
        }
    }
    // Another vault of the same database is refused too: the layout is shared.
    let e = Vault::open_or_create(db.vault("w")).unwrap_err();
    assert!(matches!(e, Error::UnsupportedVersion { .. }), "{e:?}");
}

#[test]
#[ignore = "needs PostgreSQL: run with VAULTS_TEST_PG_URL set and -- --ignored server::"]
fn a_wrong_password_is_access_denied() {
    let url = pg_vault_url(&unique_name("denied"));
    let wrong = url.replacen("vaults:vaults@", "vaults:not-the-password@", 1);
    assert_ne!(url, wrong, "the test URL has the password `vaults`");
    for (what, e) in open_all(Path::new(&wrong)) {
        assert!(matches!(e, Error::AccessDenied { .. }), "{what}: {e:?}");
        assert!(!e.is_transient(), "{what}: denied is not retryable");
        assert!(!format!("{e} {e:?}").contains("not-the-password"), "{e:?}");
    }
    // An unknown role too.
    let nobody = url.replacen("vaults:vaults@", "nobody:vaults@", 1);
    let e = Vault::open_or_create(Path::new(&nobody)).unwrap_err();
    assert!(matches!(e, Error::AccessDenied { .. }), "{e:?}");
}

#[test]
#[ignore = "needs PostgreSQL: run with VAULTS_TEST_PG_URL set and -- --ignored server::"]
fn an_unreachable_server_is_unavailable_fast() {
    let _ = pg_url(); // a server run only
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("postgres://vaults:vaults@127.0.0.1:{port}/vaults?vault=v");
    let started = Instant::now();
    for (what, e) in open_all(Path::new(&url)) {
        assert!(matches!(e, Error::Unavailable { .. }), "{what}: {e:?}");
        assert!(e.is_transient(), "{what}: unavailable is retryable");
    }
    let e = EncryptedVault::create_with(
        &vaults::OpenOptions::new(),
        Path::new(&url),
        &pass("p"),
        KdfParams::MIN,
    )
    .unwrap_err();
    assert!(matches!(e, Error::Unavailable { .. }), "{e:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "a refused connection fails fast: {:?}",
        started.elapsed()
    );
}

#[test]
#[ignore = "needs PostgreSQL: run with VAULTS_TEST_PG_URL set and -- --ignored server::"]
fn opening_a_vault_that_does_not_exist_is_vault_not_found() {
    let url = pg_vault_url(&unique_name("missing"));
    let path = Path::new(&url);
    assert!(matches!(
        Vault::open(path),
        Err(Error::VaultNotFound { .. })
    ));
    assert!(matches!(
        LockedVault::open(path),
        Err(Error::VaultNotFound { .. })
    ));
    // And nothing was created by looking.
    assert!(matches!(
        Vault::open(path),
        Err(Error::VaultNotFound { .. })
    ));
    Vault::create(path).unwrap();
    assert!(matches!(
        Vault::create(path),
        Err(Error::VaultExists { .. })
    ));
}

#[test]
#[ignore = "needs PostgreSQL: run with VAULTS_TEST_PG_URL set and -- --ignored server::"]
fn a_url_without_a_vault_is_invalid() {
    let url = pg_url();
    for bad in [
        url.clone(),
        format!("{url}?sslmode=disable"),
        format!("{url}?vault="),
    ] {
        for (what, e) in open_all(Path::new(&bad)) {
            assert!(
                matches!(e, Error::InvalidUrl { .. }),
                "{bad}: {what}: {e:?}"
            );
        }
    }
}
