//! `vaults-cli`: the `vaults` command, the command-line companion of the
//! `vaults` library. The binary is `src/main.rs`; the code lives here so that
//! tests and fuzz targets link its parsers.
//!
//! A thin shell: it parses arguments, finds secrets (passphrase sources,
//! prompts, the kernel keyring), calls the library, and prints. Exit codes: 0
//! success, 1 other error, 2 usage, 3 not found, 4 authentication failed,
//! 5 busy (another writer held the lock: try again).

mod bounded_json;
mod child_env;
mod cli;
mod commands;
mod error;
mod input;
mod names;
mod open;
mod plain_list;
mod secrets;
mod transfer;
mod values;

use std::process::ExitCode;
use std::sync::OnceLock;

use clap::Parser;

/// The parsers the fuzz targets drive. Not a stable API.
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::cli::parse_duration;
    pub use crate::transfer::{parse_env, parse_export};
    pub use crate::values::{env_value, show};
}

/// Runs the `vaults` command with this process's arguments.
pub fn main() -> ExitCode {
    harden();
    init_logging();
    let cli = cli::Cli::parse();
    let result = commands::run(cli);
    // The command's vaults, keys and values are dropped (and wiped) by now;
    // copies that moves left in dead stack frames are not, until this.
    vaults::wipe_stack();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // A closed stdout pipe: the reader has what it wanted.
        Err(e) if e.code == 0 => ExitCode::SUCCESS,
        Err(e) => {
            secrets::notice(&format!("vaults: {e}"));
            ExitCode::from(e.code)
        }
    }
}

/// The umask and core-dump limit this process started with.
static INHERITED: OnceLock<(rustix::fs::Mode, rustix::process::Rlimit)> = OnceLock::new();

/// Files this process creates are owner-only, and it never dumps core (a
/// core file would hold unlocked keys).
fn harden() {
    use rustix::process::{DumpableBehavior, Resource, Rlimit};
    let umask = rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    let core = rustix::process::getrlimit(Resource::Core);
    // The hard limit stays, so that `exec` can hand the soft one back; not
    // being dumpable already rules out a core file of this process.
    let none = Rlimit {
        current: Some(0),
        maximum: core.maximum,
    };
    let _ = rustix::process::setrlimit(Resource::Core, none);
    let _ = rustix::process::set_dumpable_behavior(DumpableBehavior::NotDumpable);
    let _ = INHERITED.set((umask, core));
}

/// Undoes [`harden`]'s umask and core limit, right before `exec` replaces
/// this process with the user's command: that command runs as it would
/// without vaults.
pub fn unharden() {
    if let Some((umask, core)) = INHERITED.get() {
        rustix::process::umask(*umask);
        let _ = rustix::process::setrlimit(rustix::process::Resource::Core, *core);
    }
}

/// `VAULTS_LOG=debug` (or trace, info, warn) logs to stderr; the library
/// never logs a value or a name.
fn init_logging() {
    let Some(level) = std::env::var("VAULTS_LOG")
        .ok()
        .and_then(|l| l.parse::<tracing::Level>().ok())
    else {
        return;
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(level)
        .with_ansi(std::env::var_os("NO_COLOR").is_none())
        .init();
}
