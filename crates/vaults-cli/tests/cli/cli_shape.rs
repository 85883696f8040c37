//! The CLI's outer shape (issue 12): a reader that closes the pipe early is
//! not an error, a vault is opened once, and every class of failure ends in
//! one error line and its own exit code.

use crate::cli_util;

use std::os::unix::fs::PermissionsExt;

use cli_util::{Env, PASS, assert_error, assert_success};

/// Entries enough that `ls` prints far more than a pipe holds (64 KiB), so
/// the write after the reader left meets EPIPE.
const MANY: usize = 20_000;

/// A plain vault (no Argon2: quick) with [`MANY`] entries of long names.
fn many_entries() -> Env {
    let env = Env::new();
    env.init_plain();
    let mut dotenv = String::new();
    for i in 0..MANY {
        dotenv.push_str(&format!(
            "ENTRY_{i:06}_WITH_A_NAME_LONG_ENOUGH_TO_FILL_PIPES=v{i}\n"
        ));
    }
    let file = env.write("many.env", dotenv);
    assert_success(&env.cmd().arg("import").arg(&file).output().unwrap());
    env
}

/// Runs `vaults ARGS | head -c 1` in bash and returns the exit code of
/// `vaults` and what it wrote on stderr. `head` leaves after one byte,
/// while `vaults` is still writing.
fn into_closed_pipe(env: &Env, args: &str) -> (String, String) {
    let err = env.file("stderr");
    let script = format!(
        "\"$VAULTS_BIN\" {args} 2>\"$ERR\" | head -c 1 >/dev/null; echo \"${{PIPESTATUS[0]}}\""
    );
    let out = env.bash(&script).env("ERR", &err).output().unwrap();
    assert_success(&out);
    let code = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    (code, std::fs::read_to_string(&err).unwrap())
}

#[test]
fn ls_into_a_closed_pipe_exits_0_and_says_nothing() {
    let env = many_entries();
    for args in ["ls", "ls --long", "--json ls"] {
        let (code, stderr) = into_closed_pipe(&env, args);
        assert_eq!(code, "0", "{args}: {stderr}");
        assert_eq!(stderr, "", "{args}");
    }
}

#[test]
fn export_to_stdout_into_a_closed_pipe_exits_0_and_says_nothing() {
    let env = many_entries();
    let (code, stderr) = into_closed_pipe(&env, "export --plaintext");
    assert_eq!(code, "0", "{stderr}");
    assert_eq!(stderr, "");
}

#[test]
fn get_into_a_closed_pipe_exits_0_and_says_nothing() {
    let env = Env::new();
    env.init_plain();
    // Text, written from the library's buffer; and JSON, encoded here.
    let big = "x".repeat(1 << 20);
    env.set("big", big.clone(), &[]);
    let doc = format!("{{\"blob\": \"{big}\"}}");
    env.set("doc", doc, &["--json-input"]);
    for args in ["get big", "get doc", "--json get big"] {
        let (code, stderr) = into_closed_pipe(&env, args);
        assert_eq!(code, "0", "{args}: {stderr}");
        assert_eq!(stderr, "", "{args}");
    }
}

/// The library's own warnings (`VAULTS_LOG`) about the file's mode, one
/// for each time it opened the file.
fn opens_logged(env: &Env, args: &[&str]) -> usize {
    let out = env
        .pw()
        .env("VAULTS_LOG", "warn")
        .env("NO_COLOR", "1")
        .args(args)
        .output()
        .unwrap();
    assert_success(&out);
    let shown = env.vault_path().display().to_string();
    String::from_utf8(out.stderr)
        .unwrap()
        .lines()
        .filter(|l| l.contains(" WARN ") && l.contains(&shown) && l.contains("other users"))
        .count()
}

/// Regression: the CLI opened every plain vault twice, first as encrypted
/// and, on the library's "wrong kind", again as plain. The CLI knows which
/// to expect (`--plain`, or the plain vault `init --plain` recorded), so it
/// opens the file once. (Observed through the library's warning about the
/// file's mode, which it logs at each open.)
#[test]
fn a_plain_vault_is_opened_once() {
    let env = Env::new();
    env.init_plain();
    let path = env.vault_path();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    assert_eq!(opens_logged(&env, &["ls"]), 1, "a recorded plain vault");
    assert_eq!(opens_logged(&env, &["--plain", "ls"]), 1, "with --plain");
    assert_eq!(opens_logged(&env, &["--plain", "cleanup"]), 1, "locked");

    let env = Env::new();
    env.init();
    std::fs::set_permissions(env.vault_path(), std::fs::Permissions::from_mode(0o640)).unwrap();
    assert_eq!(opens_logged(&env, &["ls"]), 1, "an encrypted vault");
}

