//! `export` and `import` of many entries, and exports cut short: an export
//! is written beside its final name and renamed, so a killed one leaves no
//! torn backup; both stream, so memory stays bounded (checked under
//! `prlimit --as`).
//!
//! The bulk size is 200,000 entries (a few seconds in a debug build);
//! `VAULTS_TEST_BULK_ENTRIES=1000000` runs the larger case.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::cli_util;

use std::path::Path;
use std::time::Duration;

use cli_util::{Env, assert_success};
use serde_json::{Value, json};

/// An export document of `n` small text entries.
fn export_of(n: usize) -> Vec<u8> {
    let entries: Vec<Value> = (0..n)
        .map(|i| {
            json!({"name": format!("app/key{i:07}"), "encoding": "text",
                   "value": format!("{:032}", i), "expires_at": null})
        })
        .collect();
    serde_json::to_vec(&json!({"format": "vaults-export", "version": 1, "entries": entries}))
        .unwrap()
}

/// A plain vault holding `n` entries of about 1 KiB each.
fn filled(n: usize) -> Env {
    let env = Env::new();
    env.init_plain();
    let entries: Vec<Value> = (0..n)
        .map(|i| json!({"name": format!("k{i:05}"), "encoding": "text", "value": "x".repeat(1000)}))
        .collect();
    let doc = json!({"format": "vaults-export", "version": 1, "entries": entries});
    let file = env.write("seed.json", serde_json::to_vec(&doc).unwrap());
    assert_success(&env.cmd().arg("import").arg(&file).output().unwrap());
    env
}

/// The names of the files in `dir`.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Regression: a killed `export --out` left a truncated backup under the
/// final name. Here the kernel kills it (SIGXFSZ) once it has written 256
/// KiB of a 2 MB export, at the same point every run.
#[test]
fn an_export_killed_mid_write_leaves_no_file_under_its_name() {
    let env = filled(2000);
    let out_dir = env.file("backups");
    std::fs::create_dir(&out_dir).unwrap();
    let target = out_dir.join("backup.json");
    let out = env
        .sh("prlimit --fsize=262144 \"$VAULTS_BIN\" export --plaintext --out \"$T\"")
        .env("T", &target)
        .output()
        .unwrap();
    assert!(!out.status.success(), "the export was not cut short");
    assert!(!target.exists(), "a torn backup under the final name");
    // What is left is a hidden temporary, never the final name.
    for name in listing(&out_dir) {
        assert!(name.starts_with(".vaults-export-"), "{name}");
    }

    // With --force, the backup it would replace stays whole.
    std::fs::write(&target, "the previous backup").unwrap();
    let out = env
        .sh("prlimit --fsize=262144 \"$VAULTS_BIN\" export --plaintext --force --out \"$T\"")
        .env("T", &target)
        .output()
        .unwrap();
    assert!(!out.status.success(), "the export was not cut short");
    assert_eq!(
        std::fs::read_to_string(&target).unwrap(),
        "the previous backup"
    );

    // Uncut, it replaces it with the whole export, owner-only.
    let out = env
        .cmd()
        .args(["export", "--plaintext", "--force", "--out"])
        .arg(&target)
        .output()
        .unwrap();
    assert_success(&out);
    let doc: Value = serde_json::from_slice(&std::fs::read(&target).unwrap()).unwrap();
    assert_eq!(doc["entries"].as_array().unwrap().len(), 2000);
    assert_eq!(cli_util::mode(&target), 0o600);
}

/// Runs `export --plaintext --out TARGET` and kills it (`kill -9`) as soon
/// as its temporary file is seen; whether it was caught before its rename
/// (it may finish first: the caller tries again).
fn export_killed_while_writing(env: &Env, target: &Path) -> bool {
    let out_dir = target.parent().unwrap();
    let mut child = std::process::Command::new(cli_util::BIN)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("VAULTS_DIR", &env.dir)
        .env("VAULTS_PLAIN", "1")
        .env("VAULTS_NO_INPUT", "1")
        .args(["export", "--plaintext", "--out"])
        .arg(target)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let caught = loop {
        if listing(out_dir)
            .iter()
            .any(|n| n.starts_with(".vaults-export-"))
        {
            child.kill().unwrap();
            break true;
        }
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
            assert!(status.success(), "the export failed: {status:?}: {err}");
            break false;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the export never started"
        );
        std::thread::yield_now();
    };
    child.wait().unwrap();
    // Killed after its rename: it had finished.
    caught && !target.exists()
}

