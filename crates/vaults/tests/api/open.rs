//! Opening vaults: files, `open_existing`, reopening, `VaultDir`, file modes,
//! durability and in-memory vaults.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use vaults::{Durability, Error, ManualClock, OpenOptions, Store, Ttl, Vault, VaultDir};
use vaults_test_support::{
    Fixture, T0, TestResult, check_child, child_env, open_with_clock, run_child, secs, sidecars,
};

/// `application_id` of a vault file: ASCII "VALT" (DESIGN.md, Storage).
const APPLICATION_ID: i64 = 0x5641_4C54;

fn pragma(path: &Path, name: &str) -> TestResult<rusqlite::types::Value> {
    let conn = rusqlite::Connection::open(path)?;
    Ok(conn.pragma_query_value(None, name, |r| r.get(0))?)
}

#[test]
fn open_creates_a_vault_file() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("new.db");
    assert!(!path.exists());
    let vault = Vault::open_or_create(&path)?;
    assert!(path.is_file());
    assert_eq!(vault.path(), Some(path.as_path()));
    assert!(vault.is_empty()?);
    let id = vault.id();
    assert_ne!(id, [0u8; 16]);
    vault.put("a", &1)?;
    vault.close()?;
    // The file is marked as a vault and in WAL mode.
    use rusqlite::types::Value;
    assert_eq!(
        pragma(&path, "application_id")?,
        Value::Integer(APPLICATION_ID)
    );
    assert_eq!(pragma(&path, "user_version")?, Value::Integer(1));
    assert_eq!(pragma(&path, "journal_mode")?, Value::Text("wal".into()));
    // The id is fixed at creation; another vault gets another id.
    assert_eq!(Vault::open_or_create(&path)?.id(), id);
    assert_ne!(Vault::open_or_create(dir.path().join("other.db"))?.id(), id);
    Ok(())
}

#[test]
fn open_existing_refuses_a_missing_file_and_creates_nothing() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("missing.db");
    let err = Vault::open(&path).unwrap_err();
    match &err {
        Error::VaultNotFound { path: p } => assert_eq!(p, &path),
        other => panic!("expected VaultNotFound, got {other:?}"),
    }
    assert!(err.to_string().contains("missing.db"), "{err}");
    assert!(!path.exists());
    let err = OpenOptions::new().open(&path).unwrap_err();
    assert!(matches!(err, Error::VaultNotFound { .. }));
    assert_eq!(std::fs::read_dir(dir.path())?.count(), 0);
    // Once created, open_existing opens it.
    Vault::open_or_create(&path)?.put("a", &1)?;
    assert_eq!(Vault::open(&path)?.get::<i32>("a")?, Some(1));
    Ok(())
}

#[test]
fn open_in_a_missing_folder_is_an_error_not_a_panic() -> TestResult {
    let dir = tempfile::tempdir()?;
    let err = Vault::open_or_create(dir.path().join("no/such/folder/v.db")).unwrap_err();
    assert!(matches!(err, Error::Io(_)), "{err:?}");
    Ok(())
}

#[test]
fn reopen_after_close_keeps_everything() -> TestResult {
    let f = Fixture::new()?;
    let v = &f.vault;
    v.put("string", "value")?;
    v.put("number", &42u64)?;
    v.put_bytes("raw", &[1, 2, 3])?;
    v.put_with_ttl("long", &1, secs(3_600))?;
    v.put_with_ttl("short", &2, secs(10))?;
    v.put_many((0..500).map(|i| (format!("bulk{i:03}"), i)))?;
    let id = v.id();
    let keys = v.keys()?;
    let f = f.reopen()?;
    let v = &f.vault;
    assert_eq!(v.id(), id);
    assert_eq!(v.keys()?, keys);
    assert_eq!(v.get::<String>("string")?.as_deref(), Some("value"));
    assert_eq!(v.get::<u64>("number")?, Some(42));
    assert_eq!(&v.get_bytes("raw")?.unwrap()[..], &[1, 2, 3]);
    assert_eq!(v.get::<i32>("bulk499")?, Some(499));
    assert_eq!(v.ttl("long")?, Some(Ttl::Remaining(secs(3_600))));
    assert_eq!(v.ttl("short")?, Some(Ttl::Remaining(secs(10))));
    f.advance_ms(10_000);
    let f = f.reopen()?;
    assert_eq!(f.vault.ttl("short")?, None);
    assert_eq!(f.vault.ttl("long")?, Some(Ttl::Remaining(secs(3_590))));
    assert_eq!(f.vault.len()?, 504);
    Ok(())
}

