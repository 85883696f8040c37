//! `export` and `import` (the formats are in `crate::transfer`).

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::json;
use vaults::Store;

use crate::cli::ImportFormat;
use crate::context::Context;
use crate::error::{Error, Result};
use crate::output::{self, say};
use crate::passphrase;
use crate::transfer;

/// What an age export is encrypted to: recipients' keys, else a
/// passphrase (from this file, `$VAULTS_EXPORT_PASSPHRASE` or a prompt).
pub struct Sealing {
    pub recipients: Vec<transfer::Recipient>,
    pub pass_file: Option<PathBuf>,
}

/// What opens an age import: identities, else a passphrase.
pub struct Opening {
    pub identities: Option<Vec<transfer::Identity>>,
    pub pass_file: Option<PathBuf>,
}

/// Writes the export of `s` (opened and unlocked already) to `out` or stdout.
pub fn export<S: Store>(
    ctx: &Context,
    s: &S,
    out: Option<&Path>,
    plaintext: bool,
    force: bool,
    sealing: &Sealing,
) -> Result<()> {
    let pass = match plaintext || !sealing.recipients.is_empty() {
        true => None,
        false => Some(passphrase::export_passphrase(
            ctx,
            sealing.pass_file.as_deref(),
            true,
        )?),
    };
    let recipients: Vec<&dyn age::Recipient> = sealing
        .recipients
        .iter()
        .map(|r| r.as_ref() as &dyn age::Recipient)
        .collect();
    // The document streams from the vault to the output (through age),
    // one entry at a time.
    let write = |sink: &mut dyn Write| -> Result<()> {
        match &pass {
            Some(pass) => transfer::age_encrypt(pass, sink, |w| transfer::write_export(s, w)),
            None if !recipients.is_empty() => {
                transfer::age_encrypt_to(&recipients, sink, |w| transfer::write_export(s, w))
            }
            None => transfer::write_export(s, sink),
        }
    };
    match out {
        None => write(&mut std::io::stdout().lock()),
        Some(path) => write_file_atomically(path, force, write),
    }
}

/// Writes `path` through a temporary file beside it (owner-only), synced and
/// then renamed over the final name: a killed or failed export never leaves
/// a partial file under `path`, only, at worst, a hidden `.vaults-export-*`
/// temporary beside it. Without `force`, an existing `path` is never replaced.
pub fn write_file_atomically(
    path: &Path,
    force: bool,
    write: impl FnOnce(&mut dyn Write) -> Result<()>,
) -> Result<()> {
    let exists = || {
        Error::other(format!(
            "{} exists; pass --force to overwrite it",
            path.display()
        ))
    };
    let cannot =
        |e: &dyn std::fmt::Display| Error::other(format!("cannot write {}: {e}", path.display()));
    // Fail before any work when the answer is already known.
    if !force && std::fs::symlink_metadata(path).is_ok() {
        return Err(exists());
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    // tempfile creates it with O_EXCL and mode 0600, and removes it if we fail.
    let mut tmp = tempfile::Builder::new()
        .prefix(".vaults-export-")
        .tempfile_in(dir)
        .map_err(|e| cannot(&e))?;
    {
        let mut buffered = std::io::BufWriter::new(tmp.as_file_mut());
        write(&mut buffered)?;
        buffered.flush().map_err(|e| cannot(&e))?;
    }
    tmp.as_file().sync_all().map_err(|e| cannot(&e))?;
    let persisted = match force {
        true => tmp.persist(path).map(drop),
        // Atomic: a file that appeared meanwhile is not replaced either.
        false => tmp.persist_noclobber(path).map(drop),
    };
    persisted.map_err(|e| match e.error.kind() {
        std::io::ErrorKind::AlreadyExists => exists(),
        _ => cannot(&e.error),
    })?;
    // The rename is durable once the folder is.
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| cannot(&e))?;
    Ok(())
}

/// Imports `file` into `s`, which is opened (and unlocked) first: no point
/// decrypting for a vault that is not there.
pub fn import<S: Store>(
    ctx: &Context,
    s: &S,
    file: &Path,
    format: Option<ImportFormat>,
    opening: &Opening,
) -> Result<()> {
    let input = transfer::Input::open(file)?;
    let format = format.unwrap_or(if transfer::is_age(&input.head) {
        ImportFormat::Age
    } else if transfer::is_sqlite(&input.head) {
        ImportFormat::Legacy
    } else if transfer::is_json(&input.head) {
        ImportFormat::Json
    } else {
        ImportFormat::Env
    });
    // The count is not known before the end of a streamed import.
    let bar = output::progress_bar(ctx);
    let tick = || bar.inc(1);
    let (stored, skipped) = match format {
        ImportFormat::Json => transfer::import_json(s, input.reader(), false, tick)?,
        ImportFormat::Env => {
            let items = transfer::parse_env(&input.read_all(transfer::ENV_FILE_MAX)?)?;
            transfer::store(s, &items, tick)?
        }
        ImportFormat::Age => {
            let plain = match &opening.identities {
                Some(ids) => {
                    let ids: Vec<&dyn age::Identity> = ids.iter().map(|i| i.as_ref()).collect();
                    transfer::age_decrypt_with(input.reader(), &ids, "no identity opens it")?
                }
                None => {
                    let pass =
                        passphrase::export_passphrase(ctx, opening.pass_file.as_deref(), false)?;
                    transfer::age_decrypt(input.reader(), &pass)?
                }
            };
            transfer::import_json(s, plain, true, tick)?
        }
        ImportFormat::Legacy => {
            drop(input);
            transfer::store(s, &transfer::read_legacy(file)?, tick)?
        }
    };
    bar.finish_and_clear();
    say(
        ctx,
        &format!("imported {stored} entries ({skipped} already expired, skipped)"),
        json!({"imported": stored, "skipped_expired": skipped}),
    )
}
