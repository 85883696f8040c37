//! A whole vault file made of fuzzer bytes: opened as plain and as encrypted,
//! it gives a typed error or a vault that answers reads, never a panic or a
//! hang.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vaults::{Durability, LockedVault, OpenOptions, Store};

fuzz_target!(|data: &[u8]| {
    let Ok(dir) = tempfile::tempdir() else { return };
    let path = dir.path().join("fuzz.db");
    if std::fs::write(&path, data).is_err() {
        return;
    }
    let options = OpenOptions::new()
        .durability(Durability::Normal)
        .busy_timeout(std::time::Duration::from_millis(10));
    if let Ok(vault) = options.open(&path) {
        let _ = vault.len();
        let _ = vault.keys();
        let _ = vault.items::<ciborium::Value>();
        let _ = vault.get::<String>("a");
        let _ = vault.ttl("a");
        let _ = vault.cleanup_expired();
    }
    if let Ok(locked) = LockedVault::open_with(&options, &path) {
        let _ = locked.slots();
        let _ = locked.cleanup_expired();
    }
});
