//! Where passphrases come from (files, commands, the environment, prompts),
//! and the prompts themselves.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use vaults::Passphrase;
use zeroize::Zeroizing;

use crate::cli::NewPassphrase;
use crate::context::{Context, PassphraseSource};
use crate::error::{Error, Result};
use crate::input;

/// A passphrase given without asking: `--passphrase-file`,
/// `--passphrase-command`, then `$VAULTS_PASSPHRASE`, first found wins.
pub fn given_passphrase(ctx: &Context) -> Result<Option<Passphrase>> {
    let timeout = ctx.passphrase_timeout;
    match &ctx.passphrase {
        PassphraseSource::File(path) => read_secret_file(path, "passphrase file", timeout)
            .and_then(passphrase)
            .map(Some),
        PassphraseSource::Command(cmd) => run_secret_command(cmd, timeout)
            .and_then(passphrase)
            .map(Some),
        PassphraseSource::Env(env) => env.get()?.map(passphrase).transpose(),
        PassphraseSource::None => Ok(None),
    }
}

/// The passphrase, from a given source or else a prompt.
pub fn passphrase_or_prompt(ctx: &Context, prompt: &str) -> Result<Passphrase> {
    match given_passphrase(ctx)? {
        Some(p) => Ok(p),
        None => prompt_passphrase(ctx, prompt, Asked::Passphrase, false),
    }
}

/// A new passphrase: `$VAULTS_NEW_PASSPHRASE`, `--new-passphrase-file`, or a
/// prompt asked twice.
pub fn new_passphrase(ctx: &Context, new: &NewPassphrase) -> Result<Passphrase> {
    if let Some(path) = &new.new_passphrase_file {
        return read_secret_file(path, "new passphrase file", ctx.passphrase_timeout)
            .and_then(passphrase);
    }
    match ctx.new_passphrase.get()? {
        Some(p) => passphrase(p),
        None => prompt_passphrase(ctx, "New passphrase: ", Asked::NewPassphrase, true),
    }
}

/// The passphrase of an `age` export: `$VAULTS_EXPORT_PASSPHRASE`, a file, or
/// a prompt (asked twice when `confirm`).
pub fn export_passphrase(
    ctx: &Context,
    file: Option<&Path>,
    confirm: bool,
) -> Result<Zeroizing<String>> {
    if let Some(path) = file {
        return read_secret_file(path, "export passphrase file", ctx.passphrase_timeout)
            .and_then(non_empty);
    }
    match ctx.export_passphrase.get()? {
        Some(p) => non_empty(p),
        None => {
            let first = non_empty(prompt(ctx, "Export passphrase: ", Asked::ExportPassphrase)?)?;
            if confirm
                && *prompt(ctx, "Export passphrase again: ", Asked::ExportPassphrase)? != *first
            {
                return Err(Error::usage("the two passphrases differ"));
            }
            Ok(first)
        }
    }
}

/// What a prompt asks for: it names, when it cannot ask, how to give it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asked {
    /// The vault's passphrase.
    Passphrase,
    /// A new passphrase (`init`, `passwd`, `slot add-passphrase`).
    NewPassphrase,
    /// The passphrase of an `age` export or import.
    ExportPassphrase,
    /// The value of `set`.
    Value,
}

impl Asked {
    /// What is missing, and the ways to give it without a prompt.
    fn missing(self) -> &'static str {
        match self {
            Asked::Passphrase => {
                "no passphrase given: set VAULTS_PASSPHRASE, --passphrase-file or \
                 --passphrase-command (or run `vaults unlock`)"
            }
            Asked::NewPassphrase => {
                "no new passphrase given: set VAULTS_NEW_PASSPHRASE or --new-passphrase-file"
            }
            Asked::ExportPassphrase => {
                "no export passphrase given: set VAULTS_EXPORT_PASSPHRASE or \
                 --export-passphrase-file"
            }
            Asked::Value => "no value given: pipe it on stdin",
        }
    }
}

/// Asks for a passphrase without echo (twice when `confirm`). An empty one
/// is refused at once, before it is asked again.
pub fn prompt_passphrase(
    ctx: &Context,
    text: &str,
    asked: Asked,
    confirm: bool,
) -> Result<Passphrase> {
    let first = non_empty(prompt(ctx, text, asked)?)?;
    if confirm && *prompt(ctx, "Again: ", asked)? != *first {
        return Err(Error::usage("the two passphrases differ"));
    }
    passphrase(first)
}