#[test]
fn reopen_after_drop_without_close_keeps_everything() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = vaults_test_support::vault_location(dir.path(), "v.db");
    let vault = Vault::open_or_create(&path)?;
    vault.put("a", &1)?;
    vault.transaction(|tx| tx.put("b", &2))?;
    drop(vault);
    let vault = Vault::open(&path)?;
    assert_eq!(vault.items::<i32>()?, [("a".into(), 1), ("b".into(), 2)]);
    Ok(())
}

#[test]
fn two_handles_on_one_file_see_each_other() -> TestResult {
    let f = Fixture::new()?;
    let other = open_with_clock(&f.path, &f.clock)?;
    f.vault.put("from-first", &1)?;
    other.put("from-second", &2)?;
    assert_eq!(f.vault.keys()?, ["from-first", "from-second"]);
    assert_eq!(other.keys()?, ["from-first", "from-second"]);
    assert_eq!(other.id(), f.vault.id());
    assert!(other.remove("from-first")?);
    assert!(!f.vault.contains("from-first")?);
    Ok(())
}

#[test]
fn normal_durability_works_and_persists() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = vaults_test_support::vault_location(dir.path(), "sessions.db");
    let vault = Vault::options()
        .durability(Durability::Normal)
        .busy_timeout(secs(1))
        .open_or_create(&path)?;
    vault.put("s", &1)?;
    vault.transaction(|tx| tx.put("t", &2))?;
    vault.close()?;
    // Reopened with the default (full) durability.
    let vault = Vault::open(&path)?;
    assert_eq!(vault.keys()?, ["s", "t"]);
    assert_eq!(Durability::default(), Durability::Full);
    Ok(())
}

#[test]
fn in_memory_vaults_work_and_are_independent() -> TestResult {
    let a = Vault::open_in_memory()?;
    let b = Vault::open_in_memory()?;
    assert_eq!(a.path(), None);
    a.put("k", &1)?;
    assert!(b.is_empty()?);
    assert_ne!(a.id(), b.id());
    a.put_with_ttl("t", &2, secs(60))?;
    assert!(matches!(a.ttl("t")?, Some(Ttl::Remaining(_))));
    a.transaction(|tx| tx.put("x", &3))?;
    assert_eq!(a.keys()?, ["k", "t", "x"]);
    let clock = ManualClock::new(T0);
    let c = Vault::options().clock(clock.clone()).open_in_memory()?;
    c.put_with_ttl("t", &1, secs(1))?;
    clock.advance(secs(1));
    assert_eq!(c.len()?, 0);
    a.close()?;
    Ok(())
}

#[test]
fn vault_dir_opens_lists_and_checks_named_vaults() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let root = tmp.path().join("data").join("vaults");
    let dir = VaultDir::new(&root);
    assert_eq!(dir.root(), root.as_path());
    // Nothing exists yet, and nothing is created by asking.
    assert!(dir.list()?.is_empty());
    assert!(!dir.exists("users")?);
    assert!(matches!(
        dir.open("users"),
        Err(Error::VaultNotFound { .. })
    ));
    assert!(!root.exists());

    let users = dir.open_or_create("users")?;
    users.put("alice", &["admin"])?;
    assert_eq!(dir.path_of("users")?, root.join("users.db"));
    assert_eq!(users.path(), Some(root.join("users.db").as_path()));
    dir.open_or_create("sessions")?.put("s", &1)?;
    dir.open_or_create("日本")?;
    dir.open_or_create("a.b")?;
    assert!(dir.exists("users")?);
    assert_eq!(dir.list()?, ["a.b", "sessions", "users", "日本"]);
    drop(users);
    let again = dir.open("users")?;
    assert_eq!(
        again.get::<Vec<String>>("alice")?,
        Some(vec!["admin".into()])
    );
    Ok(())
}

#[test]
fn vault_dir_lists_only_vault_files() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let dir = VaultDir::new(tmp.path());
    dir.open_or_create("real")?;
    std::fs::write(tmp.path().join("notes.txt"), b"x")?;
    std::fs::write(tmp.path().join(".hidden.db"), b"")?;
    std::fs::create_dir(tmp.path().join("folder.db"))?;
    // The open vault's -wal and -shm are not vaults either.
    let names = dir.list()?;
    assert_eq!(names, ["real"]);
    Ok(())
}

