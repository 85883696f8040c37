//! Hostile surroundings, for plain and encrypted vaults alike: a file cut at
//! every 4 KiB page boundary, a read-only file, a read-only folder, a full
//! disk (SQLite's `max_page_count`, through `OpenOptions::max_size`). Each
//! gives a typed error, never a panic and never a wrong value; what was
//! stored before stays intact, and writes work again once the way is clear.
//!
//! (Zero-filled, random and foreign files, future versions and flipped bits
//! are in `bad_input.rs` and `tamper.rs`; file modes in `open.rs`.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use vaults::{
    EncryptedVault, Error, KdfParams, LockedVault, OpenOptions, Passphrase, Store, Vault,
};
use vaults_test_support::{TestResult, assert_no_leak, check_child, child_command, child_env};

const PASSPHRASE: &str = "hostile files passphrase";
const PAGE: usize = 4096;

/// Which kind of vault a test runs on.
#[derive(Debug, Clone, Copy)]
enum Flavour {
    Plain,
    Encrypted,
}

/// A vault of either kind.
enum AnyVault {
    Plain(Vault),
    Encrypted(EncryptedVault),
}

fn pass() -> Passphrase {
    Passphrase::new(PASSPHRASE).unwrap()
}

/// Creates a vault of `flavour` at `path`.
fn create(flavour: Flavour, path: &Path) -> vaults::Result<AnyVault> {
    Ok(match flavour {
        Flavour::Plain => AnyVault::Plain(Vault::open_or_create(path)?),
        Flavour::Encrypted => {
            AnyVault::Encrypted(EncryptedVault::create(path, &pass(), KdfParams::MIN)?)
        }
    })
}

/// Opens the existing vault of `flavour` at `path` with `options`.
fn open(flavour: Flavour, path: &Path, options: &OpenOptions) -> vaults::Result<AnyVault> {
    Ok(match flavour {
        Flavour::Plain => AnyVault::Plain(options.clone().open(path)?),
        Flavour::Encrypted => {
            AnyVault::Encrypted(LockedVault::open_with(options, path)?.unlock(&pass())?)
        }
    })
}

fn items<S: Store>(s: &S) -> vaults::Result<BTreeMap<String, String>> {
    Ok(s.items()?.into_iter().collect())
}

impl AnyVault {
    fn items(&self) -> vaults::Result<BTreeMap<String, String>> {
        match self {
            AnyVault::Plain(v) => items(v),
            AnyVault::Encrypted(v) => items(v),
        }
    }

    fn put(&self, name: &str, value: &str) -> vaults::Result<()> {
        match self {
            AnyVault::Plain(v) => v.put(name, value),
            AnyVault::Encrypted(v) => v.put(name, value),
        }
    }

    fn put_many(&self, entries: &BTreeMap<String, String>) -> vaults::Result<()> {
        match self {
            AnyVault::Plain(v) => v.put_many(entries),
            AnyVault::Encrypted(v) => v.put_many(entries),
        }
    }

    fn remove(&self, name: &str) -> vaults::Result<bool> {
        match self {
            AnyVault::Plain(v) => v.remove(name),
            AnyVault::Encrypted(v) => v.remove(name),
        }
    }

    fn cleanup_expired(&self) -> vaults::Result<u64> {
        match self {
            AnyVault::Plain(v) => v.cleanup_expired(),
            AnyVault::Encrypted(v) => v.cleanup_expired(),
        }
    }

    fn close(self) -> vaults::Result<()> {
        match self {
            AnyVault::Plain(v) => v.close(),
            AnyVault::Encrypted(v) => v.close(),
        }
    }
}

/// `n` entries of about `size` bytes each, named `prefix-NNN`.
fn entries(prefix: &str, n: usize, size: usize) -> BTreeMap<String, String> {
    (0..n)
        .map(|i| {
            (
                format!("{prefix}-{i:03}"),
                format!("{prefix}:{i}:").repeat(size / 8),
            )
        })
        .collect()
}

fn integrity_ok(path: &Path) -> TestResult {
    let conn = rusqlite::Connection::open(path)?;
    let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
    assert_eq!(check, "ok");
    Ok(())
}

