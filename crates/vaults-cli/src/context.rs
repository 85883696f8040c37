//! Every global option and the environment variables behind them, resolved
//! once into one validated value before any command runs (like ripgrep's
//! `HiArgs`): commands read the [`Context`], never the raw flags or the
//! environment.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use vaults::VaultDir;
use zeroize::Zeroizing;

use crate::cli::Global;
use crate::error::{Error, Result};
use crate::plain_list::PlainList;

/// What a command runs with.
pub struct Context {
    /// The vault the command works on.
    pub target: Target,
    /// `--json`: print data as JSON (for `set`: parse the input as JSON).
    pub json: bool,
    /// `--plain` / `VAULTS_PLAIN`: the user expects a plain vault.
    pub plain: bool,
    /// `--no-input` / `VAULTS_NO_INPUT`: never prompt.
    pub no_input: bool,
    /// `--slot`: unlock through this passphrase slot alone.
    pub slot: Option<u32>,
    /// `--allow-slow-unlock`: raise the Argon2 ceiling of an unlock.
    pub allow_slow_unlock: bool,
    /// `--passphrase-timeout`: how long a passphrase file or command may take.
    pub passphrase_timeout: Duration,
    /// Where the vault's passphrase comes from without asking, if anywhere.
    pub passphrase: PassphraseSource,
    /// `VAULTS_NEW_PASSPHRASE` (`passwd`, `slot add-passphrase`).
    pub new_passphrase: EnvSecret,
    /// `VAULTS_EXPORT_PASSPHRASE` (`export`, `import` of an age file).
    pub export_passphrase: EnvSecret,
    /// Whether progress bars are drawn: only on a terminal.
    pub progress: bool,
    /// The user's list of plain vaults (`init --plain` records them there).
    pub plain_list: PlainList,
}

impl Context {
    /// Resolves the options and the environment behind them.
    ///
    /// # Errors
    /// When there is no folder to keep vaults in, or the vault name is not
    /// one (a path, say): usage errors.
    pub fn resolve(g: &Global) -> Result<Context> {
        let passphrase = match (&g.passphrase_file, &g.passphrase_command) {
            (Some(path), _) => PassphraseSource::File(path.clone()),
            (None, Some(cmd)) => PassphraseSource::Command(cmd.clone()),
            (None, None) => match EnvSecret::read("VAULTS_PASSPHRASE") {
                EnvSecret::Unset => PassphraseSource::None,
                env => PassphraseSource::Env(env),
            },
        };
        Ok(Context {
            target: Target::resolve(g)?,
            json: g.json,
            plain: g.plain,
            no_input: g.no_input,
            slot: g.slot,
            allow_slow_unlock: g.allow_slow_unlock,
            passphrase_timeout: g.passphrase_timeout,
            passphrase,
            new_passphrase: EnvSecret::read("VAULTS_NEW_PASSPHRASE"),
            export_passphrase: EnvSecret::read("VAULTS_EXPORT_PASSPHRASE"),
            progress: std::io::stderr().is_terminal(),
            plain_list: PlainList::locate(),
        })
    }
}

/// Where a passphrase given without asking comes from: `--passphrase-file`,
/// `--passphrase-command`, then `$VAULTS_PASSPHRASE`, first found wins.
pub enum PassphraseSource {
    File(PathBuf),
    /// A shell command (which may itself hold the passphrase).
    Command(String),
    Env(EnvSecret),
    None,
}

/// A secret held in an environment variable, read once. It is checked
/// only when used: a variable a command does not need never fails it.
pub enum EnvSecret {
    Unset,
    /// Set, but not UTF-8: the variable's name, for the error.
    NotUnicode(&'static str),
    Set(Zeroizing<String>),
}

impl EnvSecret {
    fn read(name: &'static str) -> EnvSecret {
        match std::env::var(name) {
            Ok(text) => EnvSecret::Set(Zeroizing::new(text)),
            Err(std::env::VarError::NotUnicode(_)) => EnvSecret::NotUnicode(name),
            Err(std::env::VarError::NotPresent) => EnvSecret::Unset,
        }
    }

    /// The secret, `None` when unset.
    ///
    /// # Errors
    /// A usage error when it is not UTF-8.
    pub fn get(&self) -> Result<Option<Zeroizing<String>>> {
        match self {
            EnvSecret::Unset => Ok(None),
            EnvSecret::NotUnicode(name) => Err(Error::usage(format!("{name} is not valid UTF-8"))),
            EnvSecret::Set(text) => Ok(Some(text.clone())),
        }
    }
}

/// The vault a command works on.
pub struct Target {
    pub dir: VaultDir,
    pub name: String,
    pub path: PathBuf,
    /// `--busy-timeout`: how long a write waits for another writer.
    pub busy_timeout: Duration,
}

impl Target {
    /// `--dir` / `$VAULTS_DIR`, or the platform data folder; `--vault`.
    fn resolve(g: &Global) -> Result<Target> {
        let root = match &g.dir {
            Some(dir) => dir.clone(),
            None => directories::ProjectDirs::from("", "", "vaults")
                .ok_or_else(|| {
                    Error::usage("no home folder to keep vaults in: set VAULTS_DIR or --dir")
                })?
                .data_dir()
                .to_owned(),
        };
        let dir = VaultDir::new(root);
        let path = dir.path_of(&g.vault)?;
        Ok(Target {
            dir,
            name: g.vault.clone(),
            path,
            busy_timeout: g.busy_timeout,
        })
    }

    /// How this command opens the vault: with its `--busy-timeout`.
    pub fn options(&self) -> vaults::OpenOptions {
        vaults::OpenOptions::new().busy_timeout(self.busy_timeout)
    }
}
