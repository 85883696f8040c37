//! Writes the seed corpora of the fuzz targets to `fuzz/seeds/<target>/`.
//!
//! Run once after a format change (the seeds are committed):
//!
//! ```text
//! cargo test -p vaults --test api -- --ignored fuzz_seeds::write_fuzz_seeds
//! ```
//!
//! The seeds are real structures (vault files, key slot records, CBOR values,
//! `.env` files, export documents), so the fuzzer starts past the first checks.
//! The structured targets (`envelope`, `meta`, `ops`) take `arbitrary` input:
//! their seeds are corpora the fuzzer found, minimised with `cargo fuzz cmin`.
//! The non-ignored test checks that every target has seeds.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use vaults::{EncryptedVault, KdfParams, Passphrase, Store, Vault};

fn seeds_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/seeds")
        .join(target)
}

fn write(target: &str, name: &str, data: &[u8]) {
    let dir = seeds_dir(target);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), data).unwrap();
}

/// Rewrites a closed vault with 512-byte pages (so seeds stay small) and
/// without a WAL, and returns its bytes.
fn shrink(path: &Path) -> Vec<u8> {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.pragma_update(None, "journal_mode", "DELETE").unwrap();
    conn.pragma_update(None, "page_size", 512).unwrap();
    conn.execute_batch("VACUUM").unwrap();
    drop(conn);
    std::fs::read(path).unwrap()
}

fn cbor<T: serde::Serialize>(v: &T) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::into_writer(v, &mut out).unwrap();
    out
}

#[test]
#[ignore = "writes files into the source tree; run by hand after a format change"]
fn write_fuzz_seeds() {
    let tmp = tempfile::tempdir().unwrap();

    // Whole vault files.
    let plain = tmp.path().join("plain.db");
    let v = Vault::open_or_create(&plain).unwrap();
    v.put("host", "localhost").unwrap();
    v.put_with_ttl("session", &("alice", 7), Duration::from_secs(3600))
        .unwrap();
    v.put_bytes("blob", &[0, 1, 2, 255]).unwrap();
    v.close().unwrap();
    write("vault_file", "plain.db", &shrink(&plain));

    let enc = tmp.path().join("enc.db");
    let pass = Passphrase::new("fuzz").unwrap();
    let e = EncryptedVault::create(&enc, &pass, KdfParams::MIN).unwrap();
    e.put("token", "s3cr3t").unwrap();
    e.put_with_ttl("otp", &123_456, Duration::from_secs(60))
        .unwrap();
    e.close().unwrap();
    let conn = rusqlite::Connection::open(&enc).unwrap();
    let slots: Vec<Vec<u8>> = conn
        .prepare("SELECT value FROM meta WHERE name LIKE 'slot.%'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    drop(conn);
    write("vault_file", "encrypted.db", &shrink(&enc));

    // Key slot records (the passphrase slot of the vault above).
    for (i, slot) in slots.iter().enumerate() {
        write("slot", &format!("passphrase-{i}"), slot);
    }

    // CBOR values of the shapes the typed API stores.
    write("cbor", "text", &cbor(&"hello"));
    write("cbor", "tuple", &cbor(&("alice", 42u32, vec![1u8, 2, 3])));
    write(
        "cbor",
        "session",
        &cbor(
            &serde_json::json!({"user": "bob", "roles": ["admin"], "expires": 1_700_000_000u64, "extra": {"a": [1.5, null, true]}}),
        ),
    );
    write("cbor", "nested", &cbor(&vec![vec![vec![vec![1u8]]]]));

    // What the CLI parses.
    write("cli_input", "duration", b"1h30m");
    write(
        "cli_input",
        "env",
        b"# comment\nA=1\nexport B = two words # note\nC='lit'\nD=\"a\\nb\"\n",
    );
    write(
        "cli_input",
        "export.json",
        br#"{"format":"vaults-export","version":1,"entries":[{"name":"a","encoding":"text","value":"x","expires_at":null},{"name":"b","encoding":"json","value":{"k":[1,2]},"expires_at":1795631682245},{"name":"c","encoding":"base64","value":"AAEC","expires_at":null}]}"#,
    );
}

#[test]
fn committed_seeds_are_present() {
    for target in [
        "vault_file",
        "slot",
        "cbor",
        "cli_input",
        "envelope",
        "meta",
        "ops",
    ] {
        let n = std::fs::read_dir(seeds_dir(target))
            .map(|d| d.count())
            .unwrap_or(0);
        assert!(n > 0, "no seeds for {target}: run write_fuzz_seeds");
    }
}
