//! The CLI on a vault on a PostgreSQL server (`--url` / `VAULTS_URL`):
//! every command round trip, `copy` between a file and the server, the
//! exit codes of server failures, and the server's password never shown.
//!
//! These tests need a server: `VAULTS_TEST_PG_URL` (as `.ci/pg start`
//! prints it). They are ignored in a plain `cargo test`; CI runs them in
//! its PostgreSQL step (`cargo test -p vaults-cli --test cli -- --ignored
//! cli_server`), where they fail, saying so, without a server.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::cell::RefCell;
use std::ffi::OsStr;
use std::process::Output;

use assert_cmd::Command;

use crate::cli_util::{Env, PASS, assert_error, assert_success, keyring_unusable};

/// The test server's URL, split: `user`, `password`, `host:port/db`.
struct ServerParts {
    user: String,
    password: String,
    host_db: String,
}

fn server_parts() -> ServerParts {
    let url = vaults_test_support::engine::pg_url();
    let rest = url
        .split_once("://")
        .map(|(_, r)| r)
        .expect("VAULTS_TEST_PG_URL is postgres://USER:PASSWORD@HOST:PORT/DB");
    let (user_info, host_db) = rest
        .split_once('@')
        .expect("VAULTS_TEST_PG_URL holds USER:PASSWORD@");
    let (user, password) = user_info
        .split_once(':')
        .expect("VAULTS_TEST_PG_URL holds a password");
    ServerParts {
        user: user.to_owned(),
        password: password.to_owned(),
        host_db: host_db.split('?').next().unwrap_or(host_db).to_owned(),
    }
}

/// Every byte percent-encoded: the driver decodes it to the same password,
/// and the URL's password part is a string no message could hold by
/// chance (the test server's password, `vaults`, is also its user's name).
fn encoded(password: &str) -> String {
    password.bytes().map(|b| format!("%{b:02X}")).collect()
}

/// One test's vault on the server, with every run's output kept to check
/// at the end that the URL's password never showed.
struct Pg {
    env: Env,
    parts: ServerParts,
    /// `postgres://USER:ENCODED@HOST/DB?vault=NAME`.
    url: String,
    runs: RefCell<Vec<Output>>,
}

impl Pg {
    fn new() -> Pg {
        let parts = server_parts();
        let url = Self::url_of(&parts, &vaults_test_support::engine::unique_name("cli"));
        Pg {
            env: Env::new(),
            parts,
            url,
            runs: RefCell::new(Vec::new()),
        }
    }

    /// The URL of vault `name` on the test server, password encoded.
    fn url_of(parts: &ServerParts, name: &str) -> String {
        format!(
            "postgres://{}:{}@{}?vault={name}",
            parts.user,
            encoded(&parts.password),
            parts.host_db
        )
    }

    /// `vaults` on this vault through `VAULTS_URL`, with the passphrase.
    fn pw(&self) -> Command {
        let mut cmd = self.env.pw();
        cmd.env("VAULTS_URL", &self.url).env_remove("PGPASSWORD");
        cmd
    }

    /// Like [`Pg::pw`], without a passphrase.
    fn cmd(&self) -> Command {
        let mut cmd = self.env.cmd();
        cmd.env("VAULTS_URL", &self.url).env_remove("PGPASSWORD");
        cmd
    }

    /// Runs `cmd`, keeping its output.
    fn run(&self, cmd: &mut Command) -> Output {
        let out = cmd.output().expect("run vaults");
        self.runs.borrow_mut().push(out.clone());
        out
    }

    /// `vaults ARGS` with the passphrase; must succeed; stdout.
    fn ok<I, S>(&self, args: I) -> String
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let out = self.run(self.pw().args(args));
        assert_success(&out);
        String::from_utf8(out.stdout).expect("UTF-8 stdout")
    }

    /// `vaults set KEY` with `value` on stdin.
    fn set(&self, key: &str, value: &str, args: &[&str]) {
        let out = self.run(self.pw().arg("set").arg(key).args(args).write_stdin(value));
        assert_success(&out);
    }

    /// Creates the vault, encrypted with [`PASS`] at the Argon2 floor.
    fn init(&self) -> &Pg {
        self.ok(["init", "--kdf-memory", "19", "--kdf-time", "2"]);
        self
    }
}

impl Drop for Pg {
    /// Checks every run kept (unless the test failed already): the URL's
    /// password part never on stdout or stderr.
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        let secret = encoded(&self.parts.password);
        let raw = format!(":{}@", self.parts.password);
        for out in self.runs.borrow().iter() {
            for (stream, text) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
                let text = String::from_utf8_lossy(text);
                assert!(
                    !text.contains(&secret) && !text.contains(&raw),
                    "the server's password on {stream}: {text}"
                );
            }
        }
        let _ = self.cmd().arg("lock").output();
    }
}