/// Reads one line without echo from the terminal, or fails at once (never
/// hangs) when there is none or prompting is off, naming what to set.
pub fn prompt(ctx: &Context, text: &str, asked: Asked) -> Result<Zeroizing<String>> {
    if ctx.no_input {
        return Err(Error::usage(format!(
            "{} (VAULTS_NO_INPUT or --no-input forbids asking)",
            asked.missing()
        )));
    }
    if !has_terminal() {
        return Err(Error::usage(format!(
            "{}; there is no terminal to ask on",
            asked.missing()
        )));
    }
    rpassword::prompt_password(text)
        .map(Zeroizing::new)
        .map_err(|e| {
            // Nothing ended the prompt's line (Ctrl-D echoes nothing): the
            // error goes on a line of its own.
            end_prompt_line();
            match e.kind() {
                std::io::ErrorKind::UnexpectedEof => {
                    Error::usage("nothing entered (end of input at the prompt): nothing changed")
                }
                _ => Error::other(format!("could not read from the terminal: {e}")),
            }
        })
}

/// Ends the prompt's line on the terminal.
fn end_prompt_line() {
    if let Ok(mut tty) = OpenOptions::new().write(true).open("/dev/tty") {
        let _ = tty.write_all(b"\n");
    }
}

/// Whether this process has a controlling terminal to prompt on.
pub fn has_terminal() -> bool {
    OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .is_ok()
}

fn passphrase(text: Zeroizing<String>) -> Result<Passphrase> {
    let text = non_empty(text)?;
    Passphrase::new(String::from(text.as_str())).map_err(Error::from)
}

fn non_empty(text: Zeroizing<String>) -> Result<Zeroizing<String>> {
    if text.is_empty() {
        return Err(Error::usage("the passphrase is empty"));
    }
    Ok(text)
}

/// Reads a secret from a file, dropping one trailing newline: at most
/// [`PASSPHRASE_MAX`](input::PASSPHRASE_MAX) bytes, within `timeout` (the
/// file may be a FIFO that nobody writes to).
fn read_secret_file(path: &Path, what: &str, timeout: Duration) -> Result<Zeroizing<String>> {
    let cannot = |e: &dyn std::fmt::Display| {
        Error::other(format!("cannot read the {what} {}: {e}", path.display()))
    };
    let owned = path.to_owned();
    let answer = input::within(timeout, move || {
        let mut file = std::fs::File::open(&owned).map_err(input::ReadError::Io)?;
        input::read_capped(&mut file, input::PASSPHRASE_READ_MAX)
    })
    .map_err(|e| cannot(&e))?;
    let too_large = || {
        Error::other(format!(
            "the {what} {} is larger than {}",
            path.display(),
            input::human_size(input::PASSPHRASE_MAX)
        ))
    };
    let data = match answer {
        None => {
            return Err(Error::other(format!(
                "the {what} {} gave nothing within {} (a FIFO nobody writes to?); \
                 --passphrase-timeout sets how long to wait",
                path.display(),
                humantime::format_duration(timeout)
            )));
        }
        Some(Err(input::ReadError::TooLarge)) => return Err(too_large()),
        Some(Err(input::ReadError::OutOfMemory)) => return Err(cannot(&"out of memory")),
        Some(Err(input::ReadError::Io(e))) => return Err(cannot(&e)),
        Some(Ok(data)) => data,
    };
    let mut text = utf8(data).ok_or_else(|| Error::other(format!("the {what} is not UTF-8")))?;
    strip_newline(&mut text);
    if text.len() > input::PASSPHRASE_MAX {
        return Err(too_large());
    }
    Ok(text)
}

/// `data` as a wiped-on-drop string, without a copy.
fn utf8(mut data: Zeroizing<Vec<u8>>) -> Option<Zeroizing<String>> {
    let bytes = std::mem::take(&mut *data);
    match String::from_utf8(bytes) {
        Ok(text) => Some(Zeroizing::new(text)),
        // Give the bytes back to the buffer that wipes them.
        Err(e) => {
            *data = e.into_bytes();
            None
        }
    }
}

