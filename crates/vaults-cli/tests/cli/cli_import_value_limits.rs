//! `import` reads the JSON value of an entry within the item limit of a
//! stored value (`vaults::MAX_ITEMS`, as CBOR decoding): a value of many
//! small items is refused with a clear error, not built at 32 bytes an item
//! until memory runs out.
//!
//! Regression: one entry whose value was 40 MiB of `0,` (20 Mi items, about
//! 1 GiB as a `serde_json::Value`) aborted the import under a memory cap.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::cli_util;

use std::io::Write;

use cli_util::{Env, assert_error, assert_success};

/// An export of one `encoding: json` entry whose value is an array of
/// `zeros` zeros, written to a file of the test.
fn array_export(env: &Env, file: &str, zeros: usize) -> std::path::PathBuf {
    let path = env.file(file);
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    out.write_all(
        br#"{"format":"vaults-export","version":1,"entries":[{"name":"big","encoding":"json","value":["#,
    )
    .unwrap();
    for i in 0..zeros {
        out.write_all(if i == 0 { b"0" } else { b",0" }).unwrap();
    }
    out.write_all(b"]}]}").unwrap();
    out.into_inner().unwrap().sync_all().unwrap();
    path
}

#[test]
fn a_json_value_of_40_mib_of_items_is_refused_under_a_memory_cap() {
    let env = Env::new();
    env.init_plain();
    let file = array_export(&env, "huge.json", 20 << 20);
    let out = env
        .sh("prlimit --as=$((256 << 20)) \"$VAULTS_BIN\" import \"$F\"")
        .env("F", &file)
        .output()
        .unwrap();
    let err = assert_error(&out, 1, &[]);
    assert!(
        err.contains("entry 1 of the export") && err.contains("more items than a vault reads"),
        "{err}"
    );
    assert!(env.names().is_empty());
}

/// The limit is the one a vault reads back: an array and its elements are
/// `MAX_ITEMS` items at most.
#[test]
fn the_item_limit_is_the_one_a_stored_value_has() {
    let env = Env::new();
    env.init_plain();
    let over = array_export(&env, "over.json", vaults::MAX_ITEMS);
    let out = env.cmd().arg("import").arg(&over).output().unwrap();
    let err = assert_error(&out, 1, &[]);
    assert!(err.contains("1048576 items"), "{err}");
    assert!(env.names().is_empty());

    let at = array_export(&env, "at.json", vaults::MAX_ITEMS - 1);
    assert_success(&env.cmd().arg("import").arg(&at).output().unwrap());
    let out = env.cmd().args(["get", "big"]).output().unwrap();
    assert_success(&out);
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(value.as_array().unwrap().len(), vaults::MAX_ITEMS - 1);
}
