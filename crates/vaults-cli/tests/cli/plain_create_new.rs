//! Creating a plain vault exclusively: `OpenOptions::create_new` never takes
//! a file already at the path (another process's vault, an empty file, a
//! symlink) for the new vault, and `init --plain` uses it, so the vault it
//! records as trusted is the one it made. (The window between `init`'s
//! check and its create cannot be hit deterministically; a dangling symlink
//! is a path the check sees as free that is not.)

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::cli_util;

use cli_util::{Env, assert_error};
use vaults::{Error, OpenOptions, Store};

#[test]
fn create_new_refuses_any_existing_file_and_leaves_it_alone() {
    let dir = tempfile::tempdir().unwrap();
    let fresh = OpenOptions::new();

    // A missing file: created, a working vault.
    let path = dir.path().join("new.db");
    let vault = fresh.create(&path).unwrap();
    vault.put("k", "v").unwrap();
    vault.close().unwrap();

    // Another plain vault: refused, its entries untouched. (The default
    // options open it: that is what `init --plain` used to do.)
    let err = fresh.create(&path).unwrap_err();
    assert!(matches!(err, Error::VaultExists { .. }), "{err:?}");
    let vault = OpenOptions::new().open(&path).unwrap();
    assert_eq!(vault.get::<String>("k").unwrap().as_deref(), Some("v"));
    vault.close().unwrap();

    // An empty file (which a creating open otherwise makes a vault of).
    let empty = dir.path().join("empty.db");
    std::fs::write(&empty, b"").unwrap();
    let err = fresh.create(&empty).unwrap_err();
    assert!(matches!(err, Error::VaultExists { .. }), "{err:?}");
    assert_eq!(std::fs::read(&empty).unwrap(), b"");

    // A symlink, even one pointing nowhere: nothing is created at its target.
    let link = dir.path().join("link.db");
    let target = dir.path().join("target.db");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let err = fresh.create(&link).unwrap_err();
    assert!(matches!(err, Error::VaultExists { .. }), "{err:?}");
    assert!(!target.exists());
}

#[test]
fn init_plain_refuses_a_path_already_taken() {
    let env = Env::new();
    std::fs::create_dir_all(&env.dir).unwrap();
    // A dangling symlink: `Path::exists` says the path is free.
    let target = env.file("planted.db");
    std::os::unix::fs::symlink(&target, env.vault_path()).unwrap();
    let out = env.cmd().args(["init", "--plain"]).output().unwrap();
    let line = assert_error(&out, 1, &[]);
    assert!(line.contains("already exists"), "{line}");
    assert!(!target.exists());
    let list = env.config_dir().join("vaults").join("plain-vaults.json");
    assert!(!list.exists(), "nothing recorded");

    // A file there: refused as before.
    std::fs::remove_file(env.vault_path()).unwrap();
    std::fs::write(env.vault_path(), b"").unwrap();
    let out = env.cmd().args(["init", "--plain"]).output().unwrap();
    let line = assert_error(&out, 1, &[]);
    assert!(line.contains("already exists"), "{line}");
    assert!(!list.exists(), "nothing recorded");
}
