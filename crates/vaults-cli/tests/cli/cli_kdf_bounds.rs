//! The work of one unlock is bounded (issue item 5): a slot planted at the
//! old ceiling, a slot count past 16 or an expensive slot tried first cost
//! nothing before the metadata MAC can fail; slots above the ceiling are
//! skipped with a warning, `--slot` names the one to try, and
//! `--allow-slow-unlock` raises the ceiling for slots written with more.
//!
//! The vault files are real, edited with SQL as an attacker would. No test
//! times anything: each asserts on the outcome (a skip warning, which slot's
//! Argon2 ran, the error).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::cli_util;

use cli_util::*;
use vaults::{KdfCeiling, KdfParams, LockedVault, Passphrase};
use vaults_test_support::encrypted::{meta_get, meta_put, raw, slot_name};

const OTHER: &str = "another passphrase, for slot 2";

/// Plants slot `id`: a copy of slot 1's record with these Argon2 parameters
/// (its tag no longer matches, and the metadata MAC does not cover it).
fn plant_slot(env: &Env, id: u32, memory_kib: u32, iterations: u32, lanes: u32) {
    let conn = raw(&env.vault_path());
    let mut record = meta_get(&conn, &slot_name(1)).expect("slot 1");
    assert_eq!(&record[..2], &[1, 1], "a version-1 passphrase slot");
    record[2..6].copy_from_slice(&memory_kib.to_be_bytes());
    record[6..10].copy_from_slice(&iterations.to_be_bytes());
    record[10..14].copy_from_slice(&lanes.to_be_bytes());
    meta_put(&conn, &slot_name(id), &record);
}

/// stderr of a run as text.
fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_slot_planted_at_the_old_ceiling_is_skipped_not_run() {
    let env = Env::new();
    env.init().set("k", "v", &[]);
    // 4 GiB, 20 passes, 16 lanes: 340 s and 4.2 GB before this fix. Slot 0
    // sorts before the genuine slot 1.
    plant_slot(&env, 0, 4 * 1024 * 1024, 20, 16);
    let out = env.pw().arg("ls").output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(4), "stderr: {err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "a warning, then the error: {err}");
    assert_eq!(
        lines[0],
        "vaults: warning: key slot 0 skipped: argon2 memory above the ceiling of 1 GiB \
         (--allow-slow-unlock tries it)"
    );
    // The genuine slot opened; the MAC then catches the planted one.
    assert!(
        lines[1].starts_with("vaults: integrity check failed for the vault metadata"),
        "{err}"
    );
    assert!(!err.contains(PASS));
}

#[test]
fn a_planted_expensive_slot_within_the_ceiling_is_tried_after_the_genuine_one() {
    let env = Env::new();
    env.init();
    // At the new ceiling (1 GiB, 10 passes: ~11 s here), sorted first by id.
    plant_slot(&env, 0, 1024 * 1024, 10, 8);
    let out = env
        .pw()
        .env("VAULTS_LOG", "debug")
        .env("NO_COLOR", "1")
        .arg("ls")
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(4), "stderr: {err}");
    assert!(err.contains("integrity check failed for the vault metadata"));
    let derived: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("deriving the key of a passphrase slot"))
        .collect();
    assert_eq!(derived.len(), 1, "one Argon2 run: {err}");
    assert!(derived[0].ends_with("slot=1"), "the genuine slot: {err}");
}

#[test]
fn more_than_16_slots_are_refused_before_any_argon2() {
    let env = Env::new();
    env.init();
    for id in 2..=16 {
        plant_slot(&env, id, 19 * 1024, 2, 1);
    }
    // 16 slots: tried, cheapest first (all equal, so slot 1 first), and
    // the MAC catches the planted ones.
    let out = env.pw().arg("ls").output().unwrap();
    let line = assert_error(&out, 4, &[PASS]);
    assert!(line.contains("integrity check failed for the vault metadata"));

    plant_slot(&env, 17, 19 * 1024, 2, 1);
    let out = env
        .pw()
        .env("VAULTS_LOG", "debug")
        .env("NO_COLOR", "1")
        .arg("ls")
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "stderr: {err}");
    assert!(
        err.lines()
            .any(|l| l == "vaults: too many key slots: a vault holds at most 16"),
        "{err}"
    );
    assert!(!err.contains("deriving the key"), "no Argon2 ran: {err}");
}

