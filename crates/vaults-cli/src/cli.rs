//! The command line, as clap parses it. Scripts depend on these names.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use clap_complete::engine::ArgValueCompleter;

/// An encrypted secrets store with expiry.
///
/// Values never travel on the command line: they come from stdin or a no-echo
/// prompt. The passphrase comes from, first found: --passphrase-file,
/// --passphrase-command, $VAULTS_PASSPHRASE, a cached `vaults unlock`, a
/// keyring slot, or a no-echo prompt.
#[derive(Debug, Parser)]
#[command(
    name = "vaults",
    version,
    propagate_version = true,
    max_term_width = 100
)]
#[command(after_help = "Examples:
  vaults init                               create the default vault (asks a passphrase twice)
  printf %s \"$TOKEN\" | vaults set api/token --ttl 7d
  vaults get api/token
  vaults exec --only api/token -- ./deploy.sh
  vaults ls --long

Exit codes: 0 success, 1 error, 2 usage, 3 not found, 4 authentication failed,
5 busy (another writer held the lock past --busy-timeout: nothing changed, run it again),
75 unavailable (the server of a --url vault could not be reached: run it again later)")]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct Global {
    /// A vault on a PostgreSQL server instead of a folder's file:
    /// postgres://USER@HOST[:PORT]/DB?vault=NAME (the password from
    /// PGPASSWORD; without vault=, --vault names the vault)
    #[arg(
        long,
        global = true,
        env = "VAULTS_URL",
        // It may hold the server's password.
        hide_env_values = true,
        value_name = "URL"
    )]
    pub url: Option<String>,

    /// Folder holding the vaults [default: the platform data folder, e.g. ~/.local/share/vaults]
    #[arg(long, global = true, env = "VAULTS_DIR", value_name = "DIR")]
    pub dir: Option<PathBuf>,

    /// Which vault in the folder (or on the server, when --url has no vault=)
    #[arg(
        long,
        global = true,
        env = "VAULTS_VAULT",
        value_name = "NAME",
        default_value = "default"
    )]
    pub vault: String,

    /// Print data as JSON (output only: `set --json-input` reads JSON)
    #[arg(long, global = true)]
    pub json: bool,

    /// Read the passphrase from this file (one trailing newline is stripped)
    #[arg(
        long,
        global = true,
        env = "VAULTS_PASSPHRASE_FILE",
        value_name = "FILE"
    )]
    pub passphrase_file: Option<PathBuf>,

    /// Run this shell command and read the passphrase from its output (it
    /// shares our stdin and stderr, so it can prompt; it must not read a value
    /// piped to `set`)
    #[arg(
        long,
        global = true,
        env = "VAULTS_PASSPHRASE_COMMAND",
        // The command may hold the passphrase itself (`echo ...`).
        hide_env_values = true,
        value_name = "CMD"
    )]
    pub passphrase_command: Option<String>,

    /// Unlock through this passphrase slot alone (see `vaults slots`) instead
    /// of trying each, cheapest first
    #[arg(long, global = true, value_name = "ID")]
    pub slot: Option<u32>,

    /// Also try passphrase slots whose Argon2 parameters exceed the default
    /// unlock ceiling (1 GiB, 10 passes, 8 lanes), up to 4 GiB, 20 passes, 16
    /// lanes: an unlock may then take minutes and gigabytes
    #[arg(long, global = true)]
    pub allow_slow_unlock: bool,

    /// Expect a plain (unencrypted) vault: `init` creates one, and other
    /// commands open a plain vault that `init --plain` did not record in
    /// this user's config folder. Without it, a vault file that says it is
    /// plain but was never recorded is refused as tampered with
    #[arg(long, global = true, env = "VAULTS_PLAIN", value_parser = clap::builder::BoolishValueParser::new())]
    pub plain: bool,

    /// How long a write waits for another writer's lock before giving up
    /// with exit code 5 (90s, 1m, 500ms)
    #[arg(
        long,
        global = true,
        env = "VAULTS_BUSY_TIMEOUT",
        value_name = "DUR",
        value_parser = parse_duration,
        default_value = "5s"
    )]
    pub busy_timeout: std::time::Duration,

    /// How long a passphrase file or command may take to give the passphrase
    /// (a FIFO nobody writes, a command that hangs)
    #[arg(
        long,
        global = true,
        env = "VAULTS_PASSPHRASE_TIMEOUT",
        value_name = "DUR",
        value_parser = parse_duration,
        default_value = "60s"
    )]
    pub passphrase_timeout: std::time::Duration,

    /// How long a value copied by --clip stays in the clipboard before it
    /// is cleared (0: not cleared)
    #[arg(
        long,
        global = true,
        env = "VAULTS_CLIP_TIMEOUT",
        value_name = "DUR",
        value_parser = parse_duration,
        default_value = "45s"
    )]
    pub clip_timeout: std::time::Duration,

    /// Never prompt: fail when an input is missing instead
    #[arg(long, global = true, env = "VAULTS_NO_INPUT", value_parser = clap::builder::BoolishValueParser::new())]
    pub no_input: bool,

    /// Where `--url`, `--dir` and `--vault` came from (filled in from
    /// clap's matches, not parsed).
    #[arg(skip)]
    pub sources: Sources,
}

