//! `export` reads the vault in a snapshot (a WAL read transaction), not
//! under the write lock: an export into a reader that does not keep up
//! blocks no writer, and still writes the vault as it was when it began.
//!
//! Regression: `export` ran in `BEGIN IMMEDIATE`, so `vaults export |
//! slow-reader` made every `vaults set` meanwhile exit 5 (busy).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::cli_util;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cli_util::{BIN, Env, assert_success};
use serde_json::{Value, json};

/// Waits (bounded) until `cond` holds, or panics with `what`.
fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Whether process `pid` is blocked in `write(1, ...)` (Linux `/proc`).
fn writing_stdout(pid: u32) -> bool {
    #[cfg(target_arch = "x86_64")]
    const WRITE: &str = "1";
    #[cfg(target_arch = "aarch64")]
    const WRITE: &str = "64";
    std::fs::read_to_string(format!("/proc/{pid}/syscall"))
        .is_ok_and(|s| s.starts_with(&format!("{WRITE} 0x1 ")))
}

#[test]
fn a_blocked_export_holds_up_no_writer_and_writes_its_snapshot() {
    let env = Env::new();
    env.init_plain();
    // About 1 MB of JSON: far more than a pipe (64 KiB) and the export's
    // buffer (64 KiB) hold, so the export blocks long before its end.
    let names: Vec<String> = (0..1000).map(|i| format!("k{i:04}")).collect();
    let entries: Vec<Value> = names
        .iter()
        .map(|n| json!({"name": n, "encoding": "text", "value": "x".repeat(1000)}))
        .collect();
    let seed = env.write(
        "seed.json",
        serde_json::to_vec(&json!({"format": "vaults-export", "version": 1, "entries": entries}))
            .unwrap(),
    );
    assert_success(&env.cmd().arg("import").arg(&seed).output().unwrap());

    let mut export = Command::new(BIN)
        .args(["export", "--plaintext"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("VAULTS_DIR", &env.dir)
        .env("VAULTS_PLAIN", "1")
        .env("VAULTS_NO_INPUT", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The test reads nothing yet: once the pipe is full, the export is
    // blocked in `write`, inside its read of the vault.
    let pid = export.id();
    wait_for("the export to fill its pipe", || writing_stdout(pid));

    let set = env
        .cmd()
        .args(["--busy-timeout", "500ms", "set", "added-meanwhile"])
        .write_stdin("new value")
        .output()
        .unwrap();
    assert!(
        export.try_wait().unwrap().is_none(),
        "the export ended before the write"
    );
    assert_success(&set);

    let mut out = Vec::new();
    export.stdout.take().unwrap().read_to_end(&mut out).unwrap();
    let status = export.wait().unwrap();
    assert!(status.success(), "export failed: {status:?}");
    let doc: Value = serde_json::from_slice(&out).expect("a whole export");
    let exported: Vec<&str> = doc["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    // Exactly the entries there when it began: not the one added meanwhile.
    assert_eq!(exported, names);
    for entry in doc["entries"].as_array().unwrap() {
        assert_eq!(entry["value"], "x".repeat(1000));
    }
    // The write did commit.
    assert!(env.names().contains(&"added-meanwhile".to_owned()));
}
