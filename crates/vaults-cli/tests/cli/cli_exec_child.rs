//! What an `exec` child gets (issue item 2): the entries it asked for and
//! nothing else: no `VAULTS_*` variable, no loader or shell control
//! variable unless named, a notice for each variable an entry overrides, and
//! a clear error (not "argument list too long" after a long wait) when the
//! environment would not fit.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::cli_util;

use cli_util::{BIN, Env, PASS, assert_error, assert_success};
use vaults::Store;

const SECRET: &str = "other-secret-XYZZY";

/// A vault with entries `a` and `other`.
fn vault() -> Env {
    let env = Env::new();
    env.init().set("a", "first", &[]).set("other", SECRET, &[]);
    env
}

/// Every `VAULTS_*` variable is gone from the child: with the old
/// `VAULTS_PASSPHRASE_FILE` left in place, `vaults get other` inside the
/// child read an entry the child was not given.
#[test]
fn the_child_gets_no_vaults_variable() {
    let env = vault();
    let pass_file = env.write("pass", PASS);
    let out = env
        .cmd()
        .env("VAULTS_PASSPHRASE_FILE", &pass_file)
        .env("VAULTS_EXPORT_PASSPHRASE_FILE", &pass_file)
        .env("VAULTS_NEW_PASSPHRASE_FILE", &pass_file)
        .env("VAULTS_SOMETHING_NEW", "x")
        .args(["exec", "--only", "a", "--", "sh", "-c"])
        .arg(r#"env; "$0" get other"#)
        .arg(BIN)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains(SECRET), "the child read another entry");
    assert!(
        !stdout.lines().any(|l| l.starts_with("VAULTS_")),
        "{stdout}"
    );
    assert!(stdout.lines().any(|l| l == "A=first"), "{stdout}");
    // The same with the passphrase command.
    let out = env
        .cmd()
        .env(
            "VAULTS_PASSPHRASE_COMMAND",
            format!("cat '{}'", pass_file.display()),
        )
        .args(["exec", "--only", "a", "--", BIN, "get", "other"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(!String::from_utf8_lossy(&out.stdout).contains(SECRET));
}

/// An entry that maps to `BASH_ENV` ran a payload in every bash the child
/// started; such entries are refused unless named with `--only`.
#[test]
fn loader_and_shell_control_variables_need_naming() {
    let env = vault();
    let marker = env.file("ran");
    let payload = env.write("payload.sh", format!("touch '{}'\n", marker.display()));
    env.set("bash_env", payload.to_str().unwrap(), &[]);
    let out = env
        .pw()
        .args(["exec", "--", "bash", "-c", "true"])
        .output()
        .unwrap();
    let line = assert_error(&out, 2, &[PASS, SECRET]);
    assert!(
        line.contains("$BASH_ENV") && line.contains("--only"),
        "{line}"
    );
    assert!(!marker.exists(), "the payload ran");

    for name in [
        "path",
        "ld_preload",
        "pythonpath",
        "git_ssh_command",
        "node_options",
    ] {
        let env = vault();
        env.set(name, "x", &[]);
        let out = env.pw().args(["exec", "--", "true"]).output().unwrap();
        let line = assert_error(&out, 2, &[PASS, SECRET]);
        assert!(line.contains(name), "{line}");
    }

    // Named, it passes; under a prefix it is no control variable at all.
    env.pw()
        .args(["exec", "--only", "bash_env", "--"])
        .args(["sh", "-c", r#"printf %s "$BASH_ENV""#])
        .assert()
        .success()
        .stdout(payload.to_str().unwrap().to_owned());
    env.pw()
        .args(["exec", "--prefix", "APP_", "--"])
        .args(["sh", "-c", r#"printf %s "${BASH_ENV-unset}""#])
        .assert()
        .success()
        .stdout("unset");
}

#[test]
fn an_entry_that_overrides_a_variable_says_so() {
    let env = vault();
    env.set("my_setting", "from-vault", &[]);
    let out = env
        .pw()
        .env("MY_SETTING", "inherited")
        .args(["exec", "--", "sh", "-c", r#"printf %s "$MY_SETTING""#])
        .output()
        .unwrap();
    assert_success(&out);
    assert_eq!(out.stdout, b"from-vault");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(r#"entry "my_setting" overrides $MY_SETTING"#),
        "{stderr}"
    );
    assert!(!stderr.contains("from-vault") && !stderr.contains("inherited"));
}

/// One binary entry made every `exec` without `--only` fail.
#[test]
fn a_binary_entry_is_skipped_unless_named() {
    let env = vault();
    env.set("blob", b"\xff\xfe\x00binary".to_vec(), &[]);
    let out = env
        .pw()
        .args([
            "exec",
            "--",
            "sh",
            "-c",
            r#"printf '%s|%s' "$A" "${BLOB-unset}""#,
        ])
        .output()
        .unwrap();
    assert_success(&out);
    assert_eq!(out.stdout, b"first|unset");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(r#"skipped entry "blob""#), "{stderr}");
    let out = env
        .pw()
        .args(["exec", "--only", "blob", "--", "true"])
        .output()
        .unwrap();
    let line = assert_error(&out, 1, &[PASS]);
    assert!(line.contains("blob"), "{line}");
}

/// A plain vault of `n` entries `K000000`… with 64-byte values, built
/// through the library's bulk put.
fn big_vault(n: usize) -> Env {
    let env = Env::new();
    std::fs::create_dir_all(&env.dir).unwrap();
    let vault = vaults::Vault::open_or_create(env.vault_path()).unwrap();
    let value = "v".repeat(64);
    vault
        .put_many((0..n).map(|i| (format!("k{i:06}"), value.as_str())))
        .unwrap();
    vault.close().unwrap();
    env
}

/// 100,000 entries took 40 s (a quadratic clash check) and then failed
/// with "argument list too long"; now a clear error, at once, before exec.
#[test]
fn an_environment_too_large_for_exec_is_a_clear_error() {
    let env = big_vault(100_000);
    let marker = env.file("ran");
    let out = env
        .cmd()
        .env("MARKER", &marker)
        .env("VAULTS_PLAIN", "1")
        .args(["exec", "--", "sh", "-c", r#"touch "$MARKER""#])
        .output()
        .unwrap();
    let line = assert_error(&out, 1, &[]);
    assert!(line.contains("the environment would not fit"), "{line}");
    assert!(!marker.exists());
}

#[test]
fn a_large_environment_that_fits_is_passed_whole() {
    // 1,000 × 82 bytes: under the smallest limit Linux has (128 KiB).
    let env = big_vault(1_000);
    env.cmd()
        .env("VAULTS_PLAIN", "1")
        .args(["exec", "--", "sh", "-c", "env | grep -c '^K[0-9]'"])
        .assert()
        .success()
        .stdout("1000\n");
}

/// Runs `vaults lock` when dropped.
struct Lock<'a>(&'a Env);

impl Drop for Lock<'_> {
    fn drop(&mut self) {
        let _ = self.0.cmd().arg("lock").output();
    }
}

/// The child runs in a fresh session keyring, marked as an `exec` child:
/// a `vaults` inside it neither finds the cached unlock key nor unlocks
/// through a keyring slot, so it cannot read entries it was not given.
#[test]
fn the_child_cannot_use_the_cached_unlock_key() {
    let env = vault();
    let out = env.pw().arg("unlock").output().unwrap();
    if cli_util::keyring_unusable(&out) {
        return;
    }
    assert_success(&out);
    let _lock = Lock(&env);
    // Unlocked: no passphrase needed out here.
    env.cmd().args(["get", "other"]).assert().success();
    let out = env
        .cmd()
        .args(["exec", "--only", "a", "--", BIN, "--dir"])
        .arg(&env.dir)
        .args(["--no-input", "get", "other"])
        .output()
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains(SECRET),
        "the child read an entry through the cached key"
    );
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    // The entry it was given still arrives.
    env.cmd()
        .args(["exec", "--only", "a", "--", "sh", "-c", r#"printf %s "$A""#])
        .assert()
        .success()
        .stdout("first");
}

/// A value that is not CBOR at all (raw bytes another program stored) still
/// reaches the child when it is text, as before.
#[test]
fn raw_values_from_other_programs_still_arrive() {
    let env = Env::new();
    std::fs::create_dir_all(&env.dir).unwrap();
    let vault = vaults::Vault::open_or_create(env.vault_path()).unwrap();
    vault.put_bytes("raw", b"raw-text").unwrap();
    vault.put("cbor", "cbor-text").unwrap();
    vault.close().unwrap();
    env.cmd()
        .env("VAULTS_PLAIN", "1")
        .args(["exec", "--", "sh", "-c", r#"printf '%s|%s' "$RAW" "$CBOR""#])
        .assert()
        .success()
        .stdout("raw-text|cbor-text");
}
