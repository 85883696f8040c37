//! `doctor`: the rows that fail to open, listed and, once confirmed, deleted.

use serde_json::json;
use vaults::EncryptedVault;

use crate::context::Context;
use crate::error::{Error, Result};
use crate::open::{self, Opened};
use crate::output::{emit, say, unreadable_rows};
use crate::passphrase;

use super::keys::rowids;

/// `vaults doctor`: lists the rows that fail to open and deletes them once
/// confirmed (a terminal prompt, or `--yes`). Exit 0 when none remain, 4
/// (the code of failed integrity) while some do.
pub fn run(ctx: &Context, yes: bool) -> Result<()> {
    match open::open(ctx)? {
        // Plain rows are not sealed: nothing fails to open.
        Opened::Plain(_) => doctor_report(ctx, &[], &[]),
        Opened::Encrypted(vault) => {
            let found = vault.unreadable_rows()?;
            doctor_repair(ctx, &vault, found, yes)
        }
    }
}

fn doctor_repair(
    ctx: &Context,
    vault: &EncryptedVault,
    found: Vec<vaults::UnreadableRow>,
    yes: bool,
) -> Result<()> {
    if found.is_empty() {
        return doctor_report(ctx, &found, &[]);
    }
    if !ctx.json {
        let mut out = String::new();
        for row in &found {
            out.push_str(&format!("{row}\n"));
        }
        emit(out.as_bytes())?;
    }
    let confirmed = yes
        || (!ctx.no_input
            && passphrase::has_terminal()
            && passphrase::confirm(&format!(
                "Delete these {} rows for good? Their secrets cannot be read. Type yes: ",
                found.len()
            ))?
            .trim()
                == "yes");
    if !confirmed {
        if ctx.json {
            doctor_report(ctx, &found, &[])?;
        }
        return Err(Error::auth(format!(
            "{} left; nothing deleted (run `vaults doctor --yes` to delete)",
            unreadable_rows(found.len())
        )));
    }
    let dropped = vault.drop_unreadable(&rowids(&found))?;
    doctor_report(ctx, &found, &dropped)
}

fn doctor_report(
    ctx: &Context,
    found: &[vaults::UnreadableRow],
    dropped: &[vaults::UnreadableRow],
) -> Result<()> {
    let text = match found.is_empty() {
        true => "no unreadable rows".to_owned(),
        false => format!("deleted {}", unreadable_rows(dropped.len())),
    };
    let listed: Vec<_> = found
        .iter()
        .map(|r| {
            json!({"row": r.rowid, "name_fails": r.name_fails, "value_fails": r.value_fails,
                "other_generation": r.other_generation, "too_large": r.too_large})
        })
        .collect();
    say(
        ctx,
        &text,
        json!({"unreadable": listed, "deleted": rowids(dropped)}),
    )
}