/// A `kill -9` while the export writes: the final name is absent, and what
/// is left is one hidden temporary beside it, owner-only (a killed export
/// cannot remove it; see README, "export --out").
#[test]
fn an_export_killed_with_sigkill_leaves_no_torn_backup() {
    let env = filled(5000);
    let out_dir = env.file("backups");
    std::fs::create_dir(&out_dir).unwrap();
    let target = out_dir.join("backup.json");
    // The export takes far longer than a look at the folder, but may still
    // finish between the look and the kill: a few tries, never a skip.
    let caught = (0..10).any(|_| {
        if export_killed_while_writing(&env, &target) {
            return true;
        }
        // It finished: the backup is whole; clear it for the next try.
        let doc: Value = serde_json::from_slice(&std::fs::read(&target).unwrap())
            .expect("a backup under the final name is whole");
        assert_eq!(doc["entries"].as_array().unwrap().len(), 5000);
        std::fs::remove_file(&target).unwrap();
        false
    });
    assert!(caught, "no export was caught before its rename in 10 tries");
    assert!(!target.exists(), "a torn backup under the final name");
    let left = listing(&out_dir);
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(left[0].starts_with(".vaults-export-"), "{left:?}");
    let temp = out_dir.join(&left[0]);
    assert_eq!(cli_util::mode(&temp), 0o600);
    // It holds the start of the export (plaintext JSON: `--plaintext`).
    let written = std::fs::read(&temp).unwrap();
    assert!(
        written.is_empty() || written.starts_with(b"{"),
        "{:?}",
        &written[..written.len().min(64)]
    );
}

/// How many entries the bulk test uses.
fn bulk_entries() -> usize {
    std::env::var("VAULTS_TEST_BULK_ENTRIES")
        .ok()
        .map(|n| n.parse().expect("VAULTS_TEST_BULK_ENTRIES is a number"))
        .unwrap_or(200_000)
}

/// Regression: `export` of 1M entries peaked at 0.75–1.2 GiB and `import` of
/// that file at 1.2 GiB. Now an import holds one entry at a time, and an
/// export the sorted names (about 64 bytes each) and one entry. The caps
/// below are what the binary itself takes plus that: a build that reads or
/// builds the whole document (at 200,000 entries it needs over 64 MiB) is
/// aborted by them.
#[test]
fn bulk_export_and_import_stay_within_a_memory_cap() {
    let n = bulk_entries();
    let env = Env::new();
    env.init_plain();
    let seed = env.write("seed.json", export_of(n));
    let base: u64 = 48 << 20;
    let import_cap = base;
    let export_cap = base + 64 * n as u64;

    let out = env
        .sh("prlimit --as=$CAP \"$VAULTS_BIN\" import \"$F\"")
        .env("CAP", import_cap.to_string())
        .env("F", &seed)
        .timeout(Duration::from_secs(600))
        .output()
        .unwrap();
    assert_success(&out);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("imported {n} entries (0 already expired, skipped)\n")
    );

    let dump = env.file("dump.json");
    let out = env
        .sh("prlimit --as=$CAP \"$VAULTS_BIN\" export --plaintext --out \"$F\"")
        .env("CAP", export_cap.to_string())
        .env("F", &dump)
        .timeout(Duration::from_secs(600))
        .output()
        .unwrap();
    assert_success(&out);
    let doc: Value = serde_json::from_slice(&std::fs::read(&dump).unwrap()).unwrap();
    let entries = doc["entries"].as_array().unwrap();
    assert_eq!(entries.len(), n);
    assert_eq!(entries[n - 1]["name"], format!("app/key{:07}", n - 1));
    assert_eq!(entries[n - 1]["value"], format!("{:032}", n - 1));
}

/// An age export is decrypted as it is imported, a 64 KiB chunk at a time:
/// a chunk modified past the first entries must still leave nothing
/// imported (one transaction), and say the file was modified.
#[test]
fn a_modified_age_export_imports_nothing() {
    let env = filled(1000);
    let backup = env.file("backup.age");
    let out = env
        .cmd()
        .env("VAULTS_EXPORT_PASSPHRASE", "export pass")
        .args(["export", "--out"])
        .arg(&backup)
        .output()
        .unwrap();
    assert_success(&out);
    let armored = std::fs::read_to_string(&backup).unwrap();
    let lines: Vec<&str> = armored.lines().collect();
    // A line of base64 about three quarters in: well past the first chunk.
    let at = lines.len() * 3 / 4;
    let mut line: Vec<u8> = lines[at].bytes().collect();
    line[10] = if line[10] == b'A' { b'B' } else { b'A' };
    let mut edited: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
    edited[at] = String::from_utf8(line).unwrap();
    let modified = env.write("modified.age", edited.join("\n") + "\n");
    let cut = env.write("cut.age", lines[..at].join("\n") + "\n");

    let fresh = Env::new();
    fresh.init_plain();
    for file in [&modified, &cut] {
        let out = fresh
            .cmd()
            .env("VAULTS_EXPORT_PASSPHRASE", "export pass")
            .arg("import")
            .arg(file)
            .output()
            .unwrap();
        cli_util::assert_error(&out, 4, &["export pass"]);
        assert!(fresh.names().is_empty(), "a partial import");
    }
}
