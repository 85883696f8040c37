//! The clipboard: a value copied through the platform's tool, and cleared
//! after a while by a detached `vaults` process, only if the clipboard
//! still holds that value.
//!
//! The value reaches the tool on its stdin, never its argv. The clearer
//! never holds the value: it gets a random salt and SHA-256(salt ‖ value)
//! on its stdin, and compares the clipboard's content by the same hash.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// The hidden subcommand that runs the clearer.
pub const CLEAR_COMMAND: &str = "__clip-clear";

/// The variables the clearer keeps: what finds and reaches the clipboard.
const KEPT: &[&str] = &[
    "PATH",
    "HOME",
    "DISPLAY",
    "XAUTHORITY",
    "WAYLAND_DISPLAY",
    "XDG_RUNTIME_DIR",
    "VAULTS_CLIP_COMMAND",
    "VAULTS_CLIP_PASTE_COMMAND",
];

/// How to copy to and read from the clipboard: two shell command lines.
struct Tool {
    copy: String,
    paste: String,
}

/// `$VAULTS_CLIP_COMMAND` (and `$VAULTS_CLIP_PASTE_COMMAND`), else the
/// platform's tool: wl-copy under Wayland, xclip or xsel under X, pbcopy
/// on macOS.
fn tool() -> Result<Tool> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    if let Some(copy) = var("VAULTS_CLIP_COMMAND") {
        let paste = var("VAULTS_CLIP_PASTE_COMMAND").unwrap_or_default();
        return Ok(Tool { copy, paste });
    }
    let found = |program: &str| {
        std::env::var_os("PATH")
            .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
    };
    let pair = |copy: &str, paste: &str| Tool {
        copy: copy.to_owned(),
        paste: paste.to_owned(),
    };
    if cfg!(target_os = "macos") && found("pbcopy") {
        return Ok(pair("pbcopy", "pbpaste"));
    }
    if var("WAYLAND_DISPLAY").is_some() && found("wl-copy") {
        return Ok(pair("wl-copy", "wl-paste -n"));
    }
    if var("DISPLAY").is_some() {
        if found("xclip") {
            return Ok(pair(
                "xclip -selection clipboard",
                "xclip -selection clipboard -o",
            ));
        }
        if found("xsel") {
            return Ok(pair(
                "xsel --clipboard --input",
                "xsel --clipboard --output",
            ));
        }
    }
    Err(Error::other(
        "no clipboard tool found (wl-copy, xclip, xsel or pbcopy, with a display); \
         set VAULTS_CLIP_COMMAND to a command that copies its stdin",
    ))
}

/// Runs `cmd` with `sh -c`, `input` on its stdin; its output is dropped.
fn run_copy(cmd: &str, input: &[u8]) -> Result<()> {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| Error::other(format!("cannot run the clipboard tool: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(input)
            .map_err(|e| Error::other(format!("cannot write to the clipboard tool: {e}")))?;
    }
    let status = child
        .wait()
        .map_err(|e| Error::other(format!("the clipboard tool failed: {e}")))?;
    match status.success() {
        true => Ok(()),
        false => Err(Error::other(format!(
            "the clipboard tool failed ({status})"
        ))),
    }
}

/// The clipboard's content, through the paste command (`None`: unknown).
fn run_paste(cmd: &str) -> Option<Zeroizing<Vec<u8>>> {
    if cmd.is_empty() {
        return None;
    }
    let out = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let data = Zeroizing::new(out.stdout);
    out.status.success().then_some(data)
}

fn digest(salt: &[u8; 32], value: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(salt);
    h.update(value);
    h.finalize().into()
}

/// Copies `value`, then (unless `clear_after` is zero) starts the clearer.
pub fn copy(value: &[u8], clear_after: Duration) -> Result<()> {
    let tool = tool()?;
    run_copy(&tool.copy, value)?;
    if clear_after.is_zero() {
        return Ok(());
    }
    if tool.paste.is_empty() {
        return Err(Error::other(
            "copied, but it cannot be cleared: VAULTS_CLIP_COMMAND is set without \
             VAULTS_CLIP_PASTE_COMMAND to read the clipboard back (or use --clip-timeout 0)",
        ));
    }
    let mut salt = [0u8; 32];
    getrandom::fill(&mut salt)
        .map_err(|_| Error::other("the operating system's random generator failed"))?;
    let hash = digest(&salt, value);
    let exe = std::env::current_exe()
        .map_err(|e| Error::other(format!("cannot start the clipboard clearer: {e}")))?;
    // Only what the clipboard tools need: no passphrase variable waits in
    // the clearer's environment for the 45 seconds it lives.
    let kept = std::env::vars_os().filter(|(k, _)| KEPT.iter().any(|kept| k == kept));
    let mut child = Command::new(exe)
        .arg(CLEAR_COMMAND)
        .env_clear()
        .envs(kept)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| Error::other(format!("cannot start the clipboard clearer: {e}")))?;
    let mut message = Vec::with_capacity(72);
    message.extend_from_slice(&salt);
    message.extend_from_slice(&hash);
    let millis = u64::try_from(clear_after.as_millis()).unwrap_or(u64::MAX);
    message.extend_from_slice(&millis.to_le_bytes());
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(&message)
            .map_err(|e| Error::other(format!("cannot start the clipboard clearer: {e}")))?;
    }
    // Not waited for: it outlives this process, in a session of its own.
    Ok(())
}

/// The clearer (`vaults __clip-clear`): reads salt, hash and delay from
/// stdin, leaves the caller's session, waits, and clears the clipboard if
/// it still holds the value. Reports nothing: nobody is listening.
pub fn clear_later() -> Result<()> {
    let mut message = [0u8; 72];
    std::io::stdin().read_exact(&mut message)?;
    let _ = rustix::process::setsid();
    let (salt, rest) = message.split_at(32);
    let (hash, millis) = rest.split_at(32);
    let salt: [u8; 32] = salt.try_into().map_err(|_| Error::other("bad message"))?;
    let millis: [u8; 8] = millis.try_into().map_err(|_| Error::other("bad message"))?;
    std::thread::sleep(Duration::from_millis(u64::from_le_bytes(millis)));
    let tool = tool()?;
    let Some(content) = run_paste(&tool.paste) else {
        return Ok(());
    };
    // A paste tool may add a newline the copy did not have.
    let trimmed = content.strip_suffix(b"\n").unwrap_or(&content);
    if digest(&salt, &content) == hash || digest(&salt, trimmed) == hash {
        run_copy(&tool.copy, b"")?;
    }
    Ok(())
}
