//! Shared helpers for the CLI tests: every test gets its own `VAULTS_DIR`, a
//! clean environment and `VAULTS_NO_INPUT=1`, so nothing ever prompts.

#![allow(
    dead_code,
    reason = "each test binary uses its own part of these helpers"
)]

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use assert_cmd::Command;

/// The passphrase of the vaults these tests create.
pub const PASS: &str = "correct horse battery staple";

/// No `vaults` run in these tests takes anywhere near this long; a run that
/// hangs (a prompt that should not happen) is killed and fails its test.
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// The binary under test, for `sh -c` pipelines.
pub const BIN: &str = env!("CARGO_BIN_EXE_vaults");

/// Variables a test only ever sets on purpose.
const CLEARED: &[&str] = &[
    "VAULTS_DIR",
    "VAULTS_VAULT",
    "VAULTS_PASSPHRASE",
    "VAULTS_PASSPHRASE_FILE",
    "VAULTS_PASSPHRASE_COMMAND",
    "VAULTS_NEW_PASSPHRASE",
    "VAULTS_NEW_PASSPHRASE_FILE",
    "VAULTS_EXPORT_PASSPHRASE",
    "VAULTS_EXPORT_PASSPHRASE_FILE",
    "VAULTS_NO_INPUT",
    "VAULTS_PLAIN",
    "VAULTS_LOG",
];

/// One test's world: a temp folder, and `VAULTS_DIR` inside it (not created
/// yet, so `init` creates it).
pub struct Env {
    tmp: tempfile::TempDir,
    pub dir: PathBuf,
}

impl Env {
    pub fn new() -> Env {
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = tmp.path().join("vaults");
        Env { tmp, dir }
    }

    /// A file path in the test's temp folder (outside `VAULTS_DIR`).
    pub fn file(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    /// Writes `data` to a file in the temp folder and returns its path.
    pub fn write(&self, name: &str, data: impl AsRef<[u8]>) -> PathBuf {
        let path = self.file(name);
        std::fs::write(&path, data).expect("write test file");
        path
    }

    /// The config folder of this test's user (`$XDG_CONFIG_HOME`).
    pub fn config_dir(&self) -> PathBuf {
        self.tmp.path().join("config")
    }

    /// The file of the default vault.
    pub fn vault_path(&self) -> PathBuf {
        self.dir.join("default.db")
    }

    /// `vaults` with a clean environment and no passphrase source.
    pub fn cmd(&self) -> Command {
        self.prepare(Command::cargo_bin("vaults").expect("the vaults binary"))
    }

    /// `sh -c SCRIPT` with the same environment as [`Env::cmd`], plus
    /// `$VAULTS_BIN`, the binary under test.
    pub fn sh(&self, script: &str) -> Command {
        let mut cmd = self.prepare(Command::new("sh"));
        cmd.env("VAULTS_BIN", BIN).args(["-c", script]);
        cmd
    }

    /// Like [`Env::sh`], with bash (for `set -o pipefail`).
    pub fn bash(&self, script: &str) -> Command {
        let mut cmd = self.prepare(Command::new("bash"));
        cmd.env("VAULTS_BIN", BIN).args(["-c", script]);
        cmd
    }

    fn prepare(&self, mut cmd: Command) -> Command {
        for name in CLEARED {
            cmd.env_remove(name);
        }
        // Whatever else the caller's environment holds under our prefix.
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("VAULTS_") {
                cmd.env_remove(name);
            }
        }
        // `init --plain` records plain vaults in the user's config folder:
        // this test's own, never the real one.
        cmd.env("VAULTS_DIR", &self.dir)
            .env("XDG_CONFIG_HOME", self.config_dir())
            .env("HOME", self.tmp.path().join("home"))
            .env("VAULTS_NO_INPUT", "1")
            // A panic would show a backtrace: the tests that check for one
            // line of error would see it.
            .env("RUST_BACKTRACE", "1")
            .timeout(TIMEOUT)
            // stdin is an empty pipe unless a test writes to it.
            .write_stdin(Vec::new());
        cmd
    }

    /// `vaults` with `VAULTS_PASSPHRASE` set to [`PASS`].
    pub fn pw(&self) -> Command {
        let mut cmd = self.cmd();
        cmd.env("VAULTS_PASSPHRASE", PASS);
        cmd
    }

    /// Creates the default vault, encrypted with [`PASS`] at the Argon2
    /// floor (~50 ms an unlock).
    pub fn init(&self) -> &Env {
        self.pw()
            .args(["init", "--kdf-memory", "19", "--kdf-time", "2"])
            .assert()
            .success();
        self
    }

    /// Creates the default vault, plain.
    pub fn init_plain(&self) -> &Env {
        self.cmd().args(["init", "--plain"]).assert().success();
        self
    }

    /// `vaults set KEY [ARGS]` with `value` on stdin; must succeed.
    pub fn set(&self, key: &str, value: impl Into<Vec<u8>>, args: &[&str]) -> &Env {
        self.pw()
            .arg("set")
            .arg(key)
            .args(args)
            .write_stdin(value)
            .assert()
            .success();
        self
    }

    /// `vaults get -n KEY`; must succeed.
    pub fn get(&self, key: &str) -> Vec<u8> {
        let out = self.pw().args(["get", "-n", key]).output().expect("run");
        assert_success(&out);
        out.stdout
    }

