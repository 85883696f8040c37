//! Inputs that never end, never come, or cost too much: `set` and `import`
//! fed endless data, passphrase files and commands that are endless or never
//! answer, and an age file asking for an absurd scrypt work factor. Each
//! runs the real binary under a memory cap (`prlimit --as`), where reading
//! everything first used to abort or panic.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::cli_util;

use std::process::Output;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use cli_util::{Env, PASS, assert_error, assert_success};

/// Address space a command gets in these tests: enough for the binary, the
/// capped buffers and their growth, far from what reading everything takes.
const SMALL: u64 = 256 << 20;

/// `sh -c SCRIPT` where `$LIMIT` is `prlimit --as=BYTES`.
fn capped(env: &Env, bytes: u64, script: &str) -> Output {
    env.sh(script)
        .env("LIMIT", format!("prlimit --as={bytes}"))
        .output()
        .unwrap()
}

/// Regression: `set` read all of stdin before any size check (a 1 GiB value
/// took 2 GiB of memory, endless input ran until memory was gone).
#[test]
fn set_refuses_endless_stdin_at_the_value_limit() {
    let env = Env::new();
    env.init_plain();
    let out = capped(&env, SMALL, "$LIMIT \"$VAULTS_BIN\" set big < /dev/zero");
    let err = assert_error(&out, 1, &[]);
    assert!(err.contains("larger than the 64 MiB limit"), "{err}");
    assert!(env.names().is_empty());
}

/// Regression: an endless passphrase command panicked under a memory cap
/// (exit 101); an endless passphrase file aborted.
#[test]
fn endless_passphrase_sources_are_refused_at_4_kib() {
    let env = Env::new();
    env.init();
    for command in ["yes", "cat /dev/zero"] {
        let out = capped(
            &env,
            SMALL,
            &format!("$LIMIT \"$VAULTS_BIN\" --passphrase-command '{command}' ls"),
        );
        let err = assert_error(&out, 1, &[]);
        assert!(err.contains("printed more than 4 KiB"), "{command}: {err}");
    }
    let out = capped(
        &env,
        SMALL,
        "$LIMIT \"$VAULTS_BIN\" --passphrase-file /dev/zero ls",
    );
    let err = assert_error(&out, 1, &[]);
    assert!(err.contains("is larger than 4 KiB"), "{err}");
    // A passphrase of exactly 4 KiB (plus its newline) is still read.
    let long = "p".repeat(4096);
    let file = env.write("long", format!("{long}\n"));
    let out = env
        .cmd()
        .arg("--passphrase-file")
        .arg(&file)
        .arg("ls")
        .output()
        .unwrap();
    assert_error(&out, 4, &[&long]);
}

/// Regression: `import` read the whole file before parsing it.
#[test]
fn import_refuses_endless_input() {
    let env = Env::new();
    env.init_plain();
    // A .env file is read whole, up to 64 MiB.
    let out = capped(
        &env,
        SMALL,
        "$LIMIT \"$VAULTS_BIN\" import - --format env < /dev/zero",
    );
    let err = assert_error(&out, 1, &[]);
    assert!(err.contains("larger than 64 MiB"), "{err}");
    // An export streams; one endless value stops at twice the value limit.
    let out = capped(
        &env,
        600 << 20,
        r#"{ printf '{"format":"vaults-export","version":1,"entries":[{"name":"a","encoding":"text","value":"'; tr '\0' a < /dev/zero; } | $LIMIT "$VAULTS_BIN" import - --format json"#,
    );
    let err = assert_error(&out, 1, &[]);
    assert!(err.contains("larger than 128 MiB"), "{err}");
    assert!(env.names().is_empty());
}

/// A FIFO at `name` in the test's folder.
fn fifo(env: &Env, name: &str) -> std::path::PathBuf {
    let path = env.file(name);
    let status = std::process::Command::new("mkfifo")
        .arg(&path)
        .status()
        .unwrap();
    assert!(status.success(), "mkfifo");
    path
}

/// Regression: a FIFO passphrase file that nobody writes to hung forever.
#[test]
fn a_passphrase_fifo_without_a_writer_times_out() {
    let env = Env::new();
    env.init();
    let path = fifo(&env, "pass.fifo");
    let start = Instant::now();
    let out = env
        .cmd()
        .args(["--passphrase-timeout", "1s", "--passphrase-file"])
        .arg(&path)
        .arg("ls")
        .timeout(Duration::from_secs(30))
        .output()
        .unwrap();
    let err = assert_error(&out, 1, &[]);
    assert!(err.contains("gave nothing within 1s"), "{err}");
    assert!(err.contains("--passphrase-timeout"), "{err}");
    assert!(start.elapsed() < Duration::from_secs(30));
    // With a writer, the FIFO works as it always did.
    let out = env
        .sh(r#"printf '%s\n' "$P" > "$F" & "$VAULTS_BIN" --passphrase-file "$F" ls"#)
        .env("P", PASS)
        .env("F", &path)
        .output()
        .unwrap();
    assert_success(&out);
}

/// Regression: `--passphrase-command 'sleep 1000'` hung forever.
#[test]
fn a_hanging_passphrase_command_is_stopped() {
    let env = Env::new();
    env.init();
    let out = env
        .cmd()
        .env("VAULTS_PASSPHRASE_TIMEOUT", "1s")
        .args(["--passphrase-command", "sleep 1000", "ls"])
        .timeout(Duration::from_secs(30))
        .output()
        .unwrap();
    let err = assert_error(&out, 1, &[]);
    assert!(err.contains("gave no passphrase within 1s"), "{err}");
    // A command that answers in time still works.
    let out = env
        .cmd()
        .args(["--passphrase-timeout", "30s", "--passphrase-command"])
        .arg(format!("echo '{PASS}'"))
        .arg("ls")
        .output()
        .unwrap();
    assert_success(&out);
}

/// An age file whose only stanza is scrypt with work factor `log_n`: 200
/// bytes that ask for 2^log_n KiB of memory.
fn crafted_age(log_n: u8) -> Vec<u8> {
    let b = |n: usize| B64.encode(vec![0x5a; n]);
    let mut file = format!(
        "age-encryption.org/v1\n-> scrypt {} {log_n}\n{}\n--- {}\n",
        b(16),
        b(32),
        b(32)
    )
    .into_bytes();
    file.extend_from_slice(&[0x33; 16 + 32]);
    file
}

/// Regression: a 214-byte age file with work factor 22 or 23 cost 4–8 GiB
/// (age's own ceiling is a second of work here plus 4) and aborted under a
/// memory cap.
#[test]
fn an_age_file_asking_for_too_much_scrypt_work_is_refused_before_any() {
    let env = Env::new();
    env.init_plain();
    for log_n in [21, 30] {
        let file = env.write("crafted.age", crafted_age(log_n));
        let out = env
            .cmd()
            .env("VAULTS_EXPORT_PASSPHRASE", "export pass")
            .arg("import")
            .arg(&file)
            .output()
            .unwrap();
        let err = assert_error(&out, 1, &["export pass"]);
        assert!(
            err.contains(&format!("work factor {log_n}")) && err.contains("at most 20"),
            "{err}"
        );
        // And under a cap a 2^21 scrypt (2 GiB) could not run in.
        let out = capped(
            &env,
            1 << 30,
            &format!(
                "VAULTS_EXPORT_PASSPHRASE=x $LIMIT \"$VAULTS_BIN\" import {}",
                file.display()
            ),
        );
        assert_error(&out, 1, &[]);
    }
}