/// Where a global option's value came from: the command line, the
/// environment or its default (`None`: not given).
#[derive(Debug, Default, Clone, Copy)]
pub struct Sources {
    pub url: Option<clap::parser::ValueSource>,
    pub dir: Option<clap::parser::ValueSource>,
    pub vault: Option<clap::parser::ValueSource>,
}

impl Sources {
    /// Reads them from clap's matches.
    pub fn of(matches: &clap::ArgMatches) -> Sources {
        Sources {
            url: matches.value_source("url"),
            dir: matches.value_source("dir"),
            vault: matches.value_source("vault"),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a vault
    #[command(after_help = "Examples:
  vaults init
  vaults init --keyring --kdf-memory 256 --kdf-time 4
  vaults --vault cache init --plain")]
    Init {
        /// Also add a key slot held in the OS keyring, so commands need no passphrase
        #[arg(long)]
        keyring: bool,
        #[command(flatten)]
        kdf: KdfArgs,
    },
    /// Store a value (from stdin, or a no-echo prompt); with --json-input the
    /// input is parsed as JSON and stored as a structured value
    #[command(after_help = "Examples:
  printf %s \"$TOKEN\" | vaults set api/token --ttl 7d
  echo '{\"host\": \"db\", \"port\": 5432}' | vaults set db/config --json-input
  vaults set db/password            (prompts without echo)
  vaults set --multiline tls/key     (paste a PEM key, then Ctrl-D)")]
    Set {
        /// Name of the entry
        #[arg(add = ArgValueCompleter::new(crate::complete::entry_names))]
        key: String,
        /// Expire after this long (90s, 15m, 1h30m, 7d; more than 0)
        #[arg(long, value_name = "DUR", value_parser = parse_ttl, conflicts_with = "keep_ttl")]
        ttl: Option<std::time::Duration>,
        /// Keep the expiry of the value it replaces
        #[arg(long)]
        keep_ttl: bool,
        /// Parse the input as JSON and store it as a structured value (the
        /// global --json is about output only)
        #[arg(long)]
        json_input: bool,
        /// On a terminal, read several lines (a key, a certificate) until
        /// Ctrl-D, without echo, instead of one
        #[arg(long)]
        multiline: bool,
    },
    /// Print a value
    #[command(after_help = "Examples:
  vaults get api/token
  vaults get --clip api/token             to the clipboard, cleared after 45s
  vaults --json get db/config")]
    Get {
        /// Name of the entry
        #[arg(add = ArgValueCompleter::new(crate::complete::entry_names))]
        key: String,
        /// Print no trailing newline
        #[arg(short = 'n')]
        no_newline: bool,
        /// Copy the value to the clipboard instead of printing it, and clear
        /// it after --clip-timeout if it still holds the value (the tool:
        /// wl-copy, xclip, xsel or pbcopy, or $VAULTS_CLIP_COMMAND)
        #[arg(long, short = 'c')]
        clip: bool,
        /// Read the name as `ls` prints an odd one: "a\0b" in double quotes
        /// with escapes (for names no command line can hold, like a NUL)
        #[arg(long)]
        escaped: bool,
    },
    /// Remove entries
    #[command(after_help = "Example:\n  vaults rm old/token other/token")]
    Rm {
        /// Names of the entries
        #[arg(required = true, add = ArgValueCompleter::new(crate::complete::entry_names))]
        keys: Vec<String>,
        /// Read each name as `ls` prints it: a quoted one ("a\0b") is
        /// unescaped, a bare one taken as it is
        #[arg(long)]
        escaped: bool,
    },
    /// List names, sorted
    #[command(after_help = "Examples:
  vaults ls
  vaults ls api/ --long            names starting with api/
  vaults ls 'api/*' '*/token'      glob patterns: * and ? stay within a /, ** crosses
  vaults ls --tree
  vaults --json ls")]
    Ls {
        /// Only names starting with this, or matching it when it holds a
        /// glob (`*`, `?`, `[...]`); several are joined
        patterns: Vec<String>,
        /// Show each entry's expiry
        #[arg(long, short = 'l', conflicts_with = "tree")]
        long: bool,
        /// Show `/`-separated names as a tree
        #[arg(long)]
        tree: bool,
    },
    /// Rename an entry, with its value and expiry, in one transaction
    #[command(after_help = "Examples:
  vaults mv api/token api/token-old
  vaults mv --force staging/key prod/key   replace an existing entry")]
    Mv(Rename),
    /// Copy an entry, with its value and expiry
    #[command(after_help = "Examples:
  vaults cp prod/db/password staging/db/password
  vaults cp --force a b")]
    Cp(Rename),
    /// Store a new random secret from the OS generator (printed only when asked)
    #[command(after_help = "Examples:
  vaults generate db/password                 24 letters, digits and symbols
  vaults generate wifi --length 32 --no-symbols
  vaults generate disk --words 6 --print      six words from the EFF list, shown
  vaults generate api/key --ttl 30d --clip    to the clipboard, cleared after 45s")]
    Generate {
        /// Name of the entry
        #[arg(add = ArgValueCompleter::new(crate::complete::entry_names))]
        key: String,
        /// Characters, 8 to 4096
        #[arg(long, value_name = "N", default_value_t = 24, conflicts_with = "words")]
        length: usize,
        /// Leave out symbols: letters and digits only
        #[arg(long)]
        no_symbols: bool,
        /// A passphrase of N words (3 to 64) from the EFF large word list,
        /// joined by `-`, instead of characters
        #[arg(long, value_name = "N")]
        words: Option<usize>,
        /// Expire after this long (90s, 15m, 1h30m, 7d)
        #[arg(long, value_name = "DUR", value_parser = parse_ttl)]
        ttl: Option<std::time::Duration>,
        /// Also print it
        #[arg(long)]
        print: bool,
        /// Also copy it to the clipboard (see `get --clip`)
        #[arg(long)]
        clip: bool,
        /// Replace an existing entry
        #[arg(long)]
        force: bool,
    },
    /// Print entries as environment assignments (dotenv, shell or JSON)
    #[command(after_help = "Examples:
  vaults env > .env                               every entry, e.g. db/password as DB_PASSWORD
  vaults env --format shell --from db/ > db.sh    then: . ./db.sh
  eval \"$(vaults env --format shell --only api/token)\"
  vaults env --format json --prefix APP_")]
    Env {
        /// The output's form
        #[arg(long, value_enum, default_value = "dotenv")]
        format: EnvFormat,
        /// Prefix for every variable name
        #[arg(long, value_name = "P", default_value = "")]
        prefix: String,
        /// Only these entries (as `exec --only`)
        #[arg(long, value_name = "KEY", num_args = 1..)]
        only: Vec<String>,
        /// Only the entries whose names start with this (repeatable)
        #[arg(long, value_name = "PREFIX")]
        from: Vec<String>,
    },
    /// Fill a template's {{ vaults "NAME" }} references with the entries
    ///
    /// Only that form is special (single quotes work too); text around it,
    /// and any other `{{`, passes through byte for byte. A missing entry
    /// fails the run and nothing is written. The output file is created
    /// 0600, atomically.
    #[command(after_help = "Examples:
  vaults inject -i config.tpl -o config.yml
  echo 'url: postgres://app:{{ vaults \"db/password\" }}@db/app' | vaults inject")]
    Inject {
        /// The template [default: stdin]
        #[arg(short = 'i', long = "in", value_name = "FILE")]
        template: Option<PathBuf>,
        /// Write here (0600) instead of stdout
        #[arg(short = 'o', long = "out", value_name = "FILE")]
        out: Option<PathBuf>,
        /// Replace an existing output file
        #[arg(long)]
        force: bool,
    },
    /// Print the current one-time code (TOTP, RFC 6238) of an entry
    ///
    /// The entry holds an otpauth://totp/ URI (its secret, digits, period
    /// and algorithm are honoured) or a bare base32 secret (6 digits, 30s,
    /// SHA-1).
    #[command(after_help = "Examples:
  vaults otp github                    prints e.g. 492039
  vaults otp github --clip")]
    Otp {
        /// Name of the entry
        #[arg(add = ArgValueCompleter::new(crate::complete::entry_names))]
        key: String,
        /// Copy the code to the clipboard instead of printing it
        #[arg(long)]
        clip: bool,
    },
    /// List the vaults in the folder, with their kind and entry count
    ///
    /// A plain vault's entries are counted; an encrypted vault's count
    /// needs the key, so it shows `-` (nothing is asked).
    #[command(after_help = "Examples:\n  vaults vaults\n  vaults --json vaults")]
    Vaults,
    /// Edit an entry's text in $VISUAL or $EDITOR, through a private file in
    /// memory (/dev/shm), wiped and removed after
    #[command(after_help = "Examples:
  vaults edit app/config
  EDITOR='code --wait' vaults edit notes/servers
  vaults edit --create notes/new")]
    Edit {
        /// Name of the entry
        #[arg(add = ArgValueCompleter::new(crate::complete::entry_names))]
        key: String,
        /// Start a missing entry empty instead of failing
        #[arg(long)]
        create: bool,
    },
    /// Print the seconds an entry has left, or `never`
    #[command(after_help = "Example:\n  vaults ttl session/abc")]
    Ttl {
        /// Name of the entry
        #[arg(add = ArgValueCompleter::new(crate::complete::entry_names))]
        key: String,
    },
    /// Set an entry's expiry
    #[command(
        after_help = "Examples:\n  vaults expire session/abc 30m\n  vaults expire session/abc 2h --gt"
    )]
    Expire {
        /// Name of the entry
        #[arg(add = ArgValueCompleter::new(crate::complete::entry_names))]
        key: String,
        /// Expire after this long from now (0 deletes)
        #[arg(value_parser = parse_duration)]
        duration: std::time::Duration,
        #[command(flatten)]
        condition: ExpireCondition,
    },
    /// Remove an entry's expiry
    #[command(after_help = "Example:\n  vaults persist api/token")]
    Persist {
        /// Name of the entry
        #[arg(add = ArgValueCompleter::new(crate::complete::entry_names))]
        key: String,
    },
    /// Delete expired entries (needs no passphrase)
    #[command(after_help = "Example (cron):\n  vaults cleanup")]
    Cleanup,
    /// Cache the unlocked key in the kernel keyring for a while (at most 24h)
    #[command(after_help = "Examples:\n  vaults unlock\n  vaults unlock --for 1h")]
    Unlock {
        /// How long the key stays cached: 1s to 24h
        #[arg(long = "for", value_name = "DUR", value_parser = parse_unlock_duration, default_value = "15m")]
        duration: std::time::Duration,
    },
    /// Forget the cached key
    #[command(after_help = "Example:\n  vaults lock")]
    Lock,
    /// Change the passphrase (no entry is re-encrypted)
    #[command(after_help = "Examples:
  vaults passwd
  VAULTS_PASSPHRASE=old VAULTS_NEW_PASSPHRASE=new vaults passwd")]
    Passwd {
        #[command(flatten)]
        new: NewPassphrase,
    },
    /// Re-encrypt everything under a new key
    #[command(after_help = "Examples:
  vaults passwd && vaults rotate
  vaults rotate --drop-unreadable          after a compromise: planted rows do not block it")]
    Rotate {
        /// Delete rows that fail to open (see `vaults doctor`) instead of
        /// refusing to rotate
        #[arg(long)]
        drop_unreadable: bool,
    },
    /// List rows that fail to open (planted, edited or from another vault)
    /// and, once confirmed, delete them; exit 4 while any remain
    #[command(after_help = "Examples:
  vaults doctor                            list, then ask before deleting
  vaults doctor --yes                      delete without asking
  vaults --json doctor")]
    Doctor {
        /// Delete unreadable rows without asking
        #[arg(long)]
        yes: bool,
    },
    /// List the key slots (asks no passphrase)
    ///
    /// The list is read without the key: it shows what the file says, which
    /// is proven only when a slot unlocks it.
    #[command(after_help = "Example:\n  vaults slots")]
    Slots,
    /// Manage key slots (needs a slot's passphrase)
    ///
    /// Every slot change needs the passphrase of an existing slot: a key cached
    /// by `vaults unlock` or a keyring slot is not enough. It also forgets the
    /// cached key.
    #[command(
        subcommand,
        after_help = "Examples:\n  vaults slot add-passphrase\n  vaults slot remove 2"
    )]
    Slot(SlotCommand),
    /// Run a command with the vault's secrets in its environment
    #[command(after_help = "Examples:
  vaults exec -- ./server                 every entry, e.g. db/password as DB_PASSWORD
  vaults exec --from db/ -- ./migrate     the entries whose names start with db/
  vaults exec --prefix APP_ --only db/password -- env")]
    Exec {
        /// Prefix for every variable name
        #[arg(long, value_name = "P", default_value = "")]
        prefix: String,
        /// Only these entries (the only way to pass one whose variable steers a
        /// loader, a shell or an interpreter: PATH, LD_*, BASH_ENV, PYTHON*, GIT_*, ...)
        #[arg(long, value_name = "KEY", num_args = 1..)]
        only: Vec<String>,
        /// Only the entries whose names start with this (repeatable; with
        /// --only, both sets)
        #[arg(long, value_name = "PREFIX")]
        from: Vec<String>,
        /// The command and its arguments
        #[arg(last = true, required = true, value_name = "CMD")]
        command: Vec<std::ffi::OsString>,
    },
    /// Write an encrypted backup (age: a passphrase, or someone's keys) of every entry
    #[command(after_help = "Examples:
  vaults export --out backup.age           decrypt later with: age -d backup.age
  vaults export --recipient age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p --out for-ana.age
  vaults export --recipients-file ~/.ssh/authorized_keys --out team.age
  vaults export --plaintext --out dump.json")]
    Export {
        /// Encrypt to this age recipient (age1…) or SSH public key
        /// (ssh-ed25519 …, ssh-rsa …) instead of a passphrase; repeatable
        #[arg(long, value_name = "KEY", conflicts_with = "plaintext")]
        recipient: Vec<String>,
        /// Encrypt to the recipients in this file, one a line (# comments)
        #[arg(long, value_name = "FILE", conflicts_with = "plaintext")]
        recipients_file: Vec<PathBuf>,
        /// Write here instead of stdout
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Write unencrypted JSON
        #[arg(long)]
        plaintext: bool,
        /// Overwrite an existing file
        #[arg(long)]
        force: bool,
        /// Read the export passphrase from this file (or give it in
        /// $VAULTS_EXPORT_PASSPHRASE itself)
        #[arg(long, env = "VAULTS_EXPORT_PASSPHRASE_FILE", value_name = "FILE")]
        export_passphrase_file: Option<PathBuf>,
    },
    /// Import an export (encrypted or not), a .env file, or a vault of the original Python module
    #[command(after_help = "Examples:
  vaults import backup.age
  vaults import for-ana.age --identity ~/.config/age/key.txt
  vaults import team.age --identity ~/.ssh/id_ed25519
  vaults import .env --format env
  vaults import old/vaults/settings.db --format legacy")]
    Import {
        /// The file to read (`-` for stdin)
        file: PathBuf,
        /// Its format [default: guessed from the content]
        #[arg(long, value_enum)]
        format: Option<ImportFormat>,
        /// Decrypt an age file with this identity file (AGE-SECRET-KEY-1…
        /// lines, or an unencrypted OpenSSH private key) instead of a
        /// passphrase
        #[arg(long, value_name = "FILE")]
        identity: Option<PathBuf>,
        /// Read the export passphrase from this file (or give it in
        /// $VAULTS_EXPORT_PASSPHRASE itself)
        #[arg(long, env = "VAULTS_EXPORT_PASSPHRASE_FILE", value_name = "FILE")]
        export_passphrase_file: Option<PathBuf>,
    },
    /// Copy the vault, as stored, to a new file or a vault on a server
    ///
    /// Sealed entries and key slots are copied unopened: no passphrase is
    /// asked and nothing is decrypted, so the copy opens with the same
    /// passphrases. Expired entries are left behind. An existing
    /// destination is refused.
    #[command(after_help = "Examples:
  vaults copy --to 'postgres://app@db.internal/secrets?vault=web'   to a server (password: PGPASSWORD)
  vaults --url \"$VAULTS_URL\" copy --to web.db                      from the server back to a file
  vaults --vault web copy --to 'postgres://app@db.internal/secrets' the same vault name on the server")]
    Copy {
        /// Where to: a file path, or postgres://USER@HOST/DB[?vault=NAME]
        /// (without vault=, the vault's own name)
        #[arg(long, value_name = "DEST")]
        to: PathBuf,
    },
    /// Delete the vault (its file, or its rows on the server)
    #[command(after_help = "Example:\n  vaults --vault old destroy --force")]
    Destroy {
        /// Do not ask
        #[arg(long)]
        force: bool,
    },
    /// The clipboard clearer `get --clip` starts (not for people).
    #[command(name = "__clip-clear", hide = true)]
    ClipClear,
    /// Print shell completions
    #[command(
        after_help = "Example:\n  vaults completions bash > ~/.local/share/bash-completion/completions/vaults"
    )]
    Completions {
        /// The shell
        shell: clap_complete::Shell,
    },
    /// Print a man page, or write them all
    #[command(after_help = "Examples:
  vaults man | man -l -                     the page of vaults(1)
  vaults man slot remove | man -l -         the page of vaults-slot-remove(1)
  vaults man --out ~/.local/share/man/man1  every page, for `man vaults-init`")]
    Man {
        /// The command whose page to print [default: vaults itself]
        #[arg(value_name = "COMMAND")]
        command: Vec<String>,
        /// Write every page (vaults.1, vaults-init.1, ...) into this folder
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum SlotCommand {
    /// Add a passphrase slot (a second or recovery passphrase)
    #[command(after_help = "Example:\n  vaults slot add-passphrase")]
    AddPassphrase {
        #[command(flatten)]
        new: NewPassphrase,
        #[command(flatten)]
        kdf: KdfArgs,
    },
    /// Add a slot held in the OS keyring
    #[command(after_help = "Example:\n  vaults slot add-keyring")]
    AddKeyring,
    /// Remove a slot
    #[command(after_help = "Example:\n  vaults slot remove 2")]
    Remove {
        /// The slot's id (see `vaults slots`)
        id: u32,
    },
}

/// The names of `mv` and `cp`.
#[derive(Debug, Args)]
pub struct Rename {
    /// The entry's name
    #[arg(add = ArgValueCompleter::new(crate::complete::entry_names))]
    pub from: String,
    /// The new entry's name
    pub to: String,
    /// Replace an entry already named so
    #[arg(long)]
    pub force: bool,
    /// Read both names as `ls` prints odd ones (see `get --escaped`)
    #[arg(long)]
    pub escaped: bool,
}

/// Argon2id costs for a new passphrase slot.
#[derive(Debug, Args)]
pub struct KdfArgs {
    /// Argon2id memory in MiB, at most 1024 [default: 64]
    #[arg(long, value_name = "MIB")]
    pub kdf_memory: Option<u32>,
    /// Argon2id passes, at most 10 [default: 3]
    #[arg(long, value_name = "N")]
    pub kdf_time: Option<u32>,
}

/// Where a new passphrase comes from: env, file, or a prompt asked twice.
#[derive(Debug, Args)]
pub struct NewPassphrase {
    /// Read the new passphrase from this file (or give it in
    /// $VAULTS_NEW_PASSPHRASE itself)
    #[arg(long, env = "VAULTS_NEW_PASSPHRASE_FILE", value_name = "FILE")]
    pub new_passphrase_file: Option<PathBuf>,
}

/// When `expire` may act (at most one).
#[derive(Debug, Args)]
#[group(multiple = false)]
pub struct ExpireCondition {
    /// Only if the entry has no expiry
    #[arg(long)]
    pub nx: bool,
    /// Only if the entry has an expiry
    #[arg(long)]
    pub xx: bool,
    /// Only if the new expiry is later
    #[arg(long)]
    pub gt: bool,
    /// Only if the new expiry is sooner
    #[arg(long)]
    pub lt: bool,
}

/// The forms `vaults env` prints.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum EnvFormat {
    /// NAME="value" lines, as dotenv loaders read them
    Dotenv,
    /// export NAME='value' lines, for `.` or `eval` in sh and bash
    Shell,
    /// One JSON object of names and values
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ImportFormat {
    /// Our JSON export
    Json,
    /// KEY=VALUE lines
    Env,
    /// Our export, encrypted with age
    Age,
    /// A file of the original Python vaults module (msgpack values; pickled ones are refused)
    Legacy,
}

/// Parses `90s`, `15m`, `1h30m`, `7d` (and `0`).
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    if s.trim() == "0" {
        return Ok(std::time::Duration::ZERO);
    }
    humantime::parse_duration(s).map_err(|e| format!("{e} (examples: 90s, 15m, 1h30m, 7d)"))
}