/// The whole life of an encrypted vault on the server, command by command.
#[test]
#[ignore = "needs the test PostgreSQL server: .ci/run runs it"]
fn every_command_works_on_a_server_vault() {
    let pg = Pg::new();
    let created = pg.ok(["init", "--kdf-memory", "19", "--kdf-time", "2"]);
    assert!(
        created.contains("created encrypted vault") && created.contains(":***@"),
        "{created}"
    );
    let out = pg.run(pg.pw().args(["init"]));
    let line = assert_error(&out, 1, &[PASS]);
    assert!(line.contains("already exists"), "{line}");

    pg.set("api/token", "tok-1", &[]);
    pg.set("db/password", "hunter2", &["--ttl", "1h"]);
    assert_eq!(pg.ok(["get", "-n", "api/token"]), "tok-1");
    assert_eq!(pg.ok(["ls"]), "api/token\ndb/password\n");
    let ttl: u64 = pg.ok(["ttl", "db/password"]).trim().parse().unwrap();
    assert!((3590..=3600).contains(&ttl), "{ttl}");
    pg.ok(["expire", "api/token", "30m"]);
    let ttl: u64 = pg.ok(["ttl", "api/token"]).trim().parse().unwrap();
    assert!((1790..=1800).contains(&ttl), "{ttl}");
    pg.ok(["persist", "api/token"]);
    assert_eq!(pg.ok(["ttl", "api/token"]), "never\n");
    pg.ok(["cleanup"]);

    // Export, remove, import back.
    let dump = pg.env.file("dump.json");
    pg.ok([
        OsStr::new("export"),
        OsStr::new("--plaintext"),
        OsStr::new("--out"),
        dump.as_os_str(),
    ]);
    pg.ok(["rm", "api/token", "db/password"]);
    assert_eq!(pg.ok(["ls"]), "");
    let imported = pg.ok([OsStr::new("import"), dump.as_os_str()]);
    assert!(imported.contains("imported 2 entries"), "{imported}");
    assert_eq!(pg.ok(["get", "-n", "db/password"]), "hunter2");

    // exec: the entries, and nothing of the server's password.
    let out = pg.ok([
        "exec",
        "--only",
        "api/token",
        "--",
        "sh",
        "-c",
        r#"printf '%s' "$API_TOKEN"; env | grep -i -e VAULTS_ -e PGPASS; true"#,
    ]);
    assert_eq!(out, "tok-1");

    // Slots, passphrase change, rotation.
    let added = pg.run(
        pg.pw()
            .env("VAULTS_NEW_PASSPHRASE", "a second passphrase")
            .args([
                "slot",
                "add-passphrase",
                "--kdf-memory",
                "19",
                "--kdf-time",
                "2",
            ]),
    );
    assert_success(&added);
    assert_eq!(pg.ok(["slots"]).lines().count(), 2);
    pg.ok(["slot", "remove", "2"]);
    let changed = pg.run(
        pg.pw()
            .env("VAULTS_NEW_PASSPHRASE", "the new passphrase")
            .arg("passwd"),
    );
    assert_success(&changed);
    let out = pg.run(pg.pw().args(["get", "api/token"]));
    assert_error(&out, 4, &[PASS]);
    let rotated = pg.run(
        pg.cmd()
            .env("VAULTS_PASSPHRASE", "the new passphrase")
            .arg("rotate"),
    );
    assert_success(&rotated);
    let rotated = String::from_utf8_lossy(&rotated.stdout).into_owned();
    assert!(rotated.contains("key generation 2"), "{rotated}");
    let doctor = pg.run(
        pg.cmd()
            .env("VAULTS_PASSPHRASE", "the new passphrase")
            .arg("doctor"),
    );
    assert_success(&doctor);
    let got = pg.run(
        pg.cmd()
            .env("VAULTS_PASSPHRASE", "the new passphrase")
            .args(["get", "-n", "api/token"]),
    );
    assert_success(&got);
    assert_eq!(got.stdout, b"tok-1");

    let destroyed = pg.run(
        pg.cmd()
            .env("VAULTS_PASSPHRASE", "the new passphrase")
            .args(["destroy", "--force"]),
    );
    assert_success(&destroyed);
    let out = pg.run(pg.pw().arg("ls"));
    let line = assert_error(&out, 3, &[PASS]);
    assert!(line.contains("run `vaults init`"), "{line}");
}

