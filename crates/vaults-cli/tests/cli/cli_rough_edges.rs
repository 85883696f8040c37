//! The rough edges a new user hit (issue 15), each through the real binary:
//! hints that name the variable that is missing, one-line usage errors,
//! empty variables, logs, man pages, `set` input, zero durations, the age
//! header, `.env` files, and the prompts on a terminal (under `script`).

use std::path::Path;
use std::process::Output;

use crate::cli_util::{self, BIN, Env, PASS, assert_error, assert_success};

/// Runs `vaults ARGS` on a terminal (`script` gives it a pty), feeding it
/// `input` after a second (so a prompt is up), in `env`'s environment.
/// Returns what the terminal showed and the exit code.
fn on_terminal(env: &Env, vars: &[(&str, &str)], args: &str, input: &str) -> (String, i32) {
    let mut cmd = env.sh(&format!(
        "(sleep 1; printf '%b' '{input}'; sleep 1) | script -qec \"$VAULTS_BIN {args}\" /dev/null"
    ));
    cmd.env_remove("VAULTS_NO_INPUT");
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let shown = String::from_utf8_lossy(&out.stdout).replace('\r', "");
    (shown, out.status.code().unwrap_or(-1))
}

#[test]
fn a_missing_secret_names_its_own_variable() {
    let env = Env::new();
    env.init().set("k", "v", &[]);
    let x = env.file("x.age");
    let x = x.to_str().unwrap();
    for (args, wanted) in [
        (&["export", "--out", x][..], "VAULTS_EXPORT_PASSPHRASE"),
        (&["passwd"], "VAULTS_NEW_PASSPHRASE"),
        (&["slot", "add-passphrase"], "VAULTS_NEW_PASSPHRASE"),
    ] {
        let out = env.pw().args(args).output().unwrap();
        let line = assert_error(&out, 2, &[PASS]);
        assert!(line.contains(wanted), "{args:?}: {line}");
        assert!(!line.contains("set VAULTS_PASSPHRASE"), "{args:?}: {line}");
    }
    env.pw()
        .env("VAULTS_EXPORT_PASSPHRASE", "ep")
        .args(["export", "--out", x])
        .assert()
        .success();
    let out = env.pw().args(["import", x]).output().unwrap();
    let line = assert_error(&out, 2, &[PASS]);
    assert!(line.contains("VAULTS_EXPORT_PASSPHRASE"), "{line}");
}

#[test]
fn no_input_on_a_terminal_says_prompting_is_off() {
    let env = Env::new();
    env.init();
    let (shown, code) = on_terminal(&env, &[("VAULTS_NO_INPUT", "1")], "get k", "");
    assert_eq!(code, 2, "{shown}");
    assert!(shown.contains("forbids asking"), "{shown}");
    assert!(!shown.contains("no terminal"), "{shown}");
}

#[test]
fn usage_errors_are_one_line_naming_the_help() {
    let env = Env::new();
    let out = env.cmd().args(["get", "--bogus"]).output().unwrap();
    let line = assert_error(&out, 2, &[]);
    assert!(
        line.contains("'--bogus'") && line.contains("`vaults get --help`"),
        "{line}"
    );
    // An option set from the environment is not shown as if typed.
    let out = env.cmd().arg("get").output().unwrap();
    let line = assert_error(&out, 2, &[]);
    assert!(!line.contains("--dir"), "{line}");
    assert!(line.contains("<KEY>"), "{line}");
    let out = env.cmd().args(["slot", "remove"]).output().unwrap();
    let line = assert_error(&out, 2, &[]);
    assert!(line.contains("`vaults slot remove --help`"), "{line}");
    // Help and version still print in full, with success.
    let out = env.cmd().args(["get", "--help"]).output().unwrap();
    assert_success(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("Usage: vaults get"));
}

