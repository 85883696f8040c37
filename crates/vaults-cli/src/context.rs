//! Every global option and the environment variables behind them, resolved
//! once into one validated value before any command runs (like ripgrep's
//! `HiArgs`): commands read the [`Context`], never the raw flags or the
//! environment.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::parser::ValueSource;
use vaults::VaultDir;
use zeroize::Zeroizing;

use crate::cli::Global;
use crate::error::{Error, Result};
use crate::output;
use crate::plain_list::PlainList;
use crate::server_url::{ServerUrl, VaultFlag};

/// What a command runs with.
pub struct Context {
    /// The vault the command works on.
    pub target: Target,
    /// `--json`: print data as JSON.
    pub json: bool,
    /// `--clip-timeout`: how long a value copied by `--clip` stays.
    pub clip_timeout: Duration,
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
            clip_timeout: g.clip_timeout,
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
    /// The vault's name: `--vault`, or the `vault=` of a server URL.
    pub name: String,
    /// What the library opens: the vault's file, or its server URL (which
    /// may hold a password: show [`Target::shown`] instead).
    pub path: PathBuf,
    /// Where it is: in a folder or on a server.
    pub place: Place,
    /// `--busy-timeout`: how long a write waits for another writer.
    pub busy_timeout: Duration,
}

/// Where a vault lives.
pub enum Place {
    /// A file under a folder (`--dir` / `$VAULTS_DIR`).
    Folder(VaultDir),
    /// A PostgreSQL server (`--url` / `$VAULTS_URL`).
    Server(ServerUrl),
}

impl Target {
    /// `--url` / `$VAULTS_URL`, else `--dir` / `$VAULTS_DIR` or the platform
    /// data folder; `--vault`. A flag on the command line wins over a
    /// variable: `--dir` over `$VAULTS_URL`, `--vault` over the `vault=`
    /// of `$VAULTS_URL`; `--url` with `--dir` on one command line is a
    /// usage error.
    fn resolve(g: &Global) -> Result<Target> {
        let from_cli = |source: Option<ValueSource>| source == Some(ValueSource::CommandLine);
        let url_on_cli = from_cli(g.sources.url);
        let dir_on_cli = from_cli(g.sources.dir);
        if url_on_cli && dir_on_cli {
            return Err(Error::usage(
                "--url names a vault on a server and --dir a folder of vault files: give one",
            ));
        }
        // An empty `VAULTS_URL=` is no URL, as an unset one.
        let url = g.url.as_deref().filter(|u| !u.is_empty());
        if let Some(url) = url.filter(|_| !dir_on_cli) {
            let flag = match from_cli(g.sources.vault) {
                true => VaultFlag::CommandLine {
                    name: &g.vault,
                    url_too: url_on_cli,
                },
                false => VaultFlag::Fallback(&g.vault),
            };
            let server = ServerUrl::resolve(url, flag)?;
            if url_on_cli && server.has_password {
                warn_password_on_command_line("--url");
            }
            return Ok(Target {
                name: server.vault.clone(),
                path: server.location(),
                place: Place::Server(server),
                busy_timeout: g.busy_timeout,
            });
        }
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
            name: g.vault.clone(),
            path,
            place: Place::Folder(dir),
            busy_timeout: g.busy_timeout,
        })
    }

    /// The vault `copy --to DEST` makes: a file, or a vault on a server
    /// (named as the source is when the URL has no `vault=`).
    ///
    /// # Errors
    /// A usage error for a URL that is not UTF-8.
    pub fn destination(dest: &Path, source: &Target) -> Result<Target> {
        if vaults::is_vault_url(dest) {
            let url = dest
                .to_str()
                .ok_or_else(|| Error::usage("the URL of --to is not valid UTF-8"))?;
            let server = ServerUrl::resolve(url, VaultFlag::Fallback(&source.name))?;
            if server.has_password {
                warn_password_on_command_line("--to");
            }
            return Ok(Target {
                name: server.vault.clone(),
                path: server.location(),
                place: Place::Server(server),
                busy_timeout: source.busy_timeout,
            });
        }
        let folder = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        Ok(Target {
            name: dest.file_stem().map_or_else(
                || dest.display().to_string(),
                |s| s.to_string_lossy().into(),
            ),
            path: dest.to_owned(),
            place: Place::Folder(VaultDir::new(folder)),
            busy_timeout: source.busy_timeout,
        })
    }

    /// How this command opens the vault: with its `--busy-timeout`.
    pub fn options(&self) -> vaults::OpenOptions {
        vaults::OpenOptions::new().busy_timeout(self.busy_timeout)
    }

    /// The server URL, when the vault is on a server.
    pub fn server(&self) -> Option<&ServerUrl> {
        match &self.place {
            Place::Server(s) => Some(s),
            Place::Folder(_) => None,
        }
    }

    /// Where the vault is, for messages: its file, or its URL without the
    /// password.
    pub fn shown(&self) -> String {
        match &self.place {
            Place::Folder(_) => self.path.display().to_string(),
            Place::Server(s) => s.shown.clone(),
        }
    }

    /// The vault's place as JSON output names it: `{"path": FILE}` or
    /// `{"url": URL}` (without the password).
    pub fn json_place(&self) -> (&'static str, serde_json::Value) {
        match &self.place {
            Place::Folder(_) => ("path", self.path.display().to_string().into()),
            Place::Server(s) => ("url", s.shown.clone().into()),
        }
    }
}

/// Warns that a password given in `flag` is in this process's arguments,
/// which other users of the machine can read.
fn warn_password_on_command_line(flag: &str) {
    output::notice(&format!(
        "vaults: warning: the password in {flag} can be read by other users of this machine \
         (in the process list); set VAULTS_URL or PGPASSWORD instead"
    ));
}