#[test]
fn vault_dir_refuses_names_that_escape_the_folder() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let root = tmp.path().join("root");
    let dir = VaultDir::new(&root);
    let long = "x".repeat(201);
    for bad in [
        "", "..", ".", "../x", "a/b", "/abs", "a\\b", ".hidden", "nul\0", "tab\t", &long,
    ] {
        let check = |r: vaults::Result<()>| match r {
            Err(Error::InvalidVaultName { .. }) => {}
            other => panic!("{bad:?}: expected InvalidVaultName, got {other:?}"),
        };
        check(dir.open_or_create(bad).map(drop));
        check(dir.open(bad).map(drop));
        check(dir.exists(bad).map(drop));
        check(dir.path_of(bad).map(drop));
    }
    // Nothing was created, inside or outside the root.
    assert!(!root.exists());
    assert_eq!(std::fs::read_dir(tmp.path())?.count(), 0);
    Ok(())
}

#[test]
fn vault_dir_uses_its_options() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let clock = ManualClock::new(T0);
    let dir = VaultDir::new(tmp.path()).with_options(
        Vault::options()
            .clock(clock.clone())
            .durability(Durability::Normal),
    );
    let v = dir.open_or_create("cache")?;
    v.put_with_ttl("k", &1, secs(5))?;
    assert_eq!(v.ttl("k")?, Some(Ttl::Remaining(secs(5))));
    clock.advance(secs(5));
    assert!(!v.contains("k")?);
    // `create(false)` in the options does not stop `open` from creating.
    let dir = VaultDir::new(tmp.path()).with_options(Vault::options());
    dir.open_or_create("created-anyway")?;
    assert!(dir.exists("created-anyway")?);
    Ok(())
}

#[cfg(unix)]
mod modes {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    const ENV_DIR: &str = "VAULTS_TEST_MODES_DIR";

    fn mode(path: &Path) -> TestResult<u32> {
        Ok(std::fs::metadata(path)?.permissions().mode() & 0o777)
    }

    /// Child half of `files_are_owner_only_whatever_the_umask`: creates a
    /// vault folder and file under the umask its parent set.
    #[test]
    #[ignore = "child process of files_are_owner_only_whatever_the_umask: run by it"]
    fn modes_child() -> TestResult {
        let base = child_env(ENV_DIR);
        let base = Path::new(&base);
        // A file created the ordinary way shows the umask in force.
        std::fs::write(base.join("probe"), b"")?;
        let dir = VaultDir::new(base.join("root").join("nested"));
        let vault = dir.open_or_create("v")?;
        vault.put("k", &1)?;
        let path = dir.path_of("v")?;
        // While open, SQLite's companions exist: they must be 0600 too.
        for p in sidecars(&path) {
            assert_eq!(mode(&p)?, 0o600, "{}", p.display());
        }
        let direct = Vault::open_or_create(base.join("direct.db"))?;
        direct.put("k", &1)?;
        for p in sidecars(&base.join("direct.db")) {
            assert_eq!(mode(&p)?, 0o600, "{}", p.display());
        }
        Ok(())
    }

    #[test]
    fn files_are_owner_only_whatever_the_umask() -> TestResult {
        for (umask, probe_mode) in [("022", 0o644), ("000", 0o666)] {
            let tmp = tempfile::tempdir()?;
            let base = tmp.path().to_str().unwrap();
            let out = run_child("open::modes::modes_child", &[(ENV_DIR, base)], Some(umask))?;
            check_child(&out)?;
            assert_eq!(
                mode(&tmp.path().join("probe"))?,
                probe_mode,
                "umask {umask}"
            );
            let root = tmp.path().join("root");
            assert_eq!(mode(&root)?, 0o700, "root folder, umask {umask}");
            assert_eq!(mode(&root.join("nested"))?, 0o700, "umask {umask}");
            assert_eq!(mode(&root.join("nested/v.db"))?, 0o600, "umask {umask}");
            assert_eq!(mode(&tmp.path().join("direct.db"))?, 0o600, "umask {umask}");
        }
        Ok(())
    }

    #[test]
    fn files_are_owner_only_under_the_default_umask() -> TestResult {
        let tmp = tempfile::tempdir()?;
        let dir = VaultDir::new(tmp.path().join("r"));
        dir.open_or_create("v")?.put("k", &1)?;
        assert_eq!(mode(&tmp.path().join("r"))?, 0o700);
        assert_eq!(mode(&dir.path_of("v")?)?, 0o600);
        Ok(())
    }
}
