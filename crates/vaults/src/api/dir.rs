//! [`VaultDir`]: named vaults under one root folder.

use std::fs::DirBuilder;
#[cfg(unix)]
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use super::options::OpenOptions;
use super::vault::Vault;
use crate::{Error, Result};

/// Longest vault name, in bytes (file names are limited to 255 bytes, less `.db`).
const MAX_VAULT_NAME: usize = 200;

/// A root folder of named vaults: the vault `users` lives in `ROOT/users.db`.
///
/// This replaces the Python module's global `set_root_path` with a value you
/// pass around. Folders it creates are owner-only (0700).
///
/// ```
/// use vaults::{Store, VaultDir};
///
/// let tmp = tempfile::tempdir()?;
/// let dir = VaultDir::new(tmp.path().join("data"));
/// let users = dir.open_or_create("users")?;
/// users.put("alice", &["admin"])?;
/// assert_eq!(dir.list()?, ["users"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct VaultDir {
    root: PathBuf,
    options: OpenOptions,
}

impl VaultDir {
    /// A handle on `root`; nothing is created until a vault is opened.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            options: OpenOptions::new(),
        }
    }

    /// The same folder, opening vaults with `options`.
    ///
    /// ```
    /// use vaults::{Durability, OpenOptions, VaultDir};
    /// let tmp = tempfile::tempdir()?;
    /// let dir = VaultDir::new(tmp.path())
    ///     .with_options(OpenOptions::new().durability(Durability::Normal));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_options(mut self, options: OpenOptions) -> Self {
        self.options = options;
        self
    }

    /// The root folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file of the vault called `name`.
    ///
    /// # Errors
    /// [`Error::InvalidVaultName`] for an empty name, one with a path
    /// separator or a NUL, one starting with a dot (`..`, hidden files), or
    /// one longer than 200 bytes.
    pub fn path_of(&self, name: &str) -> Result<PathBuf> {
        check_vault_name(name)?;
        Ok(self.root.join(format!("{name}.db")))
    }

    /// Opens the vault called `name`, which must exist (the Python
    /// module's `to_create=False`).
    ///
    /// ```
    /// use vaults::{Error, VaultDir};
    ///
    /// let tmp = tempfile::tempdir()?;
    /// let dir = VaultDir::new(tmp.path());
    /// assert!(matches!(dir.open("users"), Err(Error::VaultNotFound { .. })));
    /// dir.create("users")?;
    /// dir.open("users")?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidVaultName`]; [`Error::VaultNotFound`] if it does not
    /// exist; otherwise as [`Vault::open`].
    pub fn open(&self, name: &str) -> Result<Vault> {
        self.options.open(self.path_of(name)?)
    }

    /// Creates the vault called `name` (and the root folder, 0700, if
    /// missing); one already there is [`Error::VaultExists`].
    ///
    /// ```
    /// use vaults::{Error, VaultDir};
    ///
    /// let tmp = tempfile::tempdir()?;
    /// let dir = VaultDir::new(tmp.path().join("data"));
    /// dir.create("users")?;
    /// assert!(matches!(dir.create("users"), Err(Error::VaultExists { .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidVaultName`], [`Error::Io`] if the root folder cannot
    /// be created, or as [`Vault::create`].
    pub fn create(&self, name: &str) -> Result<Vault> {
        let path = self.path_of(name)?;
        self.create_root()?;
        self.options.create(path)
    }

    /// Opens the vault called `name`, creating it (and the root folder,
    /// 0700) if missing.
    ///
    /// ```
    /// use vaults::VaultDir;
    ///
    /// let tmp = tempfile::tempdir()?;
    /// let dir = VaultDir::new(tmp.path().join("data"));
    /// dir.open_or_create("users")?;
    /// assert!(dir.exists("users")?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidVaultName`], [`Error::Io`] if the root folder cannot
    /// be created, or as [`Vault::open_or_create`].
    pub fn open_or_create(&self, name: &str) -> Result<Vault> {
        let path = self.path_of(name)?;
        self.create_root()?;
        self.options.open_or_create(path)
    }

    /// Whether a vault called `name` exists.
    ///
    /// # Errors
    /// [`Error::InvalidVaultName`].
    pub fn exists(&self, name: &str) -> Result<bool> {
        Ok(self.path_of(name)?.is_file())
    }

    /// Names of the vaults in the folder, sorted (empty if the folder is missing).
    ///
    /// # Errors
    /// [`Error::Io`] if the folder cannot be read.
    pub fn list(&self) -> Result<Vec<String>> {
        let entries = match std::fs::read_dir(&self.root) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::Io(e)),
        };
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry?;
            let file = entry.file_name();
            let Some(file) = file.to_str() else { continue };
            if let Some(name) = file.strip_suffix(".db")
                && check_vault_name(name).is_ok()
                && entry.file_type()?.is_file()
            {
                names.push(name.to_owned());
            }
        }
        names.sort_unstable();
        Ok(names)
    }

    /// Creates the root folder, owner-only, if it is missing.
    ///
    /// # Errors
    /// [`Error::Io`] if it cannot be created.
    pub fn create_root(&self) -> Result<()> {
        let mut builder = DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        builder.mode(0o700);
        builder.create(&self.root)?;
        Ok(())
    }
}

/// Checks a vault name: it becomes a file name, so it must not escape the folder.
pub(crate) fn check_vault_name(name: &str) -> Result<()> {
    let reason = if name.is_empty() {
        "empty"
    } else if name.len() > MAX_VAULT_NAME {
        "longer than 200 bytes"
    } else if name.contains(['/', '\\']) {
        "contains a path separator"
    } else if name.starts_with('.') {
        "starts with a dot"
    } else if name.chars().any(char::is_control) {
        "contains a control character"
    } else {
        return Ok(());
    };
    Err(Error::InvalidVaultName { reason })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vault_names_cannot_escape_the_folder() {
        for bad in [
            "",
            "..",
            ".",
            "../x",
            "a/b",
            "a\\b",
            ".hidden",
            "nul\0",
            &"x".repeat(201),
        ] {
            assert!(
                matches!(check_vault_name(bad), Err(Error::InvalidVaultName { .. })),
                "{bad:?}"
            );
        }
        for good in ["users", "my-vault_2", "привет", "a.b"] {
            assert!(check_vault_name(good).is_ok(), "{good:?}");
        }
    }
}
