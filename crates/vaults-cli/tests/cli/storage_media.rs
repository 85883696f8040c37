//! Healthy vaults on a read-only filesystem and on a full disk, through the
//! library and the real binary.
//!
//! Regression: both were reported as "not a vault file" (exit 1 for every
//! command, `get` and `ls` included) when the vault had been closed cleanly,
//! because SQLite could not make its `-wal`/`-shm` and any SQLite error on
//! the first read was taken for a foreign file.
//!
//! Each test mounts its own small tmpfs, which needs root: without it the
//! tests say so and skip, except under `CI=true`, where they fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::cli_util;

use std::path::{Path, PathBuf};
use std::process::Command;

use cli_util::{Env, PASS, assert_error};
use vaults::{Error, LockedVault, Passphrase, Store, Vault};

/// A tmpfs mounted on a folder, unmounted (lazily) when dropped.
struct Tmpfs {
    at: PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` on `at` (created), or returns `None` after
    /// saying why it cannot (and panics under `CI=true`).
    fn mount(at: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(at).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0700")])
            .arg("tmpfs")
            .arg(at)
            .output();
        match out {
            Ok(o) if o.status.success() => Some(Tmpfs { at: at.to_owned() }),
            other => {
                let why = match other {
                    Ok(o) => String::from_utf8_lossy(&o.stderr).trim().to_owned(),
                    Err(e) => e.to_string(),
                };
                assert!(
                    std::env::var_os("CI").is_none(),
                    "CI must run this test as root: cannot mount a tmpfs: {why}"
                );
                eprintln!("SKIPPED: cannot mount a tmpfs (needs root): {why}");
                None
            }
        }
    }

    fn remount_read_only(&self) {
        let out = Command::new("mount")
            .args(["-o", "remount,ro"])
            .arg(&self.at)
            .output()
            .unwrap();
        assert!(out.status.success(), "remount: {out:?}");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.at).output();
    }
}

/// Fills the filesystem holding `dir` until it refuses one more byte.
fn fill(dir: &Path) -> PathBuf {
    use std::io::Write;
    let path = dir.join("filler");
    let mut file = std::fs::File::create(&path).unwrap();
    let block = vec![0u8; 4096];
    // Bounded: the tmpfs is a few hundred KiB.
    for _ in 0..100_000 {
        if file.write_all(&block).and_then(|()| file.flush()).is_err() {
            break;
        }
    }
    while file.write_all(&[0]).is_ok() {}
    path
}

/// A plain vault `plain.db` and the CLI's encrypted default vault, both
/// holding `token`, closed cleanly (no `-wal` or `-shm` left).
fn make_vaults(env: &Env) {
    env.init();
    env.set("token", "s3cr3t-value", &[]);
    let plain = Vault::open_or_create(env.dir.join("plain.db")).unwrap();
    plain.put("token", "plain-value").unwrap();
    plain.close().unwrap();
    let left: Vec<_> = std::fs::read_dir(&env.dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with("-wal") || n.ends_with("-shm"))
        .collect();
    assert!(left.is_empty(), "not closed cleanly: {left:?}");
}

#[test]
fn a_vault_on_a_read_only_filesystem_reads_and_refuses_writes_as_read_only() {
    let env = Env::new();
    let Some(fs) = Tmpfs::mount(&env.dir, "2m") else {
        return;
    };
    make_vaults(&env);
    std::fs::write(env.dir.join("foreign.db"), vec![7u8; 4096]).unwrap();
    fs.remount_read_only();

    // The library reads both kinds.
    let plain = Vault::open(env.dir.join("plain.db")).unwrap();
    assert_eq!(
        plain.get::<String>("token").unwrap().as_deref(),
        Some("plain-value")
    );
    assert!(matches!(plain.put("new", "x"), Err(Error::ReadOnly)));
    assert!(matches!(plain.cleanup_expired(), Err(Error::ReadOnly)));
    drop(plain);
    // `Vault::open` (create if missing) opens the existing file too.
    assert_eq!(
        Vault::open_or_create(env.dir.join("plain.db"))
            .unwrap()
            .len()
            .unwrap(),
        1
    );
    let pass = Passphrase::new(PASS).unwrap();
    let enc = LockedVault::open(env.vault_path())
        .unwrap()
        .unlock(&pass)
        .unwrap();
    assert_eq!(enc.keys().unwrap(), ["token"]);
    assert!(matches!(enc.put("new", "x"), Err(Error::ReadOnly)));
    drop(enc);

    // So does the binary; a write says read-only.
    assert_eq!(env.get("token"), b"s3cr3t-value");
    assert_eq!(env.names(), ["token"]);
    let out = env
        .pw()
        .args(["set", "other"])
        .write_stdin("v")
        .output()
        .unwrap();
    let line = assert_error(&out, 1, &["s3cr3t"]);
    assert!(line.contains("read-only"), "{line}");
    // A file that is not a vault is still called that.
    let err = Vault::open(env.dir.join("foreign.db")).unwrap_err();
    assert!(matches!(err, Error::NotAVault { .. }), "{err:?}");
    // Nothing was left beside the vaults (nothing could be).
    assert!(!env.dir.join("plain.db-wal").exists());
}

#[test]
fn a_vault_on_a_full_disk_reads_or_says_the_disk_is_full() {
    let env = Env::new();
    let Some(_fs) = Tmpfs::mount(&env.dir, "512k") else {
        return;
    };
    make_vaults(&env);
    let filler = fill(&env.dir);

    match Vault::open(env.dir.join("plain.db")) {
        Ok(plain) => assert_eq!(
            plain.get::<String>("token").unwrap().as_deref(),
            Some("plain-value")
        ),
        Err(e) => {
            eprintln!("full disk, library: {e}");
            assert!(matches!(e, Error::Full), "{e:?}")
        }
    }
    for args in [&["get", "-n", "token"][..], &["ls"]] {
        let out = env.pw().args(args).output().unwrap();
        if out.status.success() {
            eprintln!("full disk, {args:?}: read");
            continue;
        }
        let line = assert_error(&out, 1, &["s3cr3t"]);
        eprintln!("full disk, {args:?}: {line}");
        assert!(line.contains("full"), "{args:?}: {line}");
        assert!(!line.contains("not a vault"), "{args:?}: {line}");
    }

    // Space again: everything is there, and writes work.
    std::fs::remove_file(filler).unwrap();
    assert_eq!(env.get("token"), b"s3cr3t-value");
    env.set("after", "x", &[]);
    let plain = Vault::open(env.dir.join("plain.db")).unwrap();
    assert_eq!(
        plain.get::<String>("token").unwrap().as_deref(),
        Some("plain-value")
    );
    plain.close().unwrap();
}
