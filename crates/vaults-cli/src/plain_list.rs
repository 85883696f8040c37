//! The user's list of plain vaults, kept in their config folder, where
//! someone who can edit or replace a vault file cannot reach.
//!
//! A vault file's `kind` record is outside every MAC, so the CLI never lets
//! the file decide that a vault is unencrypted: a plain vault is used only
//! when the user says so (`--plain`, `VAULTS_PLAIN=1`), or when `init
//! --plain` recorded it here. A record holds the vault's absolute path, as
//! spelled (symlinks are not resolved, so a link planted on the way cannot
//! point an encrypted vault's name at a recorded plain one), and its id (so
//! a file put in its place is not taken for it). A plain vault on a server
//! is recorded as `postgres://HOST[:PORT]/DB?vault=NAME` (no user, no
//! password) and its id.
//!
//! `$XDG_CONFIG_HOME/vaults/plain-vaults.json` (else `~/.config/vaults/`):
//! `{"plain_vaults": [{"path": "/abs/NAME.db", "id": "<32 hex digits>"}]}`,
//! mode 0600 in a 0700 folder. It is replaced whole (written beside, then
//! renamed) under a lock held on `plain-vaults.lock`.
//!
//! The folder must be the user's and writable by nobody else: anyone who
//! may write it could plant a symlink where the list is written, or swap
//! the list. Such a folder is refused for writing and ignored for reading.

