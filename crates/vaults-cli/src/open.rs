//! Finding the vault a command means, and opening it: plain, or encrypted and
//! unlocked through the first passphrase source that has something.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use vaults::{
    EncryptedVault, Error, KdfCeiling, Keyring, Kind, LockedVault, Passphrase, Vault, VaultDir,
};

use crate::cli::Global;
use crate::error::{self, CliError, CliResult};
use crate::plain_list;
use crate::secrets::{self, KernelKeyring};

/// The vault a command works on.
pub struct Target {
    pub dir: VaultDir,
    pub name: String,
    pub path: PathBuf,
    /// `--busy-timeout`: how long a write waits for another writer.
    pub busy_timeout: std::time::Duration,
}

impl Target {
    /// `--dir` / `$VAULTS_DIR`, or the platform data folder; `--vault`.
    pub fn from(g: &Global) -> CliResult<Target> {
        let root = match &g.dir {
            Some(dir) => dir.clone(),
            None => directories::ProjectDirs::from("", "", "vaults")
                .ok_or_else(|| {
                    CliError::usage("no home folder to keep vaults in: set VAULTS_DIR or --dir")
                })?
                .data_dir()
                .to_owned(),
        };
        let dir = VaultDir::new(root);
        let path = dir.path_of(&g.vault)?;
        Ok(Target {
            dir,
            name: g.vault.clone(),
            path,
            busy_timeout: g.busy_timeout,
        })
    }

    /// How this command opens the vault: with its `--busy-timeout`.
    pub fn options(&self) -> vaults::OpenOptions {
        vaults::OpenOptions::new().busy_timeout(self.busy_timeout)
    }

    /// Fails with exit code 3 unless the vault file exists.
    pub fn must_exist(&self) -> CliResult<()> {
        if self.path.is_file() {
            warn_if_exposed(&self.path);
            Ok(())
        } else {
            Err(CliError::not_found(format!(
                "no vault {:?} in {}; run `vaults init` to create it",
                self.name,
                self.dir.root().display()
            )))
        }
    }
}

/// Warns on stderr, like ssh's StrictModes, when others could read or change
/// a vault (see [`vaults::Exposure`]). The vault is still used: the warning
/// says what to fix.
fn warn_if_exposed(path: &std::path::Path) {
    for found in vaults::Exposure::check(path) {
        secrets::notice(&format!("warning: {found}"));
    }
}

/// An opened vault of either kind.
pub enum Opened {
    Plain(Vault),
    Encrypted(EncryptedVault),
}

/// A vault opened without its key.
pub enum Locked {
    Plain(Vault),
    Encrypted(LockedVault),
}