fn cut_at_every_page_boundary(flavour: Flavour) -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("whole.db");
    let stored = entries("entry", 150, 1000);
    let vault = create(flavour, &path)?;
    vault.put_many(&stored)?;
    vault.close()?;
    let bytes = std::fs::read(&path)?;
    assert_eq!(bytes.len() % PAGE, 0);
    let pages = bytes.len() / PAGE;
    assert!(pages >= 30, "only {pages} pages");

    let cut_path = dir.path().join("cut.db");
    for kept in 1..pages {
        std::fs::write(&cut_path, &bytes[..kept * PAGE])?;
        let outcome = open(flavour, &cut_path, &OpenOptions::new()).and_then(|v| v.items());
        match outcome {
            Err(err) => {
                assert!(
                    matches!(
                        err,
                        Error::NotAVault { .. } | Error::Corrupt { .. } | Error::Sqlite(_)
                    ),
                    "{flavour:?}, {kept} of {pages} pages: {err:?}"
                );
                assert_no_leak(&err, &[PASSPHRASE, "entry-0", "entry:1"]);
            }
            Ok(found) => panic!(
                "{flavour:?}: cut to {kept} of {pages} pages, the vault opened and listed {} of {} \
                 entries without an error",
                found.len(),
                stored.len()
            ),
        }
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", cut_path.display()));
        }
    }
    // The cuts were copies: the whole file is untouched and complete.
    assert_eq!(std::fs::read(&path)?, bytes);
    assert!(open(flavour, &path, &OpenOptions::new())?.items()? == stored);
    Ok(())
}

#[test]
fn a_plain_vault_cut_at_any_page_boundary_is_refused() -> TestResult {
    cut_at_every_page_boundary(Flavour::Plain)
}

#[test]
fn an_encrypted_vault_cut_at_any_page_boundary_is_refused() -> TestResult {
    cut_at_every_page_boundary(Flavour::Encrypted)
}

fn full_disk(flavour: Flavour) -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("full.db");
    create(flavour, &path)?.close()?;
    let capped = OpenOptions::new().max_size(128 * 1024);
    let vault = open(flavour, &path, &capped)?;

    // Fill it one put at a time until it is full.
    let mut stored = BTreeMap::new();
    for (name, value) in entries("fill", 1000, 1000) {
        match vault.put(&name, &value) {
            Ok(()) => {
                stored.insert(name, value);
            }
            Err(Error::Full) => break,
            Err(e) => panic!("{flavour:?}: expected Full, got {e:?}"),
        }
    }
    assert!(
        (20..1000).contains(&stored.len()),
        "{flavour:?}: {} puts before full",
        stored.len()
    );
    // A batch fails whole, with the same typed error, and leaves nothing.
    let batch = entries("batch", 40, 1000);
    assert!(matches!(vault.put_many(&batch), Err(Error::Full)));
    assert!(
        vault.items()? == stored,
        "{flavour:?}: data changed by full writes"
    );
    // Deleting still works when full, and makes room.
    assert!(vault.remove("fill-000")?);
    stored.remove("fill-000");
    assert_eq!(vault.cleanup_expired()?, 0);
    vault.close()?;
    integrity_ok(&path)?;

    // Space is back: the same file takes writes again.
    let vault = open(flavour, &path, &OpenOptions::new())?;
    assert!(vault.items()? == stored);
    vault.put_many(&batch)?;
    stored.extend(batch);
    assert!(vault.items()? == stored);
    vault.close()?;
    integrity_ok(&path)
}

#[test]
fn a_full_plain_vault_refuses_writes_keeps_its_data_and_recovers() -> TestResult {
    full_disk(Flavour::Plain)
}

#[test]
fn a_full_encrypted_vault_refuses_writes_keeps_its_data_and_recovers() -> TestResult {
    full_disk(Flavour::Encrypted)
}

// Read-only files and folders. Root ignores permissions, so when the tests
// run as root (CI containers) the checks run in a child process under the
// `nobody` user (setpriv, util-linux), on files root prepared; otherwise
// they run in the test process on files it made read-only.

const ENV_DIR: &str = "VAULTS_TEST_READONLY_DIR";
const ENV_FLAVOUR: &str = "VAULTS_TEST_READONLY_FLAVOUR";

/// The read-only checks, run by the user who cannot write: `dir/file/v.db`
/// is a read-only file in a writable folder, `dir/folder/v.db` a writable
/// file in a read-only folder; both hold `stored`.
fn read_only_checks(dir: &Path, flavour: Flavour, stored: &BTreeMap<String, String>) -> TestResult {
    let options = OpenOptions::new();
    // A read-only file opens for reading; every write is refused as such.
    let vault = open(flavour, &dir.join("file/v.db"), &options)?;
    assert!(
        vault.items()? == *stored,
        "{flavour:?}: read-only file read back wrong"
    );
    assert!(matches!(vault.put("new", "value"), Err(Error::ReadOnly)));
    assert!(matches!(
        vault.put_many(&entries("more", 3, 10)),
        Err(Error::ReadOnly)
    ));
    assert!(matches!(vault.cleanup_expired(), Err(Error::ReadOnly)));
    assert!(matches!(vault.remove("entry-000"), Err(Error::ReadOnly)));
    assert!(vault.items()? == *stored);
    drop(vault);

    // In a read-only folder SQLite cannot make its WAL: refused at open.
    let err = open(flavour, &dir.join("folder/v.db"), &options).err();
    assert!(matches!(err, Some(Error::ReadOnly)), "{flavour:?}: {err:?}");
    // And no new vault can be made there.
    let err = create(flavour, &dir.join("folder/new.db")).err();
    assert!(matches!(err, Some(Error::ReadOnly)), "{flavour:?}: {err:?}");
    assert!(!dir.join("folder/new.db").exists());
    Ok(())
}