/// Parses `set --ttl`: a duration of at least 1s (an entry stored already
/// expired is never what was meant; `vaults expire NAME 0` deletes one).
pub fn parse_ttl(s: &str) -> Result<std::time::Duration, String> {
    let d = parse_duration(s)?;
    if d.is_zero() {
        return Err(
            "a TTL of 0 would store the entry already expired; give a duration \
                    of 1s or more, or leave --ttl out to keep it until deleted"
                .into(),
        );
    }
    Ok(d)
}

/// The longest `unlock --for`: a cached key is a standing way into the vault.
pub const MAX_UNLOCK: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// Parses `unlock --for`: a duration from 1s to [`MAX_UNLOCK`].
pub fn parse_unlock_duration(s: &str) -> Result<std::time::Duration, String> {
    let d = parse_duration(s)?;
    if d < std::time::Duration::from_secs(1) {
        return Err("the key must stay cached at least 1s (`vaults lock` forgets it now)".into());
    }
    if d > MAX_UNLOCK {
        return Err(
            "a key is cached for 24h at most; run `vaults unlock` again when it runs out".into(),
        );
    }
    if d.subsec_nanos() != 0 {
        return Err(
            "the kernel keyring times keys out in whole seconds: give whole seconds (90s, 15m)"
                .into(),
        );
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        super::Cli::command().debug_assert();
    }

    #[test]
    fn durations_parse() {
        use std::time::Duration;
        assert_eq!(super::parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(
            super::parse_duration("1h30m"),
            Ok(Duration::from_secs(5400))
        );
        assert_eq!(
            super::parse_duration("7d"),
            Ok(Duration::from_secs(7 * 86400))
        );
        assert_eq!(super::parse_duration("0"), Ok(Duration::ZERO));
        assert!(super::parse_duration("soon").is_err());
        assert!(super::parse_duration("-5s").is_err());
    }

    #[test]
    fn unlock_durations_run_from_1s_to_24h() {
        use std::time::Duration;
        let parse = super::parse_unlock_duration;
        assert_eq!(parse("1s"), Ok(Duration::from_secs(1)));
        assert_eq!(parse("24h"), Ok(super::MAX_UNLOCK));
        for bad in ["0", "999ms", "1500ms", "24h 1s", "4294967296s", "soon"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