/// Opens the target without unlocking it.
///
/// The file never decides that a vault is plain: one whose kind says so is
/// opened only when the user asked for a plain vault (`--plain`) or `init
/// --plain` recorded this very vault (path and id) in the user's config.
/// Otherwise it is an encrypted vault relabelled, or a file put in an
/// encrypted vault's place, and new secrets would go into it in clear.
pub fn open_locked(g: &Global, t: &Target) -> CliResult<Locked> {
    t.must_exist()?;
    match LockedVault::open_with(&t.options(), &t.path) {
        Ok(locked) => Ok(Locked::Encrypted(
            locked.with_keyring(Keyring::default_store()),
        )),
        Err(Error::WrongKind {
            found: Kind::Plain, ..
        }) => {
            let vault = t.options().create(false).open(&t.path)?;
            if g.plain || plain_list::contains(&t.path, &vault.id())? {
                Ok(Locked::Plain(vault))
            } else {
                Err(CliError::new(
                    error::AUTH,
                    format!(
                        "vault {:?} looks tampered with: its file says it is plain, but no plain \
                         vault was created at this path (pass --plain or set VAULTS_PLAIN=1 if \
                         you mean a plain vault)",
                        t.name
                    ),
                ))
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// Opens the target, unlocking an encrypted vault.
pub fn open(g: &Global, t: &Target) -> CliResult<Opened> {
    match open_locked(g, t)? {
        Locked::Plain(v) => Ok(Opened::Plain(v)),
        Locked::Encrypted(locked) => unlock(g, t, locked, true).map(Opened::Encrypted),
    }
}

/// Opens the target, which must be encrypted, with a passphrase (no cached
/// key, no keyring): for commands that change slots.
pub fn open_with_passphrase(g: &Global, t: &Target) -> CliResult<EncryptedVault> {
    match open_locked(g, t)? {
        Locked::Plain(_) => Err(CliError::usage(format!(
            "vault {:?} is plain: it has no keys",
            t.name
        ))),
        Locked::Encrypted(locked) => unlock(g, t, locked, false),
    }
}

/// Unlocks with, first found: a given passphrase, the cached key (when
/// `shortcuts`), a keyring slot (when `shortcuts`), a prompt.
fn unlock(
    g: &Global,
    t: &Target,
    locked: LockedVault,
    shortcuts: bool,
) -> CliResult<EncryptedVault> {
    if let Some(pass) = secrets::given_passphrase(g)? {
        return unlock_with_passphrase(g, locked, &pass);
    }
    let mut locked = locked;
    if shortcuts {
        let id = locked.id();
        if let Some(keyring) = kernel_keyring()
            && let Some(key) = keyring.load(&id)
        {
            match locked.unlock_with_key(&key) {
                Ok(vault) => return Ok(vault),
                // A key cached before a rotation: drop it and ask.
                Err(Error::WrongPassphrase) => {
                    keyring.forget(&id);
                    locked = reopen(t)?;
                }
                Err(e) => return Err(e.into()),
            }
        }
        let has_keyring_slot = locked
            .slots()
            .iter()
            .any(|s| matches!(s, vaults::SlotInfo::Keyring { .. }));
        if has_keyring_slot && keyring_store().is_some() {
            match locked.unlock_with_keyring(&Keyring::default_store()) {
                Ok(vault) => return Ok(vault),
                Err(e) => {
                    tracing::debug!(error = %e, "keyring slot did not unlock");
                    locked = reopen(t)?;
                }
            }
        }
    }
    let pass =
        secrets::prompt_passphrase(g, &format!("Passphrase for vault {:?}: ", t.name), false)?;
    unlock_with_passphrase(g, locked, &pass)
}

/// Unlocks with a passphrase: through `--slot` alone when given, else
/// through the slots within the Argon2 ceiling (raised by
/// `--allow-slow-unlock`), after a warning on stderr for each slot skipped.
pub fn unlock_with_passphrase(
    g: &Global,
    locked: LockedVault,
    pass: &Passphrase,
) -> CliResult<EncryptedVault> {
    let locked = match g.allow_slow_unlock {
        true => locked.with_kdf_ceiling(KdfCeiling::HIGHEST),
        false => locked,
    };
    if let Some(id) = g.slot {
        return Ok(locked.unlock_slot(id, pass)?);
    }
    for skipped in locked.skipped_slots()? {
        let hint = match skipped.reason {
            vaults::SkipReason::OverBudget => format!(" (--slot {})", skipped.id),
            _ if g.allow_slow_unlock => String::new(),
            _ => " (--allow-slow-unlock tries it)".to_owned(),
        };
        secrets::notice(&format!("vaults: warning: {skipped}{hint}"));
    }
    Ok(locked.unlock(pass)?)
}

/// Opens the target's encrypted vault again, locked.
pub fn reopen(t: &Target) -> CliResult<LockedVault> {
    Ok(LockedVault::open_with(&t.options(), &t.path)?.with_keyring(Keyring::default_store()))
}

/// The kernel keyring, joined once per process; `None` where unusable.
pub fn kernel_keyring() -> Option<&'static KernelKeyring> {
    static RING: OnceLock<Option<KernelKeyring>> = OnceLock::new();
    RING.get_or_init(|| match KernelKeyring::open() {
        Ok(k) => Some(k),
        Err(e) => {
            tracing::debug!(error = %e, "kernel keyring unavailable");
            None
        }
    })
    .as_ref()
}

/// Sets keyring-core's default store to the kernel keyutils store, once;
/// `None` where the kernel keyring is unusable.
pub fn keyring_store() -> Option<()> {
    static STORE: OnceLock<Option<()>> = OnceLock::new();
    *STORE.get_or_init(|| {
        // The keyutils store needs the session keyring joined first.
        kernel_keyring()?;
        match linux_keyutils_keyring_store::Store::new() {
            Ok(store) => {
                let store: Arc<keyring_core::CredentialStore> = store;
                keyring_core::set_default_store(store);
                Some(())
            }
            Err(e) => {
                tracing::debug!(error = %e, "keyutils store unavailable");
                None
            }
        }
    })
}

/// Like [`keyring_store`], but an error for commands that need it.
pub fn require_keyring() -> CliResult<Keyring> {
    keyring_store()
        .map(|()| Keyring::default_store())
        .ok_or_else(|| {
            CliError::failure("no usable kernel keyring here: keyring slots are unavailable")
        })
}
