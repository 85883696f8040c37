//! `--help`, `--version`, `completions` and `man`: no vault needed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::cli_util;

use cli_util::Env;
use predicates::prelude::*;

/// The subcommand names listed under `Commands:` in a help text.
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        // Entries are indented by two; wrapped descriptions by more.
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect()
}

fn help(env: &Env, path: &[String]) -> String {
    let out = env.cmd().args(path).arg("--help").output().unwrap();
    cli_util::assert_success(&out);
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn every_subcommand_help_shows_an_example() {
    let env = Env::new();
    let top = help(&env, &[]);
    assert!(top.contains("Examples:"), "{top}");
    let mut queue: Vec<Vec<String>> = subcommands(&top).into_iter().map(|c| vec![c]).collect();
    let mut seen = Vec::new();
    while let Some(path) = queue.pop() {
        let text = help(&env, &path);
        assert!(
            text.contains("Example"),
            "`vaults {} --help` shows no example:\n{text}",
            path.join(" ")
        );
        for sub in subcommands(&text) {
            queue.push([path.clone(), vec![sub]].concat());
        }
        seen.push(path.join(" "));
    }
    seen.sort();
    // The command list, plus the slot subcommands and `man`, and
    // the daily commands of issue 15.
    let expected = [
        "cleanup",
        "completions",
        "copy",
        "cp",
        "destroy",
        "doctor",
        "edit",
        "env",
        "exec",
        "expire",
        "export",
        "generate",
        "get",
        "import",
        "init",
        "inject",
        "lock",
        "ls",
        "man",
        "mv",
        "otp",
        "passwd",
        "persist",
        "rm",
        "rotate",
        "set",
        "slot",
        "slot add-keyring",
        "slot add-passphrase",
        "slot remove",
        "slots",
        "ttl",
        "unlock",
        "vaults",
    ];
    assert_eq!(seen, expected);
}

#[test]
fn help_lists_the_contract_flags() {
    let env = Env::new();
    let top = help(&env, &[]);
    for flag in [
        "--dir",
        "--vault",
        "--json",
        "--passphrase-file",
        "--passphrase-command",
        "VAULTS_DIR",
        "VAULTS_VAULT",
        "VAULTS_PASSPHRASE",
    ] {
        assert!(top.contains(flag), "{flag} missing from --help");
    }
    let set = help(&env, &["set".into()]);
    for flag in ["--ttl", "--keep-ttl"] {
        assert!(set.contains(flag), "{flag} missing from set --help");
    }
    let exec = help(&env, &["exec".into()]);
    for flag in ["--prefix", "--only"] {
        assert!(exec.contains(flag), "{flag} missing from exec --help");
    }
    let expire = help(&env, &["expire".into()]);
    for flag in ["--nx", "--xx", "--gt", "--lt"] {
        assert!(expire.contains(flag), "{flag} missing from expire --help");
    }
}

#[test]
fn version() {
    let env = Env::new();
    env.cmd()
        .arg("--version")
        .assert()
        .success()
        .stdout(format!("vaults {}\n", env!("CARGO_PKG_VERSION")));
}

#[test]
fn completions_for_each_shell() {
    let env = Env::new();
    for (shell, marker) in [
        ("bash", "_vaults()"),
        ("zsh", "#compdef vaults"),
        ("fish", "complete -c vaults"),
    ] {
        let out = env.cmd().args(["completions", shell]).output().unwrap();
        cli_util::assert_success(&out);
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains(marker), "{shell}: {marker} missing");
        assert!(text.contains("passphrase-file"), "{shell}");
        assert!(out.stderr.is_empty());
    }
    // No vault folder is touched.
    assert!(!env.dir.exists());
}

#[test]
fn man_page_is_roff() {
    let env = Env::new();
    env.cmd()
        .arg("man")
        .assert()
        .success()
        .stdout(predicate::str::contains(".TH vaults"))
        .stdout(predicate::str::contains(".SH NAME"))
        .stdout(predicate::str::contains("passphrase"));
}

/// Regression: clap printed `[env: VAULTS_PASSPHRASE_COMMAND=...]` in
/// `--help`, and that command may hold the passphrase itself
/// (`echo hunter2`).
#[test]
fn help_does_not_print_the_passphrase_command() {
    let env = Env::new();
    for path in [&[][..], &["get"], &["slot", "add-passphrase"]] {
        let out = env
            .cmd()
            .env("VAULTS_PASSPHRASE_COMMAND", "echo hunter2")
            .args(path)
            .arg("--help")
            .output()
            .unwrap();
        cli_util::assert_success(&out);
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("VAULTS_PASSPHRASE_COMMAND"), "{text}");
        assert!(!text.contains("hunter2"), "{path:?}: {text}");
    }
}