use std::fs::{DirBuilder, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::context::Target;
use crate::error::{Error, Result};
use crate::output;

const FILE: &str = "plain-vaults.json";
const LOCK: &str = "plain-vaults.lock";
/// The most the list is read to: a record is about 100 bytes, so this is
/// room for thousands of vaults, and no planted file makes us read more.
const MAX_LEN: u64 = 1024 * 1024;

#[derive(Default, Serialize, Deserialize)]
struct List {
    plain_vaults: Vec<Record>,
}

#[derive(Serialize, Deserialize, PartialEq, Eq)]
struct Record {
    path: String,
    id: String,
}

/// The user's list of plain vaults, found once (the config folder comes
/// from `$XDG_CONFIG_HOME` or `$HOME`).
pub struct PlainList {
    /// `None` where the user has no config folder.
    folder: Option<PathBuf>,
}

impl PlainList {
    /// Where this user's list is.
    pub fn locate() -> PlainList {
        PlainList {
            folder: directories::ProjectDirs::from("", "", "vaults")
                .map(|d| d.config_dir().to_owned()),
        }
    }

    /// The config folder holding the list.
    fn folder(&self) -> Result<&Path> {
        self.folder.as_deref().ok_or_else(|| {
            Error::other(
                "no config folder to record plain vaults in (set HOME or XDG_CONFIG_HOME); \
                 pass --plain instead",
            )
        })
    }

    /// What the list says of `vault`, looked up before it is opened.
    pub fn look_up(&self, vault: &Target) -> Recorded {
        let found = key(vault).and_then(|path| Ok((path, read_quietly(self.folder()?)?)));
        match found {
            Ok((path, (list, warning))) => Recorded {
                ids: Ok(list
                    .plain_vaults
                    .into_iter()
                    .filter(|r| r.path == path)
                    .map(|r| r.id)
                    .collect()),
                warning,
            },
            Err(e) => Recorded {
                ids: Err(e),
                warning: None,
            },
        }
    }

    /// Fails unless [`PlainList::add`] could record a vault at `vault`
    /// (checked before `init --plain` creates anything).
    pub fn check_recordable(&self, vault: &Target) -> Result<()> {
        key(vault)?;
        check_folder(self.folder()?)
    }

    /// Records the plain vault `id` at `vault`, replacing any record of that path.
    pub fn add(&self, vault: &Target, id: &[u8; 16]) -> Result<()> {
        let path = key(vault)?;
        self.update(|list| {
            list.plain_vaults.retain(|r| r.path != path);
            list.plain_vaults.push(Record {
                path: path.clone(),
                id: hex(id),
            });
        })
    }

    /// Drops any record of `vault` (after `destroy`, or when an encrypted vault
    /// is created there); a failure is only a warning.
    pub fn remove(&self, vault: &Target) {
        let Ok(path) = key(vault) else { return };
        let Ok(folder) = self.folder() else { return };
        if !folder.join(FILE).exists() {
            return;
        }
        if let Err(e) = self.update(|list| list.plain_vaults.retain(|r| r.path != path)) {
            output::notice(&format!("warning: {e}"));
        }
    }

    /// Read, change and replace the list under its lock.
    fn update(&self, change: impl FnOnce(&mut List)) -> Result<()> {
        let folder = self.folder()?;
        let fail = |what: &str, e: std::io::Error| {
            Error::other(format!("cannot {what} in {}: {e}", folder.display()))
        };
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(folder)
            .map_err(|e| fail("create the config folder", e))?;
        // `mode(0o700)` does nothing to a folder that was there already.
        check_folder(folder)?;
        let lock = no_follow(OpenOptions::new().create(true).truncate(false).write(true))
            .mode(0o600)
            .open(folder.join(LOCK))
            .map_err(|e| fail("open the plain-vault list's lock", e))?;
        lock.lock()
            .map_err(|e| fail("lock the plain-vault list", e))?;
        let mut list = read(folder)?;
        change(&mut list);
        let text = serde_json::to_vec_pretty(&list)
            .map_err(|e| Error::other(format!("cannot encode the plain-vault list: {e}")))?;
        // A new file of a random name (O_EXCL, mode 0600), never one planted
        // there; the rename replaces whatever is at the list's name, a symlink
        // included, without following it.
        let mut tmp = tempfile::NamedTempFile::new_in(folder)
            .map_err(|e| fail("write the plain-vault list", e))?;
        tmp.write_all(&text)
            .and_then(|()| tmp.as_file().sync_all())
            .map_err(|e| fail("write the plain-vault list", e))?;
        tmp.persist(folder.join(FILE))
            .map(drop)
            .map_err(|e| fail("write the plain-vault list", e.error))
    }
}

/// The key a vault is recorded under: its absolute path, symlinks kept;
/// on a server, its server, database and vault name (see
/// [`crate::server_url::ServerUrl::record_key`]).
fn key(vault: &Target) -> Result<String> {
    if let Some(server) = vault.server() {
        return Ok(server.record_key());
    }
    let abs = std::path::absolute(&vault.path)?;
    abs.to_str().map(str::to_owned).ok_or_else(|| {
        Error::usage(format!(
            "cannot record a plain vault at {}, a path that is not UTF-8; pass --plain each time instead",
            abs.display()
        ))
    })
}

fn hex(id: &[u8; 16]) -> String {
    id.iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads the list; a missing file is an empty list. A list that another
/// user owns or may write, or one in such a folder, is not trusted (with a
/// warning). The checks are made on the open file, the one that is read.
fn read(folder: &Path) -> Result<List> {
    let (list, warning) = read_quietly(folder)?;
    if let Some(warning) = warning {
        output::notice(&warning);
    }
    Ok(list)
}

/// [`read`], with its warning returned rather than printed.
fn read_quietly(folder: &Path) -> Result<(List, Option<String>)> {
    let path = folder.join(FILE);
    let fail = |e: std::io::Error| Error::other(format!("cannot read {}: {e}", path.display()));
    // Never through a symlink (the list is only ever renamed into place),
    // and a FIFO planted there does not block the open.
    let file = match OpenOptions::new()
        .read(true)
        .custom_flags(NO_FOLLOW | rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open(&path)
    {
        Ok(file) => file,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok((List::default(), None)),
        Err(e) => return Err(fail(e)),
    };
    let meta = file.metadata().map_err(fail)?;
    if !meta.is_file() {
        return Err(Error::other(format!(
            "{} is not a file; delete it, and pass --plain meanwhile",
            path.display()
        )));
    }
    if let Some(problem) = loose(&meta).or_else(|| {
        std::fs::metadata(folder)
            .ok()
            .and_then(|m| loose(&m))
            .map(|p| format!("its folder: {p}"))
    }) {
        let warning = format!("warning: ignoring {}: {problem}", path.display());
        return Ok((List::default(), Some(warning)));
    }
    let mut text = Vec::new();
    file.take(MAX_LEN + 1)
        .read_to_end(&mut text)
        .map_err(fail)?;
    if text.len() as u64 > MAX_LEN {
        return Err(Error::other(format!(
            "{} is larger than {} KiB, too large for a list of plain vaults; \
             fix or delete it, and pass --plain meanwhile",
            path.display(),
            MAX_LEN / 1024
        )));
    }
    let list = serde_json::from_slice(&text).map_err(|e| {
        Error::other(format!(
            "{} is damaged ({e}); fix or delete it, and pass --plain meanwhile",
            path.display()
        ))
    })?;
    Ok((list, None))
}

/// What makes the list (or its folder) someone else's to change, if anything.
fn loose(meta: &std::fs::Metadata) -> Option<String> {
    if meta.uid() != rustix::process::geteuid().as_raw() {
        Some(format!("another user (uid {}) owns it", meta.uid()))
    } else if meta.mode() & 0o022 != 0 {
        Some(format!(
            "other users may write it (mode {:o})",
            meta.mode() & 0o777
        ))
    } else {
        None
    }
}

/// Fails unless the config folder, if it exists, is the user's alone to change.
fn check_folder(folder: &Path) -> Result<()> {
    let meta = match std::fs::metadata(folder) {
        Ok(meta) => meta,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            return Err(Error::other(format!(
                "cannot check {}: {e}",
                folder.display()
            )));
        }
    };
    match loose(&meta) {
        None if meta.is_dir() => Ok(()),
        None => Err(Error::other(format!(
            "{} is not a folder; cannot record plain vaults in it; pass --plain instead",
            folder.display()
        ))),
        Some(problem) => Err(Error::other(format!(
            "refusing to keep the plain-vault list in {shown}: {problem}; \
             make it yours and owner-only (chmod 700 {shown}), or pass --plain instead",
            shown = folder.display()
        ))),
    }
}

/// What the list says of one vault path, read before the vault is opened
/// so that the CLI knows which kind to open it as. Its warning and its
/// error matter only once the file turns out plain, so they wait till then.
pub struct Recorded {
    /// The ids recorded at the path (one, unless the list was edited).
    ids: Result<Vec<String>>,
    warning: Option<String>,
}

impl Recorded {
    /// Whether `init --plain` recorded a plain vault at the path.
    pub fn is_recorded(&self) -> bool {
        self.ids.as_ref().is_ok_and(|ids| !ids.is_empty())
    }

    /// Whether `init --plain` recorded the plain vault `id` at the path
    /// (after the list's warning, if it had one).
    pub fn contains(self, id: &[u8; 16]) -> Result<bool> {
        Ok(self.ids()?.contains(&hex(id)))
    }

    /// The list's warning and error, for a plain file refused without its
    /// id being asked for (nothing is recorded at its path).
    pub fn refused(self) -> Result<()> {
        self.ids().map(drop)
    }

    fn ids(self) -> Result<Vec<String>> {
        if let Some(warning) = &self.warning {
            output::notice(warning);
        }
        self.ids
    }
}

const NO_FOLLOW: i32 = rustix::fs::OFlags::NOFOLLOW.bits() as i32;

/// Opens without following a symlink at the last component.
fn no_follow(opts: &mut OpenOptions) -> &mut OpenOptions {
    opts.custom_flags(NO_FOLLOW)
}
