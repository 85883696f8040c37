//! `unlock`, `lock`, `passwd`, `rotate`, `slots`, `slot`: the vault's keys.

use std::time::Duration;

use serde_json::json;
use vaults::{EncryptedVault, KdfParams, KeyChange, SlotInfo};

use crate::cli::{KdfArgs, NewPassphrase, SlotCommand};
use crate::context::{Context, Target};
use crate::error::{Error, Result};
use crate::kernel_keyring::{forget_cached_key, kernel_keyring, keyring_store, require_keyring};
use crate::open::{self, Locked};
use crate::output::{self, emit, say, unreadable_rows};
use crate::passphrase;

pub(super) fn kdf_params(kdf: &KdfArgs) -> Result<KdfParams> {
    let memory = kdf
        .kdf_memory
        .map_or(KdfParams::DEFAULT.memory_kib(), |m| m.saturating_mul(1024));
    let time = kdf.kdf_time.unwrap_or(KdfParams::DEFAULT.iterations());
    KdfParams::new(memory, time, KdfParams::DEFAULT.parallelism())
        .map_err(|e| Error::usage(e.to_string()))
}

pub fn unlock(ctx: &Context, for_: Duration) -> Result<()> {
    let t = &ctx.target;
    let locked = match open::open_locked(ctx)? {
        Locked::Plain(_) => {
            return say(
                ctx,
                "the vault is plain: nothing to unlock",
                json!({"unlocked": false}),
            );
        }
        Locked::Encrypted(l) => l,
    };
    let Some(ring) = kernel_keyring() else {
        return Err(Error::other(
            "no usable kernel keyring here, so `unlock` cannot cache the key; \
             use VAULTS_PASSPHRASE, --passphrase-file or --passphrase-command instead",
        ));
    };
    let pass =
        passphrase::passphrase_or_prompt(ctx, &format!("Passphrase for vault {:?}: ", t.name))?;
    let vault = open::unlock_with_passphrase(ctx, locked, &pass)?;
    ring.store(&vault.id(), &vault.unlocked_key(), for_)
        .map_err(|e| Error::other(format!("cannot cache the key: {e}")))?;
    let human = humantime::format_duration(for_);
    say(
        ctx,
        &format!("unlocked vault {:?} for {human}", t.name),
        json!({"unlocked": true, "seconds": for_.as_secs()}),
    )
}

pub fn lock(ctx: &Context) -> Result<()> {
    let id = match open::open_locked(ctx)? {
        Locked::Plain(_) => return Ok(()),
        Locked::Encrypted(l) => l.id(),
    };
    if let Some(ring) = kernel_keyring() {
        ring.forget(&id);
    }
    Ok(())
}

/// Changes the passphrase of the slot the given passphrase opens.
pub fn passwd(ctx: &Context, new: &NewPassphrase) -> Result<()> {
    let t = &ctx.target;
    let vault = open::open_with_passphrase(ctx)?;
    let slot = vault.unlocked_slot();
    let params = slot_params(&vault, slot)?;
    let new = passphrase::new_passphrase(ctx, new)?;
    let change = vault.change_passphrase(slot, &new, params)?;
    forget_cached_key(&vault.id());
    let value = json!({"changed": true});
    let value = report_key_change(t, change, "open with the old passphrase", value);
    say(ctx, "passphrase changed", value)
}

/// Warns on stderr when a change of keys could not purge the old key
/// material (another process had the vault open), and adds
/// `old_key_material_may_remain` to the command's JSON output.
fn report_key_change(
    t: &Target,
    change: KeyChange,
    copy_may: &str,
    mut value: serde_json::Value,
) -> serde_json::Value {
    let may_remain = change.old_material_may_remain();
    if may_remain && t.server().is_some() {
        // A server keeps old row versions until it vacuums them, and in
        // its write-ahead log, replicas and backups beyond that.
        output::notice(&format!(
            "warning: the server may keep the old key material of vault {:?} (old row \
             versions, its write-ahead log, replicas, backups): a copy taken from them may \
             still {copy_may}",
            t.name
        ));
    } else if may_remain {
        output::notice(&format!(
            "warning: another process has vault {:?} open, so the old key material is still in \
             its files: until that process closes the vault, a copy of {} may still {copy_may}",
            t.name,
            t.shown()
        ));
    }
    if let Some(fields) = value.as_object_mut() {
        fields.insert("old_key_material_may_remain".into(), may_remain.into());
    }
    value
}

fn slot_params(vault: &EncryptedVault, slot: u32) -> Result<KdfParams> {
    vault
        .slots()?
        .into_iter()
        .find_map(|s| match s {
            SlotInfo::Passphrase { id, params } if id == slot => Some(params),
            _ => None,
        })
        .ok_or_else(|| Error::other(format!("slot {slot} is not a passphrase slot")))
}