    /// `vaults ARGS` with the passphrase, stdout as text; must succeed.
    pub fn stdout<I, S>(&self, args: I) -> String
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let out = self.pw().args(args).output().expect("run");
        assert_success(&out);
        String::from_utf8(out.stdout).expect("UTF-8 stdout")
    }

    /// `vaults --json ARGS` with the passphrase, parsed; must succeed.
    pub fn json<I, S>(&self, args: I) -> serde_json::Value
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let out = self.pw().arg("--json").args(args).output().expect("run");
        assert_success(&out);
        serde_json::from_slice(&out.stdout).expect("JSON on stdout")
    }

    /// The sorted names in the vault.
    pub fn names(&self) -> Vec<String> {
        self.stdout(["ls"]).lines().map(str::to_owned).collect()
    }
}

/// Panics with the process's output unless it succeeded.
pub fn assert_success(out: &Output) {
    assert!(
        out.status.success(),
        "expected success, got {:?}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Checks a failed run: exit `code`, exactly one line on stderr starting
/// with `vaults: `, no backtrace or panic, none of `secrets` on stdout or
/// stderr. Returns the error line.
pub fn assert_error(out: &Output, code: i32, secrets: &[&str]) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.code(),
        Some(code),
        "exit code\nstdout: {stdout}\nstderr: {stderr}"
    );
    assert!(
        stderr.starts_with("vaults: ") && stderr.ends_with('\n') && stderr.lines().count() == 1,
        "not one error line: {stderr:?}"
    );
    for bad in ["panicked", "backtrace", "RUST_BACKTRACE"] {
        assert!(!stderr.contains(bad), "{bad} on stderr: {stderr}");
    }
    for secret in secrets {
        assert!(!stderr.contains(secret), "a secret on stderr: {stderr}");
        assert!(!stdout.contains(secret), "a secret on stdout: {stdout}");
    }
    stderr.trim_end().to_owned()
}

/// The permission bits of a file or folder.
pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("stat {}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// Set to `1` (CI does), a keyring test fails where the kernel keyring is
/// unusable instead of skipping itself.
pub const REQUIRE_KEYRING: &str = "VAULTS_REQUIRE_KEYRING";

/// Says why a keyring test cannot run here, and skips it (the caller
/// returns), or fails it under `VAULTS_REQUIRE_KEYRING=1` or in CI.
#[track_caller]
pub fn skip_without_keyring(why: &str) {
    let required =
        std::env::var(REQUIRE_KEYRING).is_ok_and(|v| v == "1") || std::env::var_os("CI").is_some();
    assert!(
        !required,
        "the kernel keyring must be usable for this test ({REQUIRE_KEYRING}=1 or CI): {why}"
    );
    eprintln!("SKIPPED: {why} (set {REQUIRE_KEYRING}=1 to fail instead)");
}

/// Whether a `vaults` error says the kernel keyring cannot be used here, in
/// which case a keyring test skips itself, saying why (see
/// [`skip_without_keyring`]: under `VAULTS_REQUIRE_KEYRING=1` it fails).
#[track_caller]
pub fn keyring_unusable(out: &Output) -> bool {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let unusable = !out.status.success()
        && (stderr.contains("no usable kernel keyring")
            || stderr.contains("no persistent keyring"));
    if unusable {
        skip_without_keyring(&format!(
            "the kernel keyring is unusable here: {}",
            stderr.trim()
        ));
    }
    unusable
}

/// Runs `vaults lock` when dropped, so a failing keyring test leaves no key
/// cached.
pub struct LockOnDrop<'a>(pub &'a Env);

impl Drop for LockOnDrop<'_> {
    fn drop(&mut self) {
        let _ = self.0.cmd().arg("lock").output();
    }
}

/// The kernel keys a `vaults` process can see (`/proc/keys`), read by a
/// passphrase command of `vaults unlock` on a helper vault: by then the
/// process has joined the keyrings that hold cached keys and keyring slots.
/// The command then fails, so nothing is cached.
pub fn visible_keys(env: &Env) -> Option<String> {
    if std::fs::File::open("/proc/keys").is_err() {
        skip_without_keyring("/proc/keys is not readable here");
        return None;
    }
    let probe = ["--vault", "probe"];
    if !env.dir.join("probe.db").exists() {
        env.pw()
            .args(probe)
            .args(["init", "--kdf-memory", "19", "--kdf-time", "2"])
            .assert()
            .success();
    }
    let file = env.file("keys");
    let out = env
        .cmd()
        .env("KEYS", &file)
        .args(probe)
        .args(["unlock", "--passphrase-command"])
        .arg(r#"cat /proc/keys > "$KEYS"; exit 1"#)
        .output()
        .unwrap();
    if keyring_unusable(&out) {
        return None;
    }
    assert_error(&out, 1, &[]);
    Some(std::fs::read_to_string(&file).expect("/proc/keys"))
}

/// Whether the `/proc/keys` listing `keys` has a live key (not revoked,
/// dead, invalidated or expired: the kernel collects those a little later)
/// whose description contains `needle`. Returns its timeout column.
pub fn live_key<'a>(keys: &'a str, needle: &str) -> Option<&'a str> {
    keys.lines().find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let flags = fields.get(1)?.as_bytes();
        let timeout = *fields.get(3)?;
        let dead = [1, 2, 6].iter().any(|&i| flags.get(i) != Some(&b'-')) || timeout == "expd";
        (line.contains(needle) && !dead).then_some(timeout)
    })
}

/// The description of a vault's cached key in the kernel keyring.
pub fn cache_description(env: &Env) -> String {
    let conn = rusqlite::Connection::open(env.vault_path()).unwrap();
    let id: Vec<u8> = conn
        .query_row("SELECT value FROM meta WHERE name = 'vault_id'", [], |r| {
            r.get(0)
        })
        .unwrap();
    let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
    format!("vaults:unlock:{hex}")
}
