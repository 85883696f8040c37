//! Where passphrases come from (files, commands, the environment, prompts),
//! and the kernel-keyring cache behind `vaults unlock`.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use linux_keyutils::{Key, KeyPermissionsBuilder, KeyRing, KeyRingIdentifier, Permission};
use vaults::{Passphrase, UnlockedKey};
use zeroize::Zeroizing;

use crate::cli::{Global, NewPassphrase};
use crate::error::{CliError, CliResult};
use crate::input;

/// A passphrase given without asking: `--passphrase-file`,
/// `--passphrase-command`, then `$VAULTS_PASSPHRASE`, first found wins.
pub fn given_passphrase(g: &Global) -> CliResult<Option<Passphrase>> {
    if let Some(path) = &g.passphrase_file {
        return read_secret_file(path, "passphrase file", g.passphrase_timeout)
            .and_then(passphrase)
            .map(Some);
    }
    if let Some(cmd) = &g.passphrase_command {
        return run_secret_command(cmd, g.passphrase_timeout)
            .and_then(passphrase)
            .map(Some);
    }
    match std::env::var("VAULTS_PASSPHRASE") {
        Ok(p) => passphrase(Zeroizing::new(p)).map(Some),
        Err(std::env::VarError::NotUnicode(_)) => {
            Err(CliError::usage("VAULTS_PASSPHRASE is not valid UTF-8"))
        }
        Err(std::env::VarError::NotPresent) => Ok(None),
    }
}

/// The passphrase, from a given source or else a prompt.
pub fn passphrase_or_prompt(g: &Global, prompt: &str) -> CliResult<Passphrase> {
    match given_passphrase(g)? {
        Some(p) => Ok(p),
        None => prompt_passphrase(g, prompt, false),
    }
}

/// A new passphrase: `$VAULTS_NEW_PASSPHRASE`, `--new-passphrase-file`, or a
/// prompt asked twice.
pub fn new_passphrase(g: &Global, new: &NewPassphrase) -> CliResult<Passphrase> {
    if let Some(path) = &new.new_passphrase_file {
        return read_secret_file(path, "new passphrase file", g.passphrase_timeout)
            .and_then(passphrase);
    }
    match std::env::var("VAULTS_NEW_PASSPHRASE") {
        Ok(p) => passphrase(Zeroizing::new(p)),
        Err(std::env::VarError::NotUnicode(_)) => {
            Err(CliError::usage("VAULTS_NEW_PASSPHRASE is not valid UTF-8"))
        }
        Err(std::env::VarError::NotPresent) => prompt_passphrase(g, "New passphrase: ", true),
    }
}

/// The passphrase of an `age` export: `$VAULTS_EXPORT_PASSPHRASE`, a file, or
/// a prompt (asked twice when `confirm`).
pub fn export_passphrase(
    g: &Global,
    file: Option<&Path>,
    confirm: bool,
) -> CliResult<Zeroizing<String>> {
    if let Some(path) = file {
        return read_secret_file(path, "export passphrase file", g.passphrase_timeout)
            .and_then(non_empty);
    }
    match std::env::var("VAULTS_EXPORT_PASSPHRASE") {
        Ok(p) => non_empty(Zeroizing::new(p)),
        Err(std::env::VarError::NotUnicode(_)) => Err(CliError::usage(
            "VAULTS_EXPORT_PASSPHRASE is not valid UTF-8",
        )),
        Err(std::env::VarError::NotPresent) => {
            let first = prompt(g, "Export passphrase: ")?;
            if confirm && *prompt(g, "Export passphrase again: ")? != *first {
                return Err(CliError::usage("the two passphrases differ"));
            }
            non_empty(first)
        }
    }
}

/// Asks for a passphrase without echo (twice when `confirm`).
pub fn prompt_passphrase(g: &Global, text: &str, confirm: bool) -> CliResult<Passphrase> {
    let first = prompt(g, text)?;
    if confirm && *prompt(g, "Again: ")? != *first {
        return Err(CliError::usage("the two passphrases differ"));
    }
    passphrase(first)
}

/// Reads one line without echo from the terminal, or fails at once (never
/// hangs) when there is none or prompting is off.
pub fn prompt(g: &Global, text: &str) -> CliResult<Zeroizing<String>> {
    if g.no_input || !has_terminal() {
        return Err(CliError::usage(
            "no passphrase given and no terminal to ask on: set VAULTS_PASSPHRASE, \
             --passphrase-file or --passphrase-command (or run `vaults unlock`)",
        ));
    }
    rpassword::prompt_password(text)
        .map(Zeroizing::new)
        .map_err(|e| CliError::failure(format!("could not read from the terminal: {e}")))
}

/// Whether this process has a controlling terminal to prompt on.
pub fn has_terminal() -> bool {
    OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .is_ok()
}

fn passphrase(text: Zeroizing<String>) -> CliResult<Passphrase> {
    let text = non_empty(text)?;
    Passphrase::new(String::from(text.as_str())).map_err(CliError::from)
}