#[test]
fn an_empty_variable_counts_as_unset() {
    let env = Env::new();
    let mut cmd = env.cmd();
    for var in [
        "VAULTS_DIR",
        "VAULTS_VAULT",
        "VAULTS_NO_INPUT",
        "VAULTS_PLAIN",
        "VAULTS_BUSY_TIMEOUT",
        "VAULTS_PASSPHRASE_FILE",
    ] {
        cmd.env(var, "");
    }
    let out = cmd.arg("ls").output().unwrap();
    // The platform folder under this test's HOME, and the default vault.
    let line = assert_error(&out, 3, &[]);
    assert!(
        line.contains("no vault \"default\"") && line.contains(".local/share/vaults"),
        "{line}"
    );
}

#[test]
fn logs_take_filters_and_have_no_colour_off_a_terminal() {
    let env = Env::new();
    env.init().set("a", "v4lue", &[]);
    for filter in ["debug", "vaults=debug", "vaults::api=debug,warn"] {
        let out = env
            .pw()
            .env("VAULTS_LOG", filter)
            .args(["get", "a"])
            .output()
            .unwrap();
        assert_success(&out);
        let log = String::from_utf8_lossy(&out.stderr);
        assert!(log.contains("DEBUG"), "{filter}: {log}");
        assert!(!log.contains('\x1b'), "{filter}: colour codes in {log:?}");
        assert!(!log.contains("v4lue"), "{filter}");
    }
    // A filter for other targets logs nothing of ours.
    let out = env
        .pw()
        .env("VAULTS_LOG", "other=debug")
        .args(["get", "a"])
        .output()
        .unwrap();
    assert_success(&out);
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // One that does not parse is said once, and the command still runs.
    let out = env
        .pw()
        .env("VAULTS_LOG", "vaults=[")
        .args(["get", "a"])
        .output()
        .unwrap();
    assert_success(&out);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        log.starts_with("vaults: VAULTS_LOG is not a log filter"),
        "{log}"
    );
    assert_eq!(log.lines().count(), 1, "{log}");
}

/// The `name(1)` references of a roff page: `vaults\-init(1)`.
fn references(page: &str) -> Vec<String> {
    page.split("\\fB")
        .chain(page.split('\n'))
        .filter_map(|s| {
            let s = s.trim_start();
            let end = s.find("(1)")?;
            let name = s.get(..end)?.replace("\\fR", "").replace("\\-", "-");
            (name.starts_with("vaults") && !name.contains(' ')).then_some(name)
        })
        .collect()
}

#[test]
fn every_page_the_man_page_names_exists_with_exit_status_and_environment() {
    let env = Env::new();
    let dir = env.file("man1");
    let out = env
        .cmd()
        .arg("man")
        .arg("--out")
        .arg(&dir)
        .output()
        .unwrap();
    assert_success(&out);
    let top = std::fs::read_to_string(dir.join("vaults.1")).unwrap();
    let named = references(&top);
    assert!(named.contains(&"vaults-init".to_owned()), "{named:?}");
    assert!(named.len() >= 20, "{named:?}");
    for name in &named {
        let page = dir.join(format!("{name}.1"));
        assert!(page.is_file(), "{name}(1) is named but not written");
        let text = std::fs::read_to_string(&page).unwrap();
        assert!(text.contains(".SH \"EXIT STATUS\""), "{name}");
    }
    for section in [
        ".SH \"ENVIRONMENT\"",
        ".SH \"EXIT STATUS\"",
        "VAULTS_PASSPHRASE",
        "VAULTS_LOG",
    ] {
        assert!(top.contains(section), "{section} missing from vaults(1)");
    }
    // One page to stdout, the same as the written one.
    let out = env.cmd().args(["man", "slot", "remove"]).output().unwrap();
    assert_success(&out);
    let written = std::fs::read(dir.join("vaults-slot-remove.1")).unwrap();
    assert_eq!(out.stdout, written);
    let out = env.cmd().args(["man", "nope"]).output().unwrap();
    assert_error(&out, 2, &[]);
}

