//! `init`, `destroy`, `completions`: making and deleting vaults, and the
//! shell's completions.

use std::path::Path;

use clap::CommandFactory;
use serde_json::json;
use vaults::{EncryptedVault, Keyring, LockedVault};

use crate::cli::{Cli, KdfArgs};
use crate::context::{Context, Place, Target};
use crate::error::{Error, Result};
use crate::kernel_keyring::{kernel_keyring, keyring_store, require_keyring};
use crate::open::{self, Locked};
use crate::output::{emit, say};
use crate::passphrase;

use super::keys::kdf_params;

/// `completions SHELL`: needs no context, nor a vault.
pub fn completions(shell: clap_complete::Shell) -> Result<()> {
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "vaults", &mut buf);
    emit(&buf)
}

/// `init`: creates the vault, plain (and recorded as such) or encrypted.
pub fn init(ctx: &Context, keyring: bool, kdf: &KdfArgs) -> Result<()> {
    let t = &ctx.target;
    if ctx.plain && (keyring || kdf.kdf_memory.is_some() || kdf.kdf_time.is_some()) {
        return Err(Error::usage(
            "a plain vault has no keys: --plain (or VAULTS_PLAIN) cannot go with --keyring, \
             --kdf-memory or --kdf-time",
        ));
    }
    // On a server, the library refuses an existing vault when it creates.
    if let Place::Folder(dir) = &t.place {
        if t.path.exists() {
            return Err(Error::other(format!(
                "vault {:?} already exists at {}",
                t.name,
                t.path.display()
            )));
        }
        dir.create_root()?;
    }
    let (place, shown) = t.json_place();
    if ctx.plain {
        ctx.plain_list.check_recordable(t)?;
        // Exclusive: a file planted after the check above (another plain
        // vault) must not be the one recorded as trusted.
        let vault = t.options().create(&t.path)?;
        // Recorded where the file cannot change it: later commands open
        // this file as plain only while its id is the one recorded here.
        if let Err(e) = ctx.plain_list.add(t, &vault.id()) {
            let _ = vault.destroy();
            return Err(e);
        }
        return say(
            ctx,
            &format!("created plain vault {:?} at {}", t.name, t.shown()),
            json!({"vault": t.name, place: shown, "kind": "plain"}),
        );
    }
    let params = kdf_params(kdf)?;
    let pass = match passphrase::given_passphrase(ctx)? {
        Some(p) => p,
        None => passphrase::prompt_passphrase(
            ctx,
            &format!("New passphrase for vault {:?}: ", t.name),
            passphrase::Asked::Passphrase,
            true,
        )?,
    };
    // Fail before creating anything if the keyring slot cannot be made.
    let keyring = match keyring {
        true => Some(require_keyring()?),
        false => None,
    };
    let mut vault = EncryptedVault::create_with(&t.options(), &t.path, &pass, params)?;
    // A plain vault once recorded at this path is gone.
    ctx.plain_list.remove(t);
    let mut slot = None;
    if let Some(keyring) = keyring {
        vault.set_keyring(keyring);
        slot = Some(vault.add_keyring_slot()?);
    }
    say(
        ctx,
        &format!("created encrypted vault {:?} at {}", t.name, t.shown()),
        json!({"vault": t.name, place: shown, "kind": "encrypted", "keyring_slot": slot}),
    )
}

/// `copy --to DEST`: copies the vault as stored (see [`vaults::copy_vault`]),
/// asking for no passphrase. The source is first opened as every command
/// opens it, so a file that says it is plain is copied only when trusted
/// as such; a plain copy is then recorded as plain, under its source's id.
pub fn copy(ctx: &Context, to: &Path) -> Result<()> {
    let t = &ctx.target;
    let dest = Target::destination(to, t)?;
    if dest.server().is_none() && std::fs::symlink_metadata(&dest.path).is_ok() {
        return Err(Error::other(format!(
            "{} exists; nothing was copied",
            dest.path.display()
        )));
    }
    let plain_id = match open::open_locked(ctx)? {
        Locked::Plain(v) => Some(v.id()),
        Locked::Encrypted(_) => None,
    };
    if plain_id.is_some() {
        ctx.plain_list.check_recordable(&dest)?;
    }
    let copied = vaults::copy_vault(&t.options(), &t.path, &dest.path)?;
    if let Some(id) = plain_id {
        ctx.plain_list.add(&dest, &id)?;
    }
    let (place, shown) = dest.json_place();
    say(
        ctx,
        &format!(
            "copied vault {:?} ({}, {} entries) to {}",
            t.name,
            copied.kind,
            copied.entries,
            dest.shown()
        ),
        json!({"copied": t.name, "kind": copied.kind.to_string(), "entries": copied.entries,
            "to": {"vault": dest.name, place: shown}}),
    )
}

pub fn destroy(ctx: &Context, force: bool) -> Result<()> {
    let t = &ctx.target;
    let locked = open::open_locked(ctx)?;
    if !force {
        if ctx.no_input || !passphrase::has_terminal() {
            return Err(Error::usage(
                "refusing to destroy a vault without --force when not on a terminal",
            ));
        }
        let answer = passphrase::confirm(&format!(
            "Type the vault's name ({}) to delete it for good: ",
            t.name
        ))?;
        if answer.trim() != t.name {
            return Err(Error::other("not confirmed; nothing deleted"));
        }
    }
    match locked {
        Locked::Plain(v) => v.destroy()?,
        Locked::Encrypted(l) => destroy_encrypted(t, l)?,
    }
    ctx.plain_list.remove(t);
    say(
        ctx,
        &format!("destroyed vault {:?}", t.name),
        json!({"destroyed": t.name}),
    )
}

/// Deletes an encrypted vault, and forgets only the kernel-keyring secrets
/// that open it: the vault id and the slot records that name them are not
/// authenticated before an unlock, and could name another vault's.
fn destroy_encrypted(t: &Target, locked: LockedVault) -> Result<()> {
    let keyring = keyring_store().map(|()| Keyring::default_store());
    let id = locked.id();
    if let Some(ring) = kernel_keyring()
        && let Some(key) = ring.load(&id)
        && let Ok(mut vault) = open::reopen(t)?.unlock_with_key(&key)
    {
        // The cached key opens this vault and proves its metadata: the
        // cache entry and every keyring slot are this vault's own.
        ring.forget(&id);
        drop(locked);
        if let Some(keyring) = keyring {
            vault.set_keyring(keyring);
        }
        return Ok(vault.destroy()?);
    }
    // Without the key, the library forgets keyring entries only when one
    // of them opens this vault.
    let locked = match keyring {
        Some(keyring) => locked.with_keyring(keyring),
        None => locked,
    };
    Ok(locked.destroy()?)
}