fn non_empty(text: Zeroizing<String>) -> CliResult<Zeroizing<String>> {
    if text.is_empty() {
        return Err(CliError::usage("the passphrase is empty"));
    }
    Ok(text)
}

/// Reads a secret from a file, dropping one trailing newline: at most
/// [`PASSPHRASE_MAX`](input::PASSPHRASE_MAX) bytes, within `timeout` (the
/// file may be a FIFO that nobody writes to).
fn read_secret_file(path: &Path, what: &str, timeout: Duration) -> CliResult<Zeroizing<String>> {
    let cannot = |e: &dyn std::fmt::Display| {
        CliError::failure(format!("cannot read the {what} {}: {e}", path.display()))
    };
    let owned = path.to_owned();
    let answer = input::within(timeout, move || {
        let mut file = std::fs::File::open(&owned).map_err(input::ReadError::Io)?;
        input::read_capped(&mut file, input::PASSPHRASE_READ_MAX)
    })
    .map_err(|e| cannot(&e))?;
    let too_large = || {
        CliError::failure(format!(
            "the {what} {} is larger than {}",
            path.display(),
            input::human_size(input::PASSPHRASE_MAX)
        ))
    };
    let data = match answer {
        None => {
            return Err(CliError::failure(format!(
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
    let mut text =
        utf8(data).ok_or_else(|| CliError::failure(format!("the {what} is not UTF-8")))?;
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
fn run_secret_command(cmd: &str, timeout: Duration) -> CliResult<Zeroizing<String>> {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .stdin(Stdio::inherit())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| CliError::failure(format!("cannot run the passphrase command: {e}")))?;
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
    .map_err(|e| CliError::failure(format!("cannot run the passphrase command: {e}")))?;
    let Some((read, status)) = answer else {
        // Not reaped yet (the thread is still waiting for it), so the pid is
        // still the command's.
        if let Some(pid) = pid {
            kill_tree(pid);
        }
        return Err(CliError::failure(format!(
            "the passphrase command gave no passphrase within {}, so it was stopped; \
             --passphrase-timeout sets how long to wait",
            humantime::format_duration(timeout)
        )));
    };
    let too_much = || {
        CliError::failure(format!(
            "the passphrase command printed more than {}",
            input::human_size(input::PASSPHRASE_MAX)
        ))
    };
    let data = match read {
        Ok(data) => data,
        Err(input::ReadError::TooLarge) => return Err(too_much()),
        Err(input::ReadError::OutOfMemory) => {
            return Err(CliError::failure(
                "cannot read the passphrase command's output: out of memory",
            ));
        }
        Err(input::ReadError::Io(e)) => {
            return Err(CliError::failure(format!(
                "cannot read the passphrase command's output: {e}"
            )));
        }
    };
    let status =
        status.map_err(|e| CliError::failure(format!("cannot run the passphrase command: {e}")))?;
    if !status.success() {
        return Err(CliError::failure(format!(
            "the passphrase command failed ({status})"
        )));
    }
    let mut text =
        utf8(data).ok_or_else(|| CliError::failure("the passphrase command printed non-UTF-8"))?;
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

/// The key that marks the session keyring of a `vaults exec` child.
const EXEC_CHILD_MARK: &str = "vaults:exec-child";

/// Gives this process, right before it `exec`s the user's command, a new
/// and empty session keyring, marked so that a `vaults` run inside it uses
/// neither the cached unlock key nor keyring slots. (The user's persistent
/// keyring stays reachable to any process of the user that asks the kernel
/// for it by name; see SECURITY.md.)
pub fn isolate_session_keyring() -> CliResult<()> {
    let fail = |what: &str| {
        CliError::failure(format!(
            "cannot give the command a session keyring of its own ({what}); \
             nothing was run"
        ))
    };
    match vaults_session_keyring::join_new_session() {
        Ok(_) => {}
        // A kernel without keyrings, or a sandbox that forbids them (Docker's
        // default seccomp profile answers EPERM): no key can be cached there.
        Err(e)
            if [rustix::io::Errno::NOSYS, rustix::io::Errno::PERM]
                .iter()
                .any(|no| e.raw_os_error() == Some(no.raw_os_error())) =>
        {
            return Ok(());
        }
        Err(e) => return Err(fail(&e.to_string())),
    }
    let session = KeyRing::from_special_id(KeyRingIdentifier::Session, false)
        .map_err(|e| fail(&format!("{e:?}")))?;
    session
        .add_key(EXEC_CHILD_MARK, b"1")
        .map_err(|e| fail(&format!("{e:?}")))?;
    Ok(())
}

/// The kernel keyring, for `unlock` and keyring slots.
pub struct KernelKeyring {
    session: KeyRing,
    persistent: Option<KeyRing>,
}

impl KernelKeyring {
    /// Joins (or creates) a session keyring, linking the user's persistent
    /// keyring into it: that is what carries a cached key from one `vaults`
    /// process to the next.
    pub fn open() -> Result<KernelKeyring, String> {
        let session = KeyRing::from_special_id(KeyRingIdentifier::Session, true)
            .map_err(|e| format!("no kernel keyring available ({e:?})"))?;
        // Checked before the persistent keyring is linked in (where the
        // cache lives): an `exec` child must not reach it through us.
        if session.search(EXEC_CHILD_MARK).is_ok() {
            return Err(
                "this process runs under `vaults exec`: the cached unlock key and keyring \
                 slots are not for it"
                    .to_owned(),
            );
        }
        let persistent = KeyRing::get_persistent(KeyRingIdentifier::Session).ok();
        Ok(KernelKeyring {
            session,
            persistent,
        })
    }

    fn description(vault_id: &[u8; 16]) -> String {
        let hex: String = vault_id.iter().map(|b| format!("{b:02x}")).collect();
        format!("vaults:unlock:{hex}")
    }

    /// Caches `key` for `ttl`, readable only by processes that possess it.
    ///
    /// The key is built in this thread's own keyring, where no other process
    /// can reach it, with its timeout and permissions set; only then is it
    /// linked into the persistent keyring. A failure at any step removes it:
    /// a key is never cached without its timeout or with the kernel's
    /// default permissions.
    pub fn store(
        &self,
        vault_id: &[u8; 16],
        key: &UnlockedKey,
        ttl: Duration,
    ) -> Result<(), String> {
        let ring = self.persistent.ok_or(
            "the kernel has no persistent keyring for this user, so a cached key would not outlive this command",
        )?;
        let private = KeyRing::from_special_id(KeyRingIdentifier::Thread, true)
            .map_err(|e| format!("no private keyring to build the key in ({e:?})"))?;
        let cached = private
            .add_key(&Self::description(vault_id), key.as_bytes())
            .map_err(|e| format!("the kernel keyring refused the key ({e:?})"))?;
        if let Err(e) = Self::finish(cached, ttl, ring) {
            // Nothing else holds a link to it yet, or the link is what failed.
            let _ = cached.invalidate();
            return Err(e);
        }
        // The thread keyring goes with this process anyway.
        let _ = private.unlink_key(cached);
        Ok(())
    }

    /// Sets the timeout and permissions of a key built in a private keyring,
    /// then links it into `ring`.
    fn finish(cached: Key, ttl: Duration, ring: KeyRing) -> Result<(), String> {
        // The kernel reads the timeout as 32-bit seconds, and 0 means never:
        // 2^32 s would wrap to a key that is cached for good.
        let timeout = u32::try_from(ttl.as_secs().max(1)).unwrap_or(u32::MAX) as usize;
        injected_fault("timeout")?;
        cached
            .set_timeout(timeout)
            .map_err(|e| format!("cannot set the key's timeout ({e:?})"))?;
        // Possessors only. LINK is needed to link it below, and gives a
        // possessor nothing that READ does not.
        let perms = KeyPermissionsBuilder::builder()
            .posessor(
                Permission::VIEW
                    | Permission::READ
                    | Permission::SEARCH
                    | Permission::WRITE
                    | Permission::LINK
                    | Permission::SETATTR,
            )
            .build();
        injected_fault("perms")?;
        cached
            .set_perms(perms)
            .map_err(|e| format!("cannot restrict the key's permissions ({e:?})"))?;
        injected_fault("link")?;
        ring.link_key(cached)
            .map_err(|e| format!("cannot link the key into the persistent keyring ({e:?})"))
    }

    /// The cached key of a vault, if any.
    pub fn load(&self, vault_id: &[u8; 16]) -> Option<UnlockedKey> {
        let key = self.session.search(&Self::description(vault_id)).ok()?;
        let bytes = Zeroizing::new(key.read_to_vec().ok()?);
        UnlockedKey::from_slice(&bytes)
    }

    /// Forgets the cached key of a vault; whether there was one.
    pub fn forget(&self, vault_id: &[u8; 16]) -> bool {
        match self.session.search(&Self::description(vault_id)) {
            Ok(key) => key.invalidate().is_ok(),
            Err(_) => false,
        }
    }
}

/// A failure that the tests inject into a step of [`KernelKeyring::store`]
/// through `VAULTS_TEST_CACHE_FAULT=STEP`: the kernel offers no fault that a
/// test could cause there. Debug builds only: a release build ignores it.
fn injected_fault(step: &str) -> Result<(), String> {
    #[cfg(debug_assertions)]
    if std::env::var("VAULTS_TEST_CACHE_FAULT").is_ok_and(|s| s == step) {
        return Err(format!("a test failed this step on purpose ({step})"));
    }
    let _ = step;
    Ok(())
}

/// Writes `text` to stderr (for notices that must not mix with data on stdout).
pub fn notice(text: &str) {
    let _ = writeln!(std::io::stderr(), "{text}");
}