pub fn rotate(ctx: &Context, drop_unreadable: bool) -> Result<()> {
    let t = &ctx.target;
    let locked = match open::open_locked(ctx)? {
        Locked::Plain(_) => {
            return Err(Error::usage(format!(
                "vault {:?} is plain: it has no key",
                t.name
            )));
        }
        Locked::Encrypted(l) => l,
    };
    let pass =
        passphrase::passphrase_or_prompt(ctx, &format!("Passphrase for vault {:?}: ", t.name))?;
    let mut vault = open::unlock_with_passphrase(ctx, locked, &pass)?;
    if keyring_store().is_some() {
        vault.set_keyring(vaults::Keyring::default_store());
    }
    let mut others = Vec::new();
    for info in vault.slots()? {
        if let SlotInfo::Passphrase { id, .. } = info
            && id != vault.unlocked_slot()
        {
            let p = passphrase::prompt_passphrase(ctx, &format!("Passphrase of key slot {id}: "), passphrase::Asked::Passphrase, false).map_err(|_| {
                Error::usage(format!(
                    "key slot {id} needs its passphrase to be rotated: run on a terminal, or remove it first \
                     (`vaults slot remove {id}`)"
                ))
            })?;
            others.push((id, p));
        }
    }
    let mut secrets_by_slot: Vec<(u32, &vaults::Passphrase)> = vec![(vault.unlocked_slot(), &pass)];
    secrets_by_slot.extend(others.iter().map(|(id, p)| (*id, p)));
    let bar = output::progress_bar(ctx);
    let on_progress = |p: vaults::Progress| {
        bar.set_length(p.total);
        bar.set_position(p.done);
    };
    let (change, dropped) = match drop_unreadable {
        true => vault.rotate_dropping_unreadable(&secrets_by_slot, on_progress)?,
        false => {
            let change = vault
                .rotate(&secrets_by_slot, on_progress)
                .map_err(|e| match e {
                    vaults::Error::Integrity(
                        vaults::Integrity::Entry | vaults::Integrity::Name,
                    ) => Error::RotateBlocked(e),
                    e => Error::from(e),
                })?;
            (change, Vec::new())
        }
    };
    bar.finish_and_clear();
    for row in &dropped {
        output::notice(&format!("vaults: deleted unreadable {row}"));
    }
    // A key cached before the rotation no longer opens the vault.
    forget_cached_key(&vault.id());
    let generation = vault.generation();
    let mut text = format!("rotated vault {:?}: key generation {generation}", t.name);
    let mut value = json!({"generation": generation});
    if drop_unreadable {
        text.push_str(&format!("; {} deleted", unreadable_rows(dropped.len())));
        value["dropped"] = rowids(&dropped).into();
    }
    let value = report_key_change(t, change, "hold entries sealed under the old key", value);
    say(ctx, &text, value)
}

pub(super) fn rowids(rows: &[vaults::UnreadableRow]) -> Vec<i64> {
    rows.iter().map(|r| r.rowid).collect()
}

pub fn slots(ctx: &Context) -> Result<()> {
    let t = &ctx.target;
    // Slots are listed from the locked vault: no passphrase is asked.
    let list = match open::open_locked(ctx)? {
        Locked::Plain(_) => {
            return Err(Error::usage(format!(
                "vault {:?} is plain: it has no key slots",
                t.name
            )));
        }
        Locked::Encrypted(v) => v.slots(),
    };
    if ctx.json {
        let items: Vec<_> = list
            .iter()
            .map(|s| match s {
                SlotInfo::Passphrase { id, params } => json!({"id": id, "kind": "passphrase",
                    "kdf_memory_mib": params.memory_kib() / 1024, "kdf_time": params.iterations()}),
                SlotInfo::Keyring { id, account } => {
                    json!({"id": id, "kind": "keyring", "account": account})
                }
                _ => json!({}),
            })
            .collect();
        return emit(format!("{}\n", serde_json::Value::Array(items)).as_bytes());
    }
    let mut out = String::new();
    for s in &list {
        out.push_str(&match s {
            SlotInfo::Passphrase { id, params } => format!(
                "{id}  passphrase  argon2id {} MiB, {} passes\n",
                params.memory_kib() / 1024,
                params.iterations()
            ),
            SlotInfo::Keyring { id, account } => format!("{id}  keyring     vaults/{account}\n"),
            _ => String::new(),
        });
    }
    emit(out.as_bytes())
}

/// Adds or removes a key slot. It needs a fresh proof, the passphrase of an
/// existing slot: a cached unlock or a keyring slot is not enough, or whoever
/// can use them could replace the owner's passphrase with their own.
pub fn slot(ctx: &Context, cmd: SlotCommand) -> Result<()> {
    let t = &ctx.target;
    let mut vault = open::open_with_passphrase(ctx)?;
    let (text, value) = match cmd {
        SlotCommand::AddPassphrase { new, kdf } => {
            let params = kdf_params(&kdf)?;
            let pass = passphrase::new_passphrase(ctx, &new)?;
            let id = vault.add_passphrase_slot(&pass, params)?;
            (format!("added passphrase slot {id}"), json!({"id": id}))
        }
        SlotCommand::AddKeyring => {
            vault.set_keyring(require_keyring()?);
            let id = vault.add_keyring_slot()?;
            (format!("added keyring slot {id}"), json!({"id": id}))
        }
        SlotCommand::Remove { id } => {
            if keyring_store().is_some() {
                vault.set_keyring(vaults::Keyring::default_store());
            }
            let change = vault.remove_slot(id)?;
            let value = json!({"removed": id});
            let value = report_key_change(t, change, "open with the removed slot", value);
            (format!("removed slot {id}"), value)
        }
    };
    forget_cached_key(&vault.id());
    say(ctx, &text, value)
}