#[test]
fn a_slot_above_the_ceiling_is_skipped_and_opens_when_allowed() {
    let env = Env::new();
    env.init().set("k", "v", &[]);
    // Slot 2 as an earlier version could write it: 11 passes, within the
    // old ceiling of 20 and above the new one of 10. Its MAC is genuine.
    let vault = LockedVault::open(env.vault_path())
        .unwrap()
        .unlock(&Passphrase::new(PASS).unwrap())
        .unwrap();
    let slow = KdfParams::new_within(19 * 1024, 11, 1, &KdfCeiling::HIGHEST).unwrap();
    assert_eq!(
        vault
            .add_passphrase_slot(&Passphrase::new(OTHER).unwrap(), slow)
            .unwrap(),
        2
    );
    drop(vault);
    let warning = "vaults: warning: key slot 2 skipped: argon2 iterations above the ceiling \
                   of 10 (--allow-slow-unlock tries it)";

    // The other slot still opens, with a warning rather than a refusal.
    let out = env.pw().args(["get", "k"]).output().unwrap();
    assert_success(&out);
    assert_eq!(out.stdout, b"v\n");
    assert_eq!(stderr(&out).trim_end(), warning);

    // Slot 2's passphrase: slot 1 is tried, slot 2 is not.
    let out = env
        .cmd()
        .env("VAULTS_PASSPHRASE", OTHER)
        .args(["get", "k"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    assert_eq!(
        stderr(&out),
        format!("{warning}\nvaults: wrong passphrase\n")
    );

    // Raised: slot 2 opens, no warning.
    let out = env
        .cmd()
        .env("VAULTS_PASSPHRASE", OTHER)
        .args(["--allow-slow-unlock", "get", "k"])
        .output()
        .unwrap();
    assert_success(&out);
    assert_eq!(out.stdout, b"v\n");
    assert_eq!(stderr(&out), "");

    // Named, without raising: refused before Argon2, saying why.
    let out = env
        .cmd()
        .env("VAULTS_PASSPHRASE", OTHER)
        .args(["--slot", "2", "get", "k"])
        .output()
        .unwrap();
    let line = assert_error(&out, 1, &[OTHER]);
    assert_eq!(
        line,
        "vaults: key derivation parameters refused: iterations above the ceiling of 10"
    );
}

#[test]
fn every_slot_out_of_bounds_says_why_not_wrong_passphrase() {
    let env = Env::new();
    env.init();
    plant_slot(&env, 1, 19 * 1024, 11, 1);
    let out = env.pw().arg("ls").output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "stderr: {err}");
    assert_eq!(
        err.lines().last(),
        Some("vaults: key derivation parameters refused: iterations above the ceiling of 10")
    );
}

#[test]
fn slot_names_the_one_slot_to_try() {
    let env = Env::new();
    env.init().set("k", "v", &[]);
    env.pw()
        .env("VAULTS_NEW_PASSPHRASE", OTHER)
        .args([
            "slot",
            "add-passphrase",
            "--kdf-memory",
            "19",
            "--kdf-time",
            "2",
        ])
        .assert()
        .success();

    // Slot 2 alone: slot 1's passphrase does not open it.
    let out = env.pw().args(["--slot", "2", "get", "k"]).output().unwrap();
    assert_eq!(
        assert_error(&out, 4, &[PASS, OTHER]),
        "vaults: wrong passphrase"
    );
    let out = env
        .cmd()
        .env("VAULTS_PASSPHRASE", OTHER)
        .args(["--slot", "2", "--json", "get", "k"])
        .output()
        .unwrap();
    assert_success(&out);
    let out = env.pw().args(["--slot", "1", "get", "k"]).output().unwrap();
    assert_success(&out);

    let out = env.pw().args(["--slot", "7", "get", "k"]).output().unwrap();
    assert_eq!(
        assert_error(&out, 3, &[PASS]),
        "vaults: no key slot with id 7"
    );
}

#[test]
fn init_stays_within_the_ceiling() {
    for (flag, value, reason) in [
        ("--kdf-memory", "1025", "memory above the ceiling of 1 GiB"),
        ("--kdf-time", "11", "iterations above the ceiling of 10"),
    ] {
        let env = Env::new();
        let out = env.pw().args(["init", flag, value]).output().unwrap();
        let line = assert_error(&out, 2, &[PASS]);
        assert_eq!(
            line,
            format!("vaults: key derivation parameters refused: {reason}")
        );
        assert!(!env.vault_path().exists());
    }
}
