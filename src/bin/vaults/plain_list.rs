//! The user's list of plain vaults, kept in their config folder, where
//! someone who can edit or replace a vault file cannot reach.
//!
//! A vault file's `kind` record is outside every MAC, so the CLI never lets
//! the file decide that a vault is unencrypted: a plain vault is used only
//! when the user says so (`--plain`, `VAULTS_PLAIN=1`), or when `init
//! --plain` recorded it here. A record holds the vault's absolute path, as
//! spelled (symlinks are not resolved, so a link planted on the way cannot
//! point an encrypted vault's name at a recorded plain one), and its id (so
//! a file put in its place is not taken for it).
//!
//! `$XDG_CONFIG_HOME/vaults/plain-vaults.json` (else `~/.config/vaults/`):
//! `{"plain_vaults": [{"path": "/abs/NAME.db", "id": "<32 hex digits>"}]}`,
//! mode 0600 in a 0700 folder. It is replaced whole (written beside, then
//! renamed) under a lock held on `plain-vaults.lock`.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{CliError, CliResult};
use crate::secrets;

const FILE: &str = "plain-vaults.json";
const LOCK: &str = "plain-vaults.lock";

#[derive(Default, Serialize, Deserialize)]
struct List {
    plain_vaults: Vec<Record>,
}

#[derive(Serialize, Deserialize, PartialEq, Eq)]
struct Record {
    path: String,
    id: String,
}

/// The config folder holding the list.
fn folder() -> CliResult<PathBuf> {
    directories::ProjectDirs::from("", "", "vaults")
        .map(|d| d.config_dir().to_owned())
        .ok_or_else(|| {
            CliError::failure(
                "no config folder to record plain vaults in (set HOME or XDG_CONFIG_HOME); \
                 pass --plain instead",
            )
        })
}

/// The key a vault is recorded under: its absolute path, symlinks kept.
fn key(vault: &Path) -> CliResult<String> {
    let abs = std::path::absolute(vault)?;
    abs.to_str().map(str::to_owned).ok_or_else(|| {
        CliError::usage(format!(
            "cannot record a plain vault at {}, a path that is not UTF-8; pass --plain each time instead",
            abs.display()
        ))
    })
}

fn hex(id: &[u8; 16]) -> String {
    id.iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads the list; a missing file is an empty list. A file that another
/// user owns or may write is not trusted (with a warning).
fn read(folder: &Path) -> CliResult<List> {
    let path = folder.join(FILE);
    let text = match std::fs::read(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(List::default()),
        Err(e) => {
            return Err(CliError::failure(format!(
                "cannot read {}: {e}",
                path.display()
            )));
        }
    };
    let meta = std::fs::metadata(&path)?;
    if meta.uid() != rustix::process::geteuid().as_raw() || meta.mode() & 0o022 != 0 {
        secrets::notice(&format!(
            "warning: ignoring {}: another user owns it or may write it",
            path.display()
        ));
        return Ok(List::default());
    }
    serde_json::from_slice(&text).map_err(|e| {
        CliError::failure(format!(
            "{} is damaged ({e}); fix or delete it, and pass --plain meanwhile",
            path.display()
        ))
    })
}

/// Whether `init --plain` recorded the plain vault `id` at `vault`.
pub fn contains(vault: &Path, id: &[u8; 16]) -> CliResult<bool> {
    let want = Record {
        path: key(vault)?,
        id: hex(id),
    };
    Ok(read(&folder()?)?.plain_vaults.contains(&want))
}

/// Fails unless [`add`] could record a vault at `vault` (checked before
/// `init --plain` creates anything).
pub fn check_recordable(vault: &Path) -> CliResult<()> {
    key(vault).and(folder()).map(drop)
}

/// Records the plain vault `id` at `vault`, replacing any record of that path.
pub fn add(vault: &Path, id: &[u8; 16]) -> CliResult<()> {
    let path = key(vault)?;
    update(|list| {
        list.plain_vaults.retain(|r| r.path != path);
        list.plain_vaults.push(Record {
            path: path.clone(),
            id: hex(id),
        });
    })
}

/// Drops any record of `vault` (after `destroy`, or when an encrypted vault
/// is created there); a failure is only a warning.
pub fn remove(vault: &Path) {
    let Ok(path) = key(vault) else { return };
    let Ok(folder) = folder() else { return };
    if !folder.join(FILE).exists() {
        return;
    }
    if let Err(e) = update(|list| list.plain_vaults.retain(|r| r.path != path)) {
        secrets::notice(&format!("warning: {e}"));
    }
}

/// Read, change and replace the list under its lock.
fn update(change: impl FnOnce(&mut List)) -> CliResult<()> {
    let folder = folder()?;
    let fail = |what: &str, e: std::io::Error| {
        CliError::failure(format!("cannot {what} in {}: {e}", folder.display()))
    };
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&folder)
        .map_err(|e| fail("create the config folder", e))?;
    let lock = owner_only(OpenOptions::new().create(true).truncate(false).write(true))
        .open(folder.join(LOCK))
        .map_err(|e| fail("open the plain-vault list's lock", e))?;
    lock.lock()
        .map_err(|e| fail("lock the plain-vault list", e))?;
    let mut list = read(&folder)?;
    change(&mut list);
    let text = serde_json::to_vec_pretty(&list)
        .map_err(|e| CliError::failure(format!("cannot encode the plain-vault list: {e}")))?;
    let tmp = folder.join(format!("{FILE}.tmp"));
    let mut file: File = owner_only(OpenOptions::new().create(true).truncate(true).write(true))
        .open(&tmp)
        .map_err(|e| fail("write the plain-vault list", e))?;
    file.write_all(&text)
        .and_then(|()| file.sync_all())
        .and_then(|()| std::fs::rename(&tmp, folder.join(FILE)))
        .map_err(|e| fail("write the plain-vault list", e))
}

fn owner_only(opts: &mut OpenOptions) -> &mut OpenOptions {
    opts.mode(0o600)
}