/// `unlock` caches the key of a server vault (under its vault id): `get`
/// then needs no passphrase, until `lock`.
#[test]
#[ignore = "needs the test PostgreSQL server: .ci/run runs it"]
fn an_unlocked_server_vault_needs_no_passphrase() {
    let pg = Pg::new();
    pg.init().set("k", "v", &[]);
    let out = pg.run(pg.pw().args(["unlock", "--for", "1m"]));
    if keyring_unusable(&out) {
        return;
    }
    assert_success(&out);
    let got = pg.run(pg.cmd().args(["get", "-n", "k"]));
    assert_success(&got);
    assert_eq!(got.stdout, b"v");
    assert_success(&pg.run(pg.cmd().arg("lock")));
    let out = pg.run(pg.cmd().args(["get", "k"]));
    let line = assert_error(&out, 2, &[]);
    assert!(line.contains("no passphrase given"), "{line}");
}

/// `copy --to` moves the vault, as stored, to a file and back to another
/// server vault: no passphrase asked, the same passphrase opens each copy.
#[test]
#[ignore = "needs the test PostgreSQL server: .ci/run runs it"]
fn copy_moves_a_vault_between_the_server_and_a_file() {
    let pg = Pg::new();
    pg.init().set("api/token", "tok-1", &[]);
    pg.set("session", "s", &["--ttl", "1h"]);
    let folder = pg.env.file("copies");
    std::fs::create_dir(&folder).unwrap();
    let file = folder.join("web.db");
    let out = pg.run(pg.cmd().arg("copy").arg("--to").arg(&file));
    assert_success(&out);
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(said.contains("(encrypted, 2 entries)"), "{said}");
    // Refused once it exists; the code of every "exists".
    let out = pg.run(pg.cmd().arg("copy").arg("--to").arg(&file));
    let line = assert_error(&out, 1, &[]);
    assert!(line.contains("exists"), "{line}");

    // The file copy opens with the passphrase, as a folder's vault.
    let from_file = |args: &[&str]| {
        let mut cmd = pg.env.pw();
        cmd.env("VAULTS_DIR", &folder)
            .args(["--vault", "web"])
            .args(args);
        pg.run(&mut cmd)
    };
    let got = from_file(&["get", "-n", "api/token"]);
    assert_success(&got);
    assert_eq!(got.stdout, b"tok-1");
    let ttl = from_file(&["ttl", "session"]);
    assert_success(&ttl);
    assert_ne!(ttl.stdout, b"never\n");

    // And back to the server, as another vault; the URL from the command
    // line (no password in it, so no warning: PGPASSWORD has it).
    let back_name = vaults_test_support::engine::unique_name("cli-back");
    let back = format!(
        "postgres://{}@{}?vault={back_name}",
        pg.parts.user, pg.parts.host_db
    );
    let mut cmd = pg.env.cmd();
    cmd.env("VAULTS_DIR", &folder)
        .env("PGPASSWORD", &pg.parts.password)
        .args(["--vault", "web", "copy", "--to", &back]);
    let out = pg.run(&mut cmd);
    assert_success(&out);
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("warning"),
        "{out:?}"
    );
    let mut cmd = pg.env.pw();
    cmd.env("PGPASSWORD", &pg.parts.password)
        .args(["--url", &back, "get", "-n", "api/token"]);
    let got = pg.run(&mut cmd);
    assert_success(&got);
    assert_eq!(got.stdout, b"tok-1");
    // The password of a URL without one came from PGPASSWORD: an `exec`
    // child does not get it.
    let mut cmd = pg.env.pw();
    cmd.env("PGPASSWORD", &pg.parts.password).args([
        "--url",
        &back,
        "exec",
        "--",
        "sh",
        "-c",
        r#"printf '%s' "${PGPASSWORD-unset}""#,
    ]);
    let child = pg.run(&mut cmd);
    assert_success(&child);
    assert_eq!(child.stdout, b"unset");
    let mut cmd = pg.env.pw();
    cmd.env("PGPASSWORD", &pg.parts.password)
        .args(["--url", &back, "destroy", "--force"]);
    assert_success(&pg.run(&mut cmd));
}

/// A plain vault on the server is trusted as one only once `init --plain`
/// recorded it (by server, database and vault name) or with `--plain`.
#[test]
#[ignore = "needs the test PostgreSQL server: .ci/run runs it"]
fn a_plain_server_vault_is_trusted_only_when_recorded() {
    let pg = Pg::new();
    pg.ok(["init", "--plain"]);
    pg.set("k", "v", &[]);
    assert_eq!(pg.ok(["get", "-n", "k"]), "v");
    let mut cmd = pg.cmd();
    cmd.env("XDG_CONFIG_HOME", pg.env.file("other-config"))
        .arg("ls");
    let out = pg.run(&mut cmd);
    let line = assert_error(&out, 4, &[]);
    assert!(line.contains("looks tampered with"), "{line}");
    let mut cmd = pg.cmd();
    cmd.env("XDG_CONFIG_HOME", pg.env.file("other-config"))
        .args(["--plain", "ls"]);
    assert_success(&pg.run(&mut cmd));
    assert_success(&pg.run(pg.cmd().args(["destroy", "--force"])));
}

