//! `get --clip`, `generate --clip`, `otp --clip` with a fake clipboard: a
//! copy command that writes its stdin to a file and a paste command that
//! prints it. The clearer runs detached; the tests wait for it.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::cli_util::{Env, PASS, assert_error, assert_success};

const VALUE: &str = "s3cret-clip-value";

/// The environment of a fake clipboard held in `file`.
fn fake_clipboard(env: &Env) -> PathBuf {
    env.file("clipboard")
}

fn clip_cmd(env: &Env, clipboard: &Path) -> assert_cmd::Command {
    let mut cmd = env.pw();
    cmd.env(
        "VAULTS_CLIP_COMMAND",
        format!("cat > '{}'", clipboard.display()),
    )
    .env(
        "VAULTS_CLIP_PASTE_COMMAND",
        format!("cat '{}'", clipboard.display()),
    );
    cmd
}

/// Waits up to 15 s for the clipboard file to hold `want`.
fn wait_for(clipboard: &Path, want: &str) -> bool {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(15) {
        if std::fs::read_to_string(clipboard).is_ok_and(|c| c == want) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// The pids of running clearers.
fn clearers() -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        if cmdline.windows(12).any(|w| w == b"__clip-clear") {
            found.push(pid);
        }
    }
    found
}

#[test]
fn get_clip_copies_and_clears_without_the_value_on_any_argv() {
    let env = Env::new();
    env.init().set("k", VALUE, &[]);
    let clipboard = fake_clipboard(&env);
    let out = clip_cmd(&env, &clipboard)
        .args(["--clip-timeout", "3s", "get", "--clip", "k"])
        .output()
        .unwrap();
    assert_success(&out);
    assert!(out.stdout.is_empty(), "printed as well as copied");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("Copied \"k\" to the clipboard; clears in 3s"),
        "{said}"
    );
    assert_eq!(std::fs::read_to_string(&clipboard).unwrap(), VALUE);
    // The clearer waits: neither its argv nor its environment holds the
    // value or the passphrase.
    let pids = clearers();
    assert!(!pids.is_empty(), "no clearer running");
    for pid in pids {
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
        for data in [&cmdline, &environ] {
            let text = String::from_utf8_lossy(data);
            assert!(!text.contains(VALUE) && !text.contains(PASS), "{text}");
        }
    }
    assert!(wait_for(&clipboard, ""), "not cleared");
}

#[test]
fn the_clipboard_is_not_cleared_once_it_holds_something_else() {
    let env = Env::new();
    env.init().set("k", VALUE, &[]);
    let clipboard = fake_clipboard(&env);
    clip_cmd(&env, &clipboard)
        .args(["--clip-timeout", "2s", "get", "--clip", "k"])
        .assert()
        .success();
    std::fs::write(&clipboard, "copied since").unwrap();
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(std::fs::read_to_string(&clipboard).unwrap(), "copied since");
}

#[test]
fn generate_and_otp_copy_too_and_a_missing_tool_is_named() {
    let env = Env::new();
    env.init();
    let clipboard = fake_clipboard(&env);
    clip_cmd(&env, &clipboard)
        .args(["--clip-timeout", "0", "generate", "g", "--clip"])
        .assert()
        .success()
        .stdout("");
    assert_eq!(std::fs::read(&clipboard).unwrap(), env.get("g"));
    env.set("o", "JBSWY3DPEHPK3PXP", &[]);
    clip_cmd(&env, &clipboard)
        .args(["--clip-timeout", "0", "otp", "o", "--clip"])
        .assert()
        .success()
        .stdout("");
    let code = std::fs::read_to_string(&clipboard).unwrap();
    assert!(
        code.len() == 6 && code.chars().all(|c| c.is_ascii_digit()),
        "{code}"
    );
    // No tool and no display.
    let out = env
        .pw()
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .args(["get", "--clip", "g"])
        .output()
        .unwrap();
    let line = assert_error(&out, 1, &[PASS]);
    assert!(line.contains("VAULTS_CLIP_COMMAND"), "{line}");
}
