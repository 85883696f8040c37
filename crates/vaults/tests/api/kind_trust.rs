//! The `kind` record is outside the metadata MAC: an attacker who sets it to
//! `plain` must not get an encrypted vault opened as a plain one (new
//! secrets would then be stored in clear). A file carrying any encrypted
//! vault's record is refused as plain, whatever `kind` says; and keyring
//! entries named by unauthenticated slots are only deleted when they open
//! this very vault.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use keyring_core::CredentialStore;
use vaults::{
    EncryptedVault, Error, Integrity, Keyring, Kind, LockedVault, ManualClock, SlotInfo, Store,
    Vault,
};
use vaults_test_support::encrypted::*;

const PASS: &str = "kind-trust correct horse";

/// An encrypted vault, closed, with one entry.
fn encrypted() -> (tempfile::TempDir, std::path::PathBuf) {
    let (dir, path) = temp_path();
    let vault = create(&path, PASS, &ManualClock::new(T0)).unwrap();
    vault.put("db/password", "hunter2").unwrap();
    vault.close().unwrap();
    (dir, path)
}

fn set_kind_plain(path: &std::path::Path) {
    meta_put(&raw(path), "kind", b"plain");
}

/// Every way to open the file as plain, and as encrypted, fails with
/// `Integrity(Kind)`.
#[track_caller]
fn assert_refused(path: &std::path::Path) {
    assert_integrity(Vault::open_or_create(path), Integrity::Kind);
    assert_integrity(Vault::open(path), Integrity::Kind);
    assert_integrity(LockedVault::open(path), Integrity::Kind);
}

#[test]
fn an_encrypted_vault_relabelled_plain_is_refused() {
    let (_dir, path) = encrypted();
    set_kind_plain(&path);
    assert_refused(&path);
    let msg = Error::Integrity(Integrity::Kind).to_string();
    assert_eq!(msg, "integrity check failed for the vault kind");
}

#[test]
fn any_single_encrypted_record_left_is_enough_to_refuse() {
    for keep in ["crypto", "generation", "mac", "slot.0000000001"] {
        let (_dir, path) = encrypted();
        let conn = raw(&path);
        conn.exec(
            "DELETE FROM meta WHERE name NOT IN ('vault_id', 'kind', ?1)",
            &[keep.into()],
        );
        drop(conn);
        set_kind_plain(&path);
        assert_refused(&path);
    }
}

#[test]
fn a_plain_vault_with_an_added_record_is_refused_as_plain() {
    let (_dir, path) = temp_path();
    Vault::open_or_create(&path).unwrap().put("a", &1).unwrap();
    meta_put(&raw(&path), "slot.0000000001", b"\x01\x01");
    assert_integrity(Vault::open_or_create(&path), Integrity::Kind);
}

#[test]
fn plain_and_encrypted_vaults_still_open() {
    let (_dir, path) = encrypted();
    let vault = EncryptedVault::open(&path, &pass(PASS)).unwrap();
    assert_eq!(
        vault.get::<String>("db/password").unwrap().as_deref(),
        Some("hunter2")
    );
    let (_dir, plain) = temp_path();
    Vault::open_or_create(&plain).unwrap().put("a", &1).unwrap();
    assert_eq!(
        Vault::open(&plain).unwrap().get::<i32>("a").unwrap(),
        Some(1)
    );
    assert!(matches!(
        err(LockedVault::open(&plain)),
        Error::WrongKind {
            expected: Kind::Encrypted,
            found: Kind::Plain
        }
    ));
}

/// A keyring (mock) store shared by every handle of one test.
fn keyring() -> (Arc<CredentialStore>, Keyring) {
    let store: Arc<CredentialStore> = keyring_core::mock::Store::new().unwrap();
    (store.clone(), Keyring::with_store(store))
}

/// Whether the keyring holds a secret under `account`.
fn has_secret(store: &Arc<CredentialStore>, account: &str) -> bool {
    match keyring_core::Entry::new_in_store(store, "vaults", account)
        .unwrap()
        .get_secret()
    {
        Ok(_) => true,
        Err(keyring_core::Error::NoEntry) => false,
        Err(e) => panic!("{e}"),
    }
}

/// A new encrypted vault with a keyring slot; returns its account and the
/// slot's record as stored.
fn with_keyring_slot(path: &std::path::Path, ring: &Keyring) -> (String, Vec<u8>) {
    let mut vault = create(path, PASS, &ManualClock::new(T0)).unwrap();
    vault.set_keyring(ring.clone());
    let id = vault.add_keyring_slot().unwrap();
    let account = vault
        .slots()
        .unwrap()
        .into_iter()
        .find_map(|s| match s {
            SlotInfo::Keyring { account, .. } => Some(account),
            _ => None,
        })
        .expect("a keyring slot");
    vault.close().unwrap();
    (account, meta_get(&raw(path), &slot_name(id)).unwrap())
}

/// Issue item 8: `destroy` of a locked vault deleted the keyring entry of
/// every account its (unauthenticated) slot records name, so a slot record
/// copied from another vault made `destroy` delete that vault's secret.
#[test]
fn destroy_leaves_keyring_entries_that_do_not_open_this_vault() {
    let (store, ring) = keyring();
    let (_dir_b, path_b) = temp_path();
    let (account_b, record_b) = with_keyring_slot(&path_b, &ring);

    // Vault A, with B's keyring slot record pasted in as slot 99.
    let (_dir_a, path_a) = temp_path();
    create(&path_a, PASS, &ManualClock::new(T0))
        .unwrap()
        .close()
        .unwrap();
    meta_put(&raw(&path_a), &slot_name(99), &record_b);
    LockedVault::open(&path_a)
        .unwrap()
        .with_keyring(ring.clone())
        .destroy()
        .unwrap();
    assert!(!path_a.exists());
    assert!(
        has_secret(&store, &account_b),
        "B's keyring secret was deleted"
    );
    LockedVault::open(&path_b)
        .unwrap()
        .unlock_with_keyring(&ring)
        .unwrap();
}

#[test]
fn destroy_without_the_key_still_forgets_its_own_keyring_entries() {
    let (store, ring) = keyring();
    let (_dir, path) = temp_path();
    let (account, _) = with_keyring_slot(&path, &ring);
    assert!(has_secret(&store, &account));
    LockedVault::open(&path)
        .unwrap()
        .with_keyring(ring.clone())
        .destroy()
        .unwrap();
    assert!(!path.exists());
    assert!(!has_secret(&store, &account));

    // The unlocked handle's destroy forgets them too.
    let (_dir, path) = temp_path();
    let (account, _) = with_keyring_slot(&path, &ring);
    let mut vault = EncryptedVault::open(&path, &pass(PASS)).unwrap();
    vault.set_keyring(ring.clone());
    vault.destroy().unwrap();
    assert!(!has_secret(&store, &account));
}
