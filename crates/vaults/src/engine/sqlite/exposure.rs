//! Whether other users may read or change a vault file: the checks ssh's
//! `StrictModes` makes on its keys, in one place for the library's warning
//! and the CLI's.

use std::fmt;
use std::path::{Path, PathBuf};

/// One way other users may read or change a vault: found by
/// [`Exposure::check`], which every open of a vault file also logs as
/// `tracing` warnings. The vault is still usable;
/// the [`Display`](fmt::Display) text says what is wrong and how to fix it.
///
/// ```
/// use std::os::unix::fs::PermissionsExt;
/// use vaults::{Exposure, Vault};
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("app.db");
/// Vault::create(&path)?.close()?;
/// assert_eq!(Exposure::check(&path), []);
///
/// std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644))?;
/// let found = Exposure::check(&path);
/// assert!(matches!(found[..], [Exposure::File { mode: 0o644, .. }]));
/// assert!(found[0].to_string().contains("chmod 600"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Exposure {
    /// The file's group or others may read or write it.
    File {
        /// The vault file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The folder's group or others may write in it, and so replace the
    /// file, or plant its `-wal` before SQLite makes one.
    Folder {
        /// The folder holding the vault file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The file belongs to someone other than the user or root, who may
    /// change its mode or its contents at will.
    FileOwner {
        /// The vault file.
        path: PathBuf,
        /// Its owner.
        uid: u32,
    },
    /// The folder belongs to someone other than the user or root.
    FolderOwner {
        /// The folder holding the vault file.
        path: PathBuf,
        /// Its owner.
        uid: u32,
    },
}

impl Exposure {
    /// What exposes the vault file at `path`, if anything: the file
    /// readable or writable by group or others, its folder writable by
    /// group or others, either owned by someone other than the user or
    /// root. A file or folder that cannot be `stat`ed yields nothing (the
    /// open that follows reports it). Always empty off Unix.
    pub fn check(path: impl AsRef<Path>) -> Vec<Exposure> {
        let path = path.as_ref();
        std::fs::metadata(path)
            .map(|meta| Self::check_with(path, &meta))
            .unwrap_or_default()
    }

    /// [`Exposure::check`] with the file's metadata already at hand.
    pub(crate) fn check_with(path: &Path, meta: &std::fs::Metadata) -> Vec<Exposure> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::{MetadataExt, PermissionsExt};
            let me = rustix::process::geteuid().as_raw();
            let foreign = |uid: u32| uid != me && uid != 0;
            let mut found = Vec::new();
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                found.push(Exposure::File {
                    path: path.to_owned(),
                    mode,
                });
            }
            if foreign(meta.uid()) {
                found.push(Exposure::FileOwner {
                    path: path.to_owned(),
                    uid: meta.uid(),
                });
            }
            let folder = match path.parent() {
                Some(p) if p.as_os_str().is_empty() => Path::new("."),
                Some(p) => p,
                None => return found,
            };
            if let Ok(meta) = std::fs::metadata(folder) {
                let mode = meta.permissions().mode() & 0o777;
                if mode & 0o022 != 0 {
                    found.push(Exposure::Folder {
                        path: folder.to_owned(),
                        mode,
                    });
                }
                if foreign(meta.uid()) {
                    found.push(Exposure::FolderOwner {
                        path: folder.to_owned(),
                        uid: meta.uid(),
                    });
                }
            }
            found
        }
        #[cfg(not(unix))]
        {
            let _ = (path, meta);
            Vec::new()
        }
    }

    /// The permission bits at fault, for a mode finding.
    pub(crate) fn mode(&self) -> Option<u32> {
        match self {
            Exposure::File { mode, .. } | Exposure::Folder { mode, .. } => Some(*mode),
            Exposure::FileOwner { .. } | Exposure::FolderOwner { .. } => None,
        }
    }
}

impl fmt::Display for Exposure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Exposure::File { path, mode } => {
                let how = match mode & 0o022 {
                    0 => "accessible to",
                    _ => "writable by",
                };
                let path = path.display();
                write!(
                    f,
                    "{path} is {how} other users (mode {mode:o}); run: chmod 600 {path}"
                )
            }
            Exposure::Folder { path, mode } => {
                let path = path.display();
                write!(
                    f,
                    "folder {path} is writable by other users (mode {mode:o}); run: chmod 700 {path}"
                )
            }
            Exposure::FileOwner { path, uid } => {
                write!(f, "{} is owned by another user (uid {uid})", path.display())
            }
            Exposure::FolderOwner { path, uid } => {
                write!(
                    f,
                    "folder {} is owned by another user (uid {uid})",
                    path.display()
                )
            }
        }
    }
}
