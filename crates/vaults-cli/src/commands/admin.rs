//! `init`, `destroy`, `completions`, `man`: making and deleting vaults,
//! and what clap knows of the command line.

use clap::CommandFactory;
use serde_json::json;
use vaults::{EncryptedVault, Keyring, LockedVault};

use crate::cli::{Cli, KdfArgs};
use crate::context::{Context, Target};
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

/// `man`: needs no context, nor a vault.
pub fn man() -> Result<()> {
    let mut buf = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut buf)?;
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
    if t.path.exists() {
        return Err(Error::other(format!(
            "vault {:?} already exists at {}",
            t.name,
            t.path.display()
        )));
    }
    t.dir.create_root()?;
    if ctx.plain {
        ctx.plain_list.check_recordable(&t.path)?;
        // Exclusive: a file planted after the check above (another plain
        // vault) must not be the one recorded as trusted.
        let vault = t.options().create(&t.path)?;
        // Recorded where the file cannot change it: later commands open
        // this file as plain only while its id is the one recorded here.
        if let Err(e) = ctx.plain_list.add(&t.path, &vault.id()) {
            let _ = vault.destroy();
            return Err(e);
        }
        return say(
            ctx,
            &format!("created plain vault {:?} at {}", t.name, t.path.display()),
            json!({"vault": t.name, "path": t.path, "kind": "plain"}),
        );
    }
    let params = kdf_params(kdf)?;
    let pass = match passphrase::given_passphrase(ctx)? {
        Some(p) => p,
        None => passphrase::prompt_passphrase(
            ctx,
            &format!("New passphrase for vault {:?}: ", t.name),
            true,
        )?,
    };
    // Fail before creating anything if the keyring slot cannot be made.
    let keyring = match keyring {
        true => Some(require_keyring()?),
        false => None,
    };
    let mut vault = EncryptedVault::create(&t.path, &pass, params)?;
    // A plain vault once recorded at this path is gone.
    ctx.plain_list.remove(&t.path);
    let mut slot = None;
    if let Some(keyring) = keyring {
        vault.set_keyring(keyring);
        slot = Some(vault.add_keyring_slot()?);
    }
    say(
        ctx,
        &format!(
            "created encrypted vault {:?} at {}",
            t.name,
            t.path.display()
        ),
        json!({"vault": t.name, "path": t.path, "kind": "encrypted", "keyring_slot": slot}),
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
    ctx.plain_list.remove(&t.path);
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