/// Child half of the read-only tests (as `nobody`, when run as root).
#[test]
#[ignore = "child process of the read-only tests: run by them as user nobody"]
fn read_only_child() -> TestResult {
    let dir = child_env(ENV_DIR);
    let flavour = match child_env(ENV_FLAVOUR).as_str() {
        "plain" => Flavour::Plain,
        "encrypted" => Flavour::Encrypted,
        other => panic!("unknown flavour {other:?}"),
    };
    read_only_checks(Path::new(&dir), flavour, &entries("entry", 20, 100))
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn set_mode(path: &Path, mode: u32) -> TestResult {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    Ok(())
}

/// The vault files under `dir` and their bytes. Beside a read-only file in
/// a writable folder SQLite leaves its index (`-shm`) and an empty `-wal`:
/// they must hold no write.
fn snapshot(dir: &Path) -> TestResult<BTreeMap<PathBuf, Vec<u8>>> {
    let mut out = BTreeMap::new();
    for sub in ["file", "folder"] {
        for entry in std::fs::read_dir(dir.join(sub))? {
            let path = entry?.path();
            let bytes = std::fs::read(&path)?;
            match path.extension().and_then(|e| e.to_str()) {
                Some("db") => {
                    out.insert(path, bytes);
                }
                Some("db-wal") => assert!(bytes.is_empty(), "a write reached {}", path.display()),
                _ => {}
            }
        }
    }
    Ok(out)
}

fn read_only(flavour: Flavour) -> TestResult {
    let stored = entries("entry", 20, 100);
    // Not under a 0700 temp folder of root's: `nobody` must reach it.
    let root = tempfile::Builder::new()
        .prefix("vaults-readonly-")
        .tempdir_in(std::env::temp_dir())?;
    let dir = root.path();
    for sub in ["file", "folder"] {
        std::fs::create_dir(dir.join(sub))?;
        let vault = create(flavour, &dir.join(sub).join("v.db"))?;
        vault.put_many(&stored)?;
        vault.close()?;
    }
    let before = snapshot(dir)?;
    let file = dir.join("file/v.db");
    let folder = dir.join("folder");
    let flavour_name = match flavour {
        Flavour::Plain => "plain",
        Flavour::Encrypted => "encrypted",
    };
    if is_root() {
        // Readable by nobody, writable only by root; `file/` open to all so
        // that only the file itself is read-only there.
        set_mode(dir, 0o755)?;
        set_mode(&dir.join("file"), 0o777)?;
        set_mode(&file, 0o644)?;
        set_mode(&folder, 0o755)?;
        set_mode(&folder.join("v.db"), 0o666)?;
        let as_nobody = |exe: &Path| {
            let child = child_command("hostile_files::read_only_child");
            Command::new("setpriv")
                .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
                .arg(exe)
                .args(child.get_args())
                .env(ENV_DIR, dir)
                .env(ENV_FLAVOUR, flavour_name)
                .output()
        };
        let exe = std::env::current_exe()?;
        let mut out = as_nobody(&exe)?;
        if !out.status.success()
            && String::from_utf8_lossy(&out.stderr).contains("Permission denied")
        {
            // The test binary itself is out of nobody's reach (a private
            // checkout): a copy of it in the folder nobody can read can.
            let copy = dir.join("test-binary");
            std::fs::copy(&exe, &copy)?;
            out = as_nobody(&copy)?;
        }
        check_child(&out)?;
    } else {
        set_mode(&file, 0o400)?;
        set_mode(&folder, 0o500)?;
        let checked = read_only_checks(dir, flavour, &stored);
        set_mode(&folder, 0o700)?;
        set_mode(&file, 0o600)?;
        checked?;
    }
    // Nothing changed, and nothing was left beside the vaults.
    assert!(
        snapshot(dir)? == before,
        "{flavour:?}: a read-only vault was changed"
    );
    // Writable again: writes work. (SQLite made `-wal` and `-shm` with the
    // file's mode of the time: they are the user's to restore too, as with
    // `chmod 600 v.db*`; the error says so.)
    for entry in std::fs::read_dir(dir.join("file"))? {
        set_mode(&entry?.path(), 0o600)?;
    }
    for path in [file, folder.join("v.db")] {
        let vault = open(flavour, &path, &OpenOptions::new())?;
        vault.put("after", "writable again")?;
        assert_eq!(vault.items()?.len(), stored.len() + 1);
        vault.close()?;
    }
    Ok(())
}

#[test]
fn read_only_plain_vaults_read_and_refuse_writes_with_a_typed_error() -> TestResult {
    read_only(Flavour::Plain)
}

#[test]
fn read_only_encrypted_vaults_read_and_refuse_writes_with_a_typed_error() -> TestResult {
    read_only(Flavour::Encrypted)
}