/// Runs `cmd` with `sh -c` and takes its output, minus one trailing newline,
/// as the secret: at most [`PASSPHRASE_MAX`](input::PASSPHRASE_MAX) bytes,
/// within `timeout`, after which the command is killed. Its stdin and
/// stderr stay ours, so it can prompt.
fn run_secret_command(cmd: &str, timeout: Duration) -> Result<Zeroizing<String>> {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .stdin(Stdio::inherit())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| Error::other(format!("cannot run the passphrase command: {e}")))?;
    let pid = i32::try_from(child.id())
        .ok()
        .and_then(rustix::process::Pid::from_raw);
    let mut stdout = child.stdout.take();
    // The thread owns the child: it reads, stops a command that prints too
    // much, and reaps it.
    let answer = input::within(timeout, move || {
        let read = match stdout.as_mut() {
            Some(out) => input::read_capped(out, input::PASSPHRASE_READ_MAX),
            None => Err(input::ReadError::Io(std::io::Error::other(
                "no output pipe",
            ))),
        };
        if read.is_err()
            && let Some(pid) = pid
        {
            kill_tree(pid);
        }
        drop(stdout);
        (read, child.wait())
    })
    .map_err(|e| Error::other(format!("cannot run the passphrase command: {e}")))?;
    let Some((read, status)) = answer else {
        // Not reaped yet (the thread is still waiting for it), so the pid is
        // still the command's.
        if let Some(pid) = pid {
            kill_tree(pid);
        }
        return Err(Error::other(format!(
            "the passphrase command gave no passphrase within {}, so it was stopped; \
             --passphrase-timeout sets how long to wait",
            humantime::format_duration(timeout)
        )));
    };
    let too_much = || {
        Error::other(format!(
            "the passphrase command printed more than {}",
            input::human_size(input::PASSPHRASE_MAX)
        ))
    };
    let data = match read {
        Ok(data) => data,
        Err(input::ReadError::TooLarge) => return Err(too_much()),
        Err(input::ReadError::OutOfMemory) => {
            return Err(Error::other(
                "cannot read the passphrase command's output: out of memory",
            ));
        }
        Err(input::ReadError::Io(e)) => {
            return Err(Error::other(format!(
                "cannot read the passphrase command's output: {e}"
            )));
        }
    };
    let status =
        status.map_err(|e| Error::other(format!("cannot run the passphrase command: {e}")))?;
    if !status.success() {
        return Err(Error::other(format!(
            "the passphrase command failed ({status})"
        )));
    }
    let mut text =
        utf8(data).ok_or_else(|| Error::other("the passphrase command printed non-UTF-8"))?;
    strip_newline(&mut text);
    if text.len() > input::PASSPHRASE_MAX {
        return Err(too_much());
    }
    Ok(text)
}

/// Kills `pid` and every process it started (found through `/proc`, while
/// `pid` still holds them as its children): a `sh -c` that forked the real
/// command would otherwise leave it running, holding our stderr open.
fn kill_tree(pid: rustix::process::Pid) {
    let mut parents = Vec::new();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Some(child) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<i32>().ok())
            else {
                continue;
            };
            // `stat` is "pid (comm) state ppid ...", and comm may hold spaces.
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            let ppid = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .and_then(|p| p.parse::<i32>().ok());
            if let Some(ppid) = ppid {
                parents.push((child, ppid));
            }
        }
    }
    let mut tree = vec![pid.as_raw_nonzero().get()];
    let mut i = 0;
    while let Some(&parent) = tree.get(i) {
        tree.extend(
            parents
                .iter()
                .filter(|(_, p)| *p == parent)
                .map(|(c, _)| *c),
        );
        i += 1;
    }
    // The shell first, so that it cannot report its children's death on our
    // stderr; they are orphans for no more than a moment.
    for pid in &tree {
        if let Some(pid) = rustix::process::Pid::from_raw(*pid) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
        }
    }
}

/// Drops one trailing `\n` (or `\r\n`).
pub fn strip_newline(text: &mut String) {
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
}

/// Reads one line, with echo, from the terminal.
pub fn confirm(text: &str) -> Result<String> {
    let mut tty = OpenOptions::new().read(true).write(true).open("/dev/tty")?;
    tty.write_all(text.as_bytes())?;
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(tty), &mut line)?;
    Ok(line)
}
