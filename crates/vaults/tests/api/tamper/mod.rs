//! An attacker edits a closed encrypted vault file with SQLite; every edit
//! must surface as a typed error when the vault is used — never a panic,
//! never a wrong value, never a secret in the message.
//!
//! Every name, value and passphrase here contains `XYZZY`, so one check on
//! each error's `Display` and `Debug` covers them all.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod expiry;
mod metadata;
mod rows;

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::path::{Path, PathBuf};
use std::time::Duration;

use vaults::Expiry;
use vaults::{Error, ExpireIf, Integrity, LockedVault, ManualClock, Passphrase, Store};
use vaults_test_support::encrypted::*;

const PASS: &str = "pass-XYZZY correct horse";
const OTHER_PASS: &str = "pass-XYZZY battery staple";
const MARKER: &str = "XYZZY";
/// The clock every vault here starts at (2023-11-14).
const HOUR: Duration = Duration::from_secs(3600);

/// Asserts `result` failed with `Integrity(what)` and names no secret.
#[track_caller]
fn expect_integrity<T: Debug>(result: vaults::Result<T>, what: Integrity) {
    let e = err(result);
    assert_names_no_secret(&e, &[MARKER]);
    assert!(
        matches!(e, Error::Integrity(found) if found == what),
        "expected Integrity({what:?}), got {e:?}"
    );
}

/// Asserts `result` failed with `KdfParams` and names no secret.
#[track_caller]
fn expect_kdf_params<T: Debug>(result: vaults::Result<T>) {
    let e = err(result);
    assert_names_no_secret(&e, &[MARKER]);
    assert!(matches!(e, Error::KdfParams { .. }), "got {e:?}");
}

/// A closed vault file holding some entries, and the stored key of each.
struct Built {
    _dir: tempfile::TempDir,
    path: PathBuf,
    clock: ManualClock,
    keys: BTreeMap<&'static str, Vec<u8>>,
}

impl Built {
    fn key(&self, name: &str) -> &[u8] {
        &self.keys[name]
    }

    fn open(&self) -> vaults::Result<vaults::EncryptedVault> {
        open(&self.path, PASS, &self.clock)
    }
}

/// Builds a vault at T0 with `(name, value, ttl)` entries, then closes it.
fn build(entries: &[(&'static str, &str, Option<Duration>)]) -> Built {
    let (dir, path) = temp_path();
    let clock = ManualClock::new(T0);
    let vault = create(&path, PASS, &clock).unwrap();
    let mut keys = BTreeMap::new();
    for &(name, value, ttl) in entries {
        let key = stored_key_of(&path, || match ttl {
            None => vault.put(name, value).unwrap(),
            Some(ttl) => vault.put_with_ttl(name, value, ttl).unwrap(),
        });
        keys.insert(name, key);
    }
    vault.close().unwrap();
    Built {
        _dir: dir,
        path,
        clock,
        keys,
    }
}

/// Two plain entries, `a-XYZZY` and `b-XYZZY`.
fn two_entries() -> Built {
    build(&[
        ("a-XYZZY", "value-a-XYZZY", None),
        ("b-XYZZY", "value-b-XYZZY", None),
    ])
}

#[test]
fn error_messages_name_no_secret() -> TestResult {
    // Every error the attacks above produce, shown both ways.
    let errors = [
        Error::Integrity(Integrity::Entry),
        Error::Integrity(Integrity::Name),
        Error::Integrity(Integrity::Metadata),
        Error::Integrity(Integrity::Slot),
        Error::WrongPassphrase,
        Error::KeyRotated,
        Error::EmptyPassphrase,
    ];
    for e in &errors {
        let shown = format!("{e} {e:?}");
        assert!(!shown.is_empty());
        assert_names_no_secret(e, &[MARKER]);
    }
    // And a real one, from a vault whose names and values are the secrets.
    let b = two_entries();
    let conn = raw(&b.path);
    let mut r = row(&conn, b.key("a-XYZZY"));
    r.value[40] ^= 1;
    write_row(&conn, &r);
    drop(conn);
    let vault = b.open()?;
    let e = err(vault.get::<String>("a-XYZZY"));
    assert_names_no_secret(&e, &[MARKER, "a-XYZZY", "value-a-XYZZY", PASS]);
    assert_eq!(e.to_string(), "integrity check failed for an entry");
    Ok(())
}
