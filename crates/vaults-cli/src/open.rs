//! Opening the vault a command means, once: plain or encrypted as the user
//! expects (never as the file says), and unlocked through the first
//! passphrase source that has something.

use vaults::{
    EncryptedVault, Error as LibError, KdfCeiling, Keyring, Kind, LockedVault, Passphrase, Vault,
};

use crate::context::{Context, Place, Target};
use crate::error::{Error, Result};
use crate::kernel_keyring::{kernel_keyring, keyring_store};
use crate::output;
use crate::passphrase;
use crate::plain_list::Recorded;

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

/// Fails with exit code 3 unless the vault file exists; warns when others
/// could read or change it. A vault on a server has no file: the library
/// tells whether it exists when it is opened.
fn must_exist(t: &Target) -> Result<()> {
    let Place::Folder(dir) = &t.place else {
        return Ok(());
    };
    if t.path.is_file() {
        warn_if_exposed(&t.path);
        Ok(())
    } else {
        // The command that creates it, with the name that is not the default.
        let init = match t.name.as_str() {
            "default" => "vaults init".to_owned(),
            name => format!("vaults --vault {} init", shell_word(name)),
        };
        Err(Error::not_found(format!(
            "no vault {:?} in {}; run `{init}` to create it",
            t.name,
            dir.root().display()
        )))
    }
}

/// `word` as one shell word: bare when it is plain, else single-quoted.
fn shell_word(word: &str) -> String {
    let plain = word
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./@+".contains(c));
    match plain {
        true => word.to_owned(),
        false => format!("'{}'", word.replace('\'', "'\\''")),
    }
}

/// Warns on stderr, like ssh's StrictModes, when others could read or change
/// a vault (see [`vaults::Exposure`]). The vault is still used: the warning
/// says what to fix.
fn warn_if_exposed(path: &std::path::Path) {
    for found in vaults::Exposure::check(path) {
        output::notice(&format!("warning: {found}"));
    }
}

/// Opens the target without unlocking it.
///
/// The file never decides that a vault is plain: one whose kind says so is
/// opened only when the user asked for a plain vault (`--plain`) or `init
/// --plain` recorded this very vault (path and id) in the user's config.
/// Otherwise it is an encrypted vault relabelled, or a file put in an
/// encrypted vault's place, and new secrets would go into it in clear.
///
/// So the kind to open is decided before the file is opened, and it is
/// opened once. Only a file that holds an encrypted vault where the user
/// expected a plain one is opened a second time, as what it is: the library
/// has no call that opens a file of either kind.
pub fn open_locked(ctx: &Context) -> Result<Locked> {
    let t = &ctx.target;
    must_exist(t)?;
    // `--plain` settles it: the list is not read.
    let recorded = (!ctx.plain).then(|| ctx.plain_list.look_up(t));
    let expect_plain = recorded.as_ref().is_none_or(Recorded::is_recorded);
    if expect_plain {
        match t.options().open(&t.path) {
            Ok(vault) => {
                let trusted = match recorded {
                    Some(recorded) => recorded.contains(&vault.id())?,
                    None => true, // --plain
                };
                match trusted {
                    true => Ok(Locked::Plain(vault)),
                    false => Err(tampered(t)),
                }
            }
            Err(LibError::WrongKind {
                found: Kind::Encrypted,
                ..
            }) => Ok(Locked::Encrypted(reopen(t)?)),
            Err(e) => Err(e.into()),
        }
    } else {
        match LockedVault::open_with(&t.options(), &t.path) {
            Ok(locked) => Ok(Locked::Encrypted(
                locked.with_keyring(Keyring::default_store()),
            )),
            // Not recorded, not asked for: whatever plain vault this is, it
            // is refused, after what the list had to say.
            Err(LibError::WrongKind {
                found: Kind::Plain, ..
            }) => {
                if let Some(recorded) = recorded {
                    recorded.refused()?;
                }
                Err(tampered(t))
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// A vault that says it is plain where no plain vault was made.
fn tampered(t: &Target) -> Error {
    let (its, here) = match t.place {
        Place::Folder(_) => ("its file", "at this path"),
        Place::Server(_) => ("its records", "at this URL"),
    };
    Error::auth(format!(
        "vault {:?} looks tampered with: {its} say it is plain, but no plain \
         vault was created {here} (pass --plain or set VAULTS_PLAIN=1 if \
         you mean a plain vault)",
        t.name
    ))
}

/// Opens the target, unlocking an encrypted vault.
pub fn open(ctx: &Context) -> Result<Opened> {
    match open_locked(ctx)? {
        Locked::Plain(v) => Ok(Opened::Plain(v)),
        Locked::Encrypted(locked) => unlock(ctx, locked, true).map(Opened::Encrypted),
    }
}

/// Opens the target, which must be encrypted, with a passphrase (no cached
/// key, no keyring): for commands that change slots.
pub fn open_with_passphrase(ctx: &Context) -> Result<EncryptedVault> {
    match open_locked(ctx)? {
        Locked::Plain(_) => Err(Error::usage(format!(
            "vault {:?} is plain: it has no keys",
            ctx.target.name
        ))),
        Locked::Encrypted(locked) => unlock(ctx, locked, false),
    }
}

/// Unlocks with, first found: a given passphrase, the cached key (when
/// `shortcuts`), a keyring slot (when `shortcuts`), a prompt.
fn unlock(ctx: &Context, locked: LockedVault, shortcuts: bool) -> Result<EncryptedVault> {
    if let Some(pass) = passphrase::given_passphrase(ctx)? {
        return unlock_with_passphrase(ctx, locked, &pass);
    }
    let t = &ctx.target;
    let mut locked = locked;
    if shortcuts {
        let id = locked.id();
        if let Some(keyring) = kernel_keyring()
            && let Some(key) = keyring.load(&id)
        {
            match locked.unlock_with_key(&key) {
                Ok(vault) => return Ok(vault),
                // A key cached before a rotation: drop it and ask.
                Err(LibError::WrongPassphrase) => {
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
    let pass = passphrase::prompt_passphrase(
        ctx,
        &format!("Passphrase for vault {:?}: ", t.name),
        passphrase::Asked::Passphrase,
        false,
    )?;
    unlock_with_passphrase(ctx, locked, &pass)
}

/// Unlocks with a passphrase: through `--slot` alone when given, else
/// through the slots within the Argon2 ceiling (raised by
/// `--allow-slow-unlock`), after a warning on stderr for each slot skipped.
pub fn unlock_with_passphrase(
    ctx: &Context,
    locked: LockedVault,
    pass: &Passphrase,
) -> Result<EncryptedVault> {
    let locked = match ctx.allow_slow_unlock {
        true => locked.with_kdf_ceiling(KdfCeiling::HIGHEST),
        false => locked,
    };
    if let Some(id) = ctx.slot {
        return Ok(locked.unlock_slot(id, pass)?);
    }
    for skipped in locked.skipped_slots()? {
        let hint = match skipped.reason {
            vaults::SkipReason::OverBudget => format!(" (--slot {})", skipped.id),
            _ if ctx.allow_slow_unlock => String::new(),
            _ => " (--allow-slow-unlock tries it)".to_owned(),
        };
        output::notice(&format!("vaults: warning: {skipped}{hint}"));
    }
    Ok(locked.unlock(pass)?)
}

/// Opens the target's encrypted vault again, locked.
pub fn reopen(t: &Target) -> Result<LockedVault> {
    Ok(LockedVault::open_with(&t.options(), &t.path)?.with_keyring(Keyring::default_store()))
}