/// One line on stderr, `vaults: ...`, and the code of its class: 1 other,
/// 2 usage, 3 not found, 4 authentication, 5 busy, 127 a command `exec`
/// cannot find.
#[test]
fn each_class_of_failure_has_its_code_and_one_line() {
    let env = Env::new();
    env.init();
    let out = env.pw().arg("init").output().unwrap();
    let line = assert_error(&out, 1, &[PASS]);
    assert!(line.contains("already exists"), "{line}");

    let out = env.pw().args(["--vault", "../x", "ls"]).output().unwrap();
    let line = assert_error(&out, 2, &[PASS]);
    assert!(line.starts_with("vaults: invalid vault name"), "{line}");

    let out = env.pw().args(["get", "nothing/here"]).output().unwrap();
    assert_eq!(
        assert_error(&out, 3, &[PASS]),
        "vaults: no entry named \"nothing/here\""
    );
    let out = env.pw().args(["--vault", "absent", "ls"]).output().unwrap();
    let line = assert_error(&out, 3, &[PASS]);
    assert!(
        line.contains("run `vaults --vault absent init` to create it"),
        "{line}"
    );

    let out = env
        .cmd()
        .env("VAULTS_PASSPHRASE", "not the passphrase")
        .arg("ls")
        .output()
        .unwrap();
    assert_eq!(
        assert_error(&out, 4, &[PASS, "not the passphrase"]),
        "vaults: wrong passphrase"
    );

    let conn = rusqlite::Connection::open(env.vault_path()).unwrap();
    conn.execute_batch("BEGIN IMMEDIATE").unwrap();
    let out = env
        .pw()
        .args(["--busy-timeout", "100ms", "set", "k"])
        .write_stdin("v")
        .output()
        .unwrap();
    let line = assert_error(&out, 5, &[PASS]);
    assert!(line.contains("try again"), "{line}");
    drop(conn);

    let out = env
        .pw()
        .args(["exec", "--", "/nonexistent/command"])
        .output()
        .unwrap();
    let line = assert_error(&out, 127, &[PASS]);
    assert!(
        line.starts_with("vaults: cannot run /nonexistent/command"),
        "{line}"
    );
}

/// The plain-vault list is now read before the vault is opened (to know
/// which kind to open it as), but what it has to say still matters only
/// for a plain file: an encrypted vault opens quietly beside a damaged or
/// untrusted list, as it always did, and a plain file still reports it.
#[test]
fn the_plain_list_speaks_only_for_plain_files() {
    let env = Env::new();
    env.init();
    let folder = env.config_dir().join("vaults");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o700)).unwrap();
    let list = folder.join("plain-vaults.json");
    for (text, mode) in [("{ damaged", 0o600), ("{\"plain_vaults\": []}", 0o666)] {
        std::fs::write(&list, text).unwrap();
        std::fs::set_permissions(&list, std::fs::Permissions::from_mode(mode)).unwrap();
        let out = env.pw().arg("ls").output().unwrap();
        assert_success(&out);
        assert_eq!(String::from_utf8_lossy(&out.stderr), "", "{text}");
    }

    // A plain file in the encrypted vault's place: refused, after what the
    // list says (its warning, or its error).
    let fake = env.file("fake.db");
    vaults::Vault::open_or_create(&fake)
        .unwrap()
        .close()
        .unwrap();
    std::fs::rename(&fake, env.vault_path()).unwrap();
    let out = env.pw().arg("ls").output().unwrap();
    assert_eq!(out.status.code(), Some(4));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.starts_with("warning: ignoring"), "{stderr}");
    assert!(stderr.contains("looks tampered with"), "{stderr}");
    std::fs::write(&list, "{ damaged").unwrap();
    std::fs::set_permissions(&list, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = env.pw().arg("ls").output().unwrap();
    let line = assert_error(&out, 1, &[PASS]);
    assert!(line.contains("is damaged"), "{line}");
    // `--plain` does not read the list at all.
    assert_success(&env.pw().args(["--plain", "ls"]).output().unwrap());
}

/// The fuzz target `cli_input` links these parsers (`vaults_cli::fuzzing`):
/// they are called here as it calls them, so a move that breaks it shows.
#[test]
fn the_fuzzed_parsers_are_reachable() {
    use vaults_cli::fuzzing as cli;
    assert!(cli::parse_duration("90s").is_ok());
    assert_eq!(
        cli::parse_env(b"A=1\n").map(|items| items.len()).ok(),
        Some(1)
    );
    let mut seen = 0;
    let doc = br#"{"format": "vaults-export", "version": 1, "entries": []}"#;
    assert!(
        cli::parse_export(&doc[..], false, &mut |_, _| {
            seen += 1;
            Ok(())
        })
        .is_ok()
    );
    assert_eq!(seen, 0);
    let _ = cli::show(b"\x61\x78");
    assert_eq!(cli::env_value(b"\x61\x78").as_deref(), Some("x"));
}
