//! Dynamic completion of entry names (`COMPLETE=fish|bash vaults -- ...`,
//! clap_complete's protocol): names of a plain vault, of an encrypted one
//! only through a cached unlock, and never a prompt.

use crate::cli_util::{Env, LockOnDrop, assert_success, keyring_unusable};

/// What the shell would offer after `words` (the last one being typed).
fn complete(env: &Env, shell: &str, words: &[&str]) -> Vec<String> {
    let mut cmd = env.cmd();
    cmd.env("COMPLETE", shell)
        .arg("--")
        .arg("vaults")
        .args(words);
    if shell == "bash" {
        cmd.env("_CLAP_COMPLETE_INDEX", words.len().to_string())
            .env("_CLAP_COMPLETE_COMP_TYPE", "9")
            .env("_CLAP_COMPLETE_SPACE", "true")
            .env("_CLAP_IFS", "\n");
    }
    let out = cmd.output().unwrap();
    assert_success(&out);
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l.split('\t').next().unwrap_or_default().to_owned())
        .filter(|l| !l.starts_with('-'))
        .collect()
}

#[test]
fn the_registration_script_is_printed() {
    let env = Env::new();
    let out = env.cmd().env("COMPLETE", "bash").output().unwrap();
    assert_success(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("_clap_complete_vaults"));
}

#[test]
fn names_of_a_plain_vault_complete() {
    let env = Env::new();
    env.init_plain();
    for k in ["db/password", "db/user", "api/token"] {
        env.cmd()
            .args(["set", k])
            .write_stdin("v")
            .assert()
            .success();
    }
    assert_eq!(
        complete(&env, "fish", &["get", "db/"]),
        ["db/password", "db/user"]
    );
    assert_eq!(complete(&env, "bash", &["rm", "a"]), ["api/token"]);
    // Another vault named on the line being completed.
    env.cmd()
        .args(["--vault", "other", "init", "--plain"])
        .assert()
        .success();
    env.cmd()
        .args(["--vault", "other", "set", "elsewhere"])
        .write_stdin("v")
        .assert()
        .success();
    assert_eq!(
        complete(&env, "fish", &["--vault", "other", "get", "e"]),
        ["elsewhere"]
    );
}

#[test]
fn a_locked_vault_offers_nothing_and_asks_nothing_until_unlocked() {
    let env = Env::new();
    env.init().set("db/password", "v", &[]);
    // On a terminal, with prompting allowed: still no prompt, no names.
    let out = env
        .sh("COMPLETE=fish script -qec \"$VAULTS_BIN -- vaults get d\" /dev/null </dev/null")
        .env_remove("VAULTS_NO_INPUT")
        .output()
        .unwrap();
    assert_success(&out);
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        !shown.contains("db/password") && !shown.contains("assphrase"),
        "{shown}"
    );
    let out = env.pw().arg("unlock").output().unwrap();
    if keyring_unusable(&out) {
        return;
    }
    assert_success(&out);
    let _lock = LockOnDrop(&env);
    assert_eq!(complete(&env, "fish", &["get", "d"]), ["db/password"]);
}