#[test]
fn json_output_does_not_change_what_set_reads() {
    let env = Env::new();
    env.init();
    env.pw()
        .args(["--json", "set", "k"])
        .write_stdin("x")
        .assert()
        .success();
    assert_eq!(env.get("k"), b"x");
    env.pw()
        .args(["set", "j", "--json-input"])
        .write_stdin("{\"a\": [1, 2]}")
        .assert()
        .success();
    assert_eq!(env.get("j"), b"{\"a\":[1,2]}");
}

#[test]
fn zero_durations_are_refused_where_they_mean_nothing() {
    let env = Env::new();
    env.init();
    for ttl in ["0", "0s", "0ms"] {
        let out = env
            .pw()
            .args(["set", "k", "--ttl", ttl])
            .write_stdin("v")
            .output()
            .unwrap();
        let line = assert_error(&out, 2, &[]);
        assert!(line.contains("already expired"), "{line}");
    }
    assert!(env.names().is_empty());
    for d in ["0", "1500ms"] {
        let out = env.pw().args(["unlock", "--for", d]).output().unwrap();
        assert_error(&out, 2, &[]);
    }
}

#[test]
fn a_modified_age_header_is_an_authentication_failure() {
    let env = Env::new();
    env.init().set("k", "v", &[]);
    let x = env.file("x.age");
    env.pw()
        .env("VAULTS_EXPORT_PASSPHRASE", "ep")
        .arg("export")
        .arg("--out")
        .arg(&x)
        .assert()
        .success();
    let armored = std::fs::read_to_string(&x).unwrap();
    let lines: Vec<&str> = armored.lines().collect();
    // The first armored line is the header's start: change one letter.
    let mut line1: Vec<u8> = lines[1].bytes().collect();
    line1[20] = if line1[20] == b'A' { b'B' } else { b'A' };
    let mut edited = lines.clone();
    let line1 = String::from_utf8(line1).unwrap();
    edited[1] = &line1;
    let bad = env.write("bad.age", edited.join("\n") + "\n");
    let out = env
        .pw()
        .env("VAULTS_EXPORT_PASSPHRASE", "ep")
        .arg("import")
        .arg(&bad)
        .output()
        .unwrap();
    assert_error(&out, 4, &[PASS, "ep"]);
}

#[test]
fn env_files_count_each_name_once_and_take_multi_line_values() {
    let env = Env::new();
    env.init();
    let pem = "-----BEGIN PRIVATE KEY-----\nMIIBVQIBADANBg\n-----END PRIVATE KEY-----";
    let file = env.write("a.env", format!("A=1\nKEY=\"{pem}\"\nA=2\n"));
    let out = env.pw().arg("import").arg(&file).output().unwrap();
    assert_success(&out);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("imported 2 entries"), "{said}");
    let noted = String::from_utf8_lossy(&out.stderr);
    assert!(noted.contains("A is given more than once"), "{noted}");
    assert_eq!(env.get("A"), b"2");
    assert_eq!(env.get("KEY"), pem.as_bytes());
    // A reference is refused, not filled in from our environment.
    let file = env.write("b.env", "LEAK=$VAULTS_PASSPHRASE\n");
    let out = env.pw().arg("import").arg(&file).output().unwrap();
    let line = assert_error(&out, 1, &[PASS]);
    assert!(line.contains("refers to a variable"), "{line}");
    assert_eq!(env.names(), ["A", "KEY"]);
}

#[test]
fn the_hint_to_create_a_missing_vault_names_it() {
    let env = Env::new();
    env.init();
    let out = env
        .pw()
        .args(["--vault", "missing", "get", "a"])
        .output()
        .unwrap();
    let line = assert_error(&out, 3, &[]);
    assert!(line.contains("`vaults --vault missing init`"), "{line}");
}

#[test]
fn slots_are_listed_without_a_passphrase_and_a_missing_one_is_not_found() {
    let env = Env::new();
    env.init();
    // No passphrase source at all, and no prompting.
    let out = env.cmd().arg("slots").output().unwrap();
    assert_success(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("passphrase"));
    let out = env.pw().args(["slot", "remove", "9"]).output().unwrap();
    let line = assert_error(&out, 3, &[PASS]);
    assert!(line.contains("no key slot with id 9"), "{line}");
}