/// A server that does not answer: the temporary-failure code (75), one
/// line, naming the server without its password.
#[test]
#[ignore = "needs the test PostgreSQL server: .ci/run runs it"]
fn an_unreachable_server_is_a_temporary_failure() {
    let env = Env::new();
    let password = "unreachable-Pw-7f3a9";
    let url = format!("postgres://app:{password}@127.0.0.1:1/db?vault=x&connect_timeout=5");
    let copy = env.file("copy.db");
    let copy_args = [OsStr::new("copy"), OsStr::new("--to"), copy.as_os_str()];
    for args in [&[OsStr::new("ls")][..], &[OsStr::new("init")], &copy_args] {
        let out = env
            .pw()
            .env("VAULTS_URL", &url)
            .args(args)
            .output()
            .unwrap();
        let line = assert_error(&out, 75, &[password, PASS]);
        assert!(
            line.contains("unavailable") && line.contains("postgres://app:***@127.0.0.1:1/db"),
            "{line}"
        );
    }
}

/// Credentials the server refuses: authentication failed (4), one line,
/// the password nowhere, whether it came in the URL or in PGPASSWORD.
#[test]
#[ignore = "needs the test PostgreSQL server: .ci/run runs it"]
fn a_wrong_password_is_access_denied() {
    let parts = server_parts();
    let env = Env::new();
    let wrong = "not-the-Password-q8z1";
    let in_url = format!(
        "postgres://{}:{wrong}@{}?vault=x",
        parts.user, parts.host_db
    );
    let out = env
        .pw()
        .env("VAULTS_URL", &in_url)
        .arg("ls")
        .output()
        .unwrap();
    let line = assert_error(&out, 4, &[wrong, PASS]);
    assert!(line.contains("refused access"), "{line}");

    let no_password = format!("postgres://{}@{}?vault=x", parts.user, parts.host_db);
    let out = env
        .pw()
        .env("VAULTS_URL", &no_password)
        .env("PGPASSWORD", wrong)
        .arg("ls")
        .output()
        .unwrap();
    let line = assert_error(&out, 4, &[wrong, PASS]);
    assert!(line.contains("refused access"), "{line}");
}

/// A password inside `--url` is in the process list: a warning says where
/// else to put it. From `VAULTS_URL`, no warning.
#[test]
#[ignore = "needs the test PostgreSQL server: .ci/run runs it"]
fn a_password_on_the_command_line_is_warned_about() {
    let pg = Pg::new();
    let mut cmd = pg.env.pw();
    cmd.args([
        "--url",
        &pg.url,
        "init",
        "--kdf-memory",
        "19",
        "--kdf-time",
        "2",
    ]);
    let out = pg.run(&mut cmd);
    assert_success(&out);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        stderr.contains("warning: the password in --url")
            && stderr.contains("VAULTS_URL or PGPASSWORD"),
        "{stderr}"
    );
    let out = pg.run(pg.pw().arg("ls"));
    assert_success(&out);
    assert!(out.stderr.is_empty(), "{out:?}");
    // `--url` and `--dir` on one command line name two places.
    let mut cmd = pg.env.pw();
    cmd.args(["--url", &pg.url, "--dir", "/nowhere", "ls"]);
    let out = pg.run(&mut cmd);
    let line = assert_error(&out, 2, &[]);
    assert!(line.contains("give one"), "{line}");
    // `VAULTS_DIR` (set by every test) does not take over `--url`.
    assert_success(&pg.run(pg.pw().args(["destroy", "--force"])));
}

/// Bad URLs are usage errors (2) that quote no password.
#[test]
#[ignore = "needs the test PostgreSQL server: .ci/run runs it"]
fn a_bad_url_is_a_usage_error() {
    let env = Env::new();
    for url in [
        "mysql://app:bad-Url-Pw-41@h/db?vault=x",
        "postgres://app:bad-Url-Pw-41@h/db?vault=x&pool=0",
        "postgres://app:bad-Url-Pw-41@h:port/db?vault=x",
    ] {
        let out = env.pw().env("VAULTS_URL", url).arg("ls").output().unwrap();
        assert_error(&out, 2, &["bad-Url-Pw-41"]);
    }
}

/// `VAULTS_LOG=trace` logs nothing of the URL's password either.
#[test]
#[ignore = "needs the test PostgreSQL server: .ci/run runs it"]
fn logs_hold_no_password() {
    let pg = Pg::new();
    pg.init();
    let mut cmd = pg.pw();
    cmd.env("VAULTS_LOG", "trace")
        .args(["set", "k"])
        .write_stdin("v");
    let out = pg.run(&mut cmd);
    assert_success(&out);
    assert!(!out.stderr.is_empty(), "nothing logged");
    assert_success(&pg.run(pg.pw().args(["destroy", "--force"])));
}
