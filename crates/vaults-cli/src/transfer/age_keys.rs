//! Other people's keys for an age export: recipients (`age1…` X25519 keys,
//! `ssh-ed25519` / `ssh-rsa` public keys, one per `--recipient` or a line
//! of a recipients file) and, for import, an identity file (`AGE-SECRET-
//! KEY-1…` lines, or an unencrypted OpenSSH private key).

use std::path::Path;
use std::str::FromStr;

use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::input;

/// The most an identity or recipients file may hold.
const KEY_FILE_MAX: usize = 1024 * 1024;

/// One recipient of an export.
pub type Recipient = Box<dyn age::Recipient + Send>;

/// One identity of an import.
pub type Identity = Box<dyn age::Identity>;

/// Parses one recipient: an X25519 `age1…` key or an SSH public key.
pub fn recipient(text: &str) -> Result<Recipient> {
    let text = text.trim();
    if let Ok(r) = age::x25519::Recipient::from_str(text) {
        return Ok(Box::new(r));
    }
    if let Ok(r) = age::ssh::Recipient::from_str(text) {
        return Ok(Box::new(r));
    }
    let shown: String = text.chars().take(24).collect();
    Err(Error::usage(format!(
        "{shown:?}… is not an age recipient: an age1… key, or an ssh-ed25519 or ssh-rsa public key"
    )))
}

/// The recipients of a recipients file: one a line, `#` comments and blank
/// lines skipped.
pub fn recipients_file(path: &Path) -> Result<Vec<Recipient>> {
    let text = read(path, "recipients file")?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        out.push(
            recipient(line)
                .map_err(|e| Error::usage(format!("line {} of {}: {e}", n + 1, path.display())))?,
        );
    }
    if out.is_empty() {
        return Err(Error::usage(format!(
            "{} holds no recipient",
            path.display()
        )));
    }
    Ok(out)
}

/// The identities of an identity file: age secret keys, or one SSH key.
pub fn identity_file(path: &Path) -> Result<Vec<Identity>> {
    let text = read(path, "identity file")?;
    if text.contains("-----BEGIN OPENSSH PRIVATE KEY-----")
        || text.contains("-----BEGIN RSA PRIVATE KEY-----")
    {
        let filename = Some(path.display().to_string());
        let key = age::ssh::Identity::from_buffer(text.as_bytes(), filename).map_err(|_| {
            Error::usage(format!("{} is not an SSH key age can use", path.display()))
        })?;
        return match key {
            age::ssh::Identity::Unencrypted(_) => Ok(vec![Box::new(key)]),
            age::ssh::Identity::Encrypted(_) => Err(Error::usage(format!(
                "{} is an SSH key protected by a passphrase, which vaults cannot ask for: \
                 import with an age identity, or a copy of the key without its passphrase \
                 (ssh-keygen -p), kept off disk",
                path.display()
            ))),
            age::ssh::Identity::Unsupported(_) => Err(Error::usage(format!(
                "{} is an SSH key of a kind age does not support (ed25519 and RSA are)",
                path.display()
            ))),
        };
    }
    let file = age::IdentityFile::from_buffer(text.as_bytes()).map_err(|_| {
        Error::usage(format!(
            "{} is not an age identity file (AGE-SECRET-KEY-1… lines) nor an SSH private key",
            path.display()
        ))
    })?;
    let identities = file
        .into_identities()
        .map_err(|e| Error::usage(format!("{}: {e}", path.display())))?;
    if identities.is_empty() {
        return Err(Error::usage(format!(
            "{} holds no identity",
            path.display()
        )));
    }
    Ok(identities.into_iter().map(|i| -> Identity { i }).collect())
}

/// The text of a key file, at most [`KEY_FILE_MAX`] bytes, wiped on drop.
fn read(path: &Path, what: &str) -> Result<Zeroizing<String>> {
    let cannot = |e: &dyn std::fmt::Display| {
        Error::other(format!("cannot read the {what} {}: {e}", path.display()))
    };
    let mut file = std::fs::File::open(path).map_err(|e| cannot(&e))?;
    let data = input::read_capped(&mut file, KEY_FILE_MAX).map_err(|e| match e {
        input::ReadError::TooLarge => cannot(&"larger than 1 MiB"),
        input::ReadError::OutOfMemory => cannot(&"out of memory"),
        input::ReadError::Io(e) => cannot(&e),
    })?;
    let text = String::from_utf8(data.to_vec())
        .map_err(|_| Error::usage(format!("the {what} {} is not UTF-8", path.display())))?;
    Ok(Zeroizing::new(text))
}