/// The help of `args`, one paragraph per option.
fn option_paragraphs(help: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in help.lines() {
        if line.trim_start().starts_with('-') {
            out.push(line.to_owned());
        } else if let Some(last) = out.last_mut() {
            last.push(' ');
            last.push_str(line.trim());
        }
    }
    out
}

#[test]
fn no_option_shows_two_environment_brackets() {
    let env = Env::new();
    for args in [
        &["passwd"][..],
        &["export"],
        &["import"],
        &["slot", "add-passphrase"],
        &[],
    ] {
        let out = env.cmd().args(args).arg("--help").output().unwrap();
        assert_success(&out);
        let help = String::from_utf8_lossy(&out.stdout);
        for p in option_paragraphs(&help) {
            assert!(p.matches("[env:").count() <= 1, "{args:?}: {p}");
        }
    }
}

#[test]
fn end_of_input_at_a_prompt_is_said_on_a_line_of_its_own() {
    let env = Env::new();
    env.init();
    let (shown, code) = on_terminal(&env, &[], "get k", "\\004");
    assert_eq!(code, 2, "{shown}");
    assert!(shown.contains("Passphrase for vault"), "{shown}");
    assert!(shown.contains("\nvaults: nothing entered"), "{shown:?}");
}

#[test]
fn an_empty_passphrase_at_init_is_refused_before_it_is_asked_again() {
    let env = Env::new();
    let (shown, code) = on_terminal(&env, &[], "init", "\\n");
    assert_eq!(code, 2, "{shown}");
    assert!(shown.contains("the passphrase is empty"), "{shown}");
    assert!(!shown.contains("Again"), "{shown}");
    assert!(!env.vault_path().exists());
}

/// The README's tour, as a user pastes it: twice in a row, in one shell.
#[test]
fn the_readme_tour_can_be_pasted_twice() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"))
            .unwrap();
    let start = readme.find("A tour you can paste").unwrap();
    let block = readme[start..].split("```sh\n").nth(1).unwrap();
    let tour = block.split("\n```").next().unwrap();
    let env = Env::new();
    let bin_dir = Path::new(BIN).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let home = env.file("home");
    std::fs::create_dir_all(&home).unwrap();
    let out: Output = env
        .bash(&format!(
            "set -e\ncd \"$HOME\"\n{tour}\ncd \"$HOME\"\n{tour}\n"
        ))
        .env("PATH", path)
        .env("HOME", &home)
        // The tour's `mktemp -d` folders go inside this test's own.
        .env("TMPDIR", env.file(""))
        .output()
        .unwrap();
    // The tour ends with `vaults unlock`, which needs the kernel keyring.
    if cli_util::keyring_unusable(&out) {
        return;
    }
    assert_success(&out);
    // Nothing was written where the tour started.
    assert_eq!(std::fs::read_dir(&home).unwrap().count(), 0);
}

#[test]
fn set_multiline_reads_lines_until_ctrl_d_without_echo() {
    let env = Env::new();
    env.init();
    let (shown, code) = on_terminal(
        &env,
        &[("VAULTS_PASSPHRASE", PASS)],
        "set --multiline tls/key",
        "-----BEGIN KEY-----\\nS3CRETLINE\\n-----END KEY-----\\n\\004",
    );
    assert_eq!(code, 0, "{shown}");
    assert!(shown.contains("end with Ctrl-D"), "{shown}");
    assert!(!shown.contains("S3CRETLINE"), "echoed: {shown}");
    assert_eq!(
        env.get("tls/key"),
        b"-----BEGIN KEY-----\nS3CRETLINE\n-----END KEY-----"
    );
    // The terminal's echo is back afterwards: `stty` under the same pty.
    let (shown, _) = on_terminal(&env, &[("VAULTS_PASSPHRASE", PASS)], "get tls/key", "");
    assert!(shown.contains("S3CRETLINE"), "{shown}");
}
