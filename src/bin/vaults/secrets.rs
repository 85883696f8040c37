//! Where passphrases come from (files, commands, the environment, prompts),
//! and the kernel-keyring cache behind `vaults unlock`.

use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use linux_keyutils::{KeyPermissionsBuilder, KeyRing, KeyRingIdentifier, Permission};
use vaults::{Passphrase, UnlockedKey};
use zeroize::Zeroizing;

use crate::cli::{Global, NewPassphrase};
use crate::error::{CliError, CliResult};

/// A passphrase given without asking: `--passphrase-file`,
/// `--passphrase-command`, then `$VAULTS_PASSPHRASE`, first found wins.
pub fn given_passphrase(g: &Global) -> CliResult<Option<Passphrase>> {
    if let Some(path) = &g.passphrase_file {
        return read_secret_file(path, "passphrase file")
            .and_then(passphrase)
            .map(Some);
    }
    if let Some(cmd) = &g.passphrase_command {
        return run_secret_command(cmd).and_then(passphrase).map(Some);
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
        return read_secret_file(path, "new passphrase file").and_then(passphrase);
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
        return read_secret_file(path, "export passphrase file").and_then(non_empty);
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

/// Reads a secret from a file, dropping one trailing newline.
fn read_secret_file(path: &Path, what: &str) -> CliResult<Zeroizing<String>> {
    let mut file = std::fs::File::open(path).map_err(|e| {
        CliError::failure(format!("cannot read the {what} {}: {e}", path.display()))
    })?;
    let mut text = Zeroizing::new(String::with_capacity(256));
    file.read_to_string(&mut text).map_err(|e| {
        CliError::failure(format!("cannot read the {what} {}: {e}", path.display()))
    })?;
    strip_newline(&mut text);
    Ok(text)
}

/// Runs `cmd` with `sh -c` and takes its output, minus one trailing newline,
/// as the secret. Its stdin and stderr stay ours, so it can prompt.
fn run_secret_command(cmd: &str) -> CliResult<Zeroizing<String>> {
    let output = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .stdin(Stdio::inherit())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| CliError::failure(format!("cannot run the passphrase command: {e}")))?;
    let stdout = Zeroizing::new(output.stdout);
    if !output.status.success() {
        return Err(CliError::failure(format!(
            "the passphrase command failed ({})",
            output.status
        )));
    }
    let mut text = Zeroizing::new(
        String::from_utf8(stdout.to_vec())
            .map_err(|_| CliError::failure("the passphrase command printed non-UTF-8"))?,
    );
    strip_newline(&mut text);
    Ok(text)
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
    pub fn store(
        &self,
        vault_id: &[u8; 16],
        key: &UnlockedKey,
        ttl: Duration,
    ) -> Result<(), String> {
        let ring = self.persistent.ok_or(
            "the kernel has no persistent keyring for this user, so a cached key would not outlive this command",
        )?;
        let key = ring
            .add_key(&Self::description(vault_id), key.as_bytes())
            .map_err(|e| format!("the kernel keyring refused the key ({e:?})"))?;
        let perms = KeyPermissionsBuilder::builder()
            .posessor(
                Permission::VIEW
                    | Permission::READ
                    | Permission::SEARCH
                    | Permission::WRITE
                    | Permission::SETATTR,
            )
            .build();
        // The kernel reads the timeout as 32-bit seconds, and 0 means never:
        // 2^32 s would wrap to a key that is cached for good.
        let timeout = u32::try_from(ttl.as_secs().max(1)).unwrap_or(u32::MAX) as usize;
        // Timeout first: a key must never outlive its request, even if setting
        // the permissions fails.
        key.set_timeout(timeout)
            .map_err(|e| format!("cannot set the key's timeout ({e:?})"))?;
        key.set_perms(perms)
            .map_err(|e| format!("cannot restrict the key's permissions ({e:?})"))?;
        Ok(())
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

/// Writes `text` to stderr (for notices that must not mix with data on stdout).
pub fn notice(text: &str) {
    let _ = writeln!(std::io::stderr(), "{text}");
}
