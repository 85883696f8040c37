//! `vaults-cli`: the `vaults` command, the command-line companion of the
//! `vaults` library. The binary is `src/main.rs`; the code lives here so that
//! tests and fuzz targets link its parsers.
//!
//! A thin shell: it parses arguments (`cli`) and resolves them once into a
//! `Context` (`context`), finds secrets (`passphrase`, `kernel_keyring`),
//! opens the vault (`open`), runs one of the `commands`, and prints
//! (`output`). Exit codes (`error`): 0 success, 1 other error, 2 usage,
//! 3 not found, 4 authentication failed, 5 busy (another writer held the
//! lock: try again), 75 unavailable (the vault's server: try again).

mod bounded_json;
mod child_env;
mod cli;
mod clipboard;
mod command_line;
mod commands;
mod complete;
mod context;
mod error;
mod input;
mod kernel_keyring;
mod multiline;
mod names;
mod open;
mod output;
mod passphrase;
mod plain_list;
mod process;
mod server_url;
mod transfer;
mod tree;
mod values;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

use crate::cli::{Cli, Command, Sources};
use crate::context::Context;
use crate::error::Result;

pub use crate::process::unharden;

/// The parsers the fuzz targets drive. Not a stable API.
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::cli::parse_duration;
    pub use crate::transfer::{parse_env, parse_export};
    pub use crate::values::{env_value, show};
}

/// Runs the `vaults` command with this process's arguments.
pub fn main() -> ExitCode {
    process::harden();
    // `COMPLETE=bash vaults`: the shell's completion protocol; it exits.
    clap_complete::CompleteEnv::with_factory(Cli::command).complete();
    process::init_logging();
    let result = run();
    // The command's vaults, keys and values are dropped (and wiped) by now;
    // copies that moves left in dead stack frames are not, until this.
    vaults::wipe_stack();
    match result {
        Ok(code) => code,
        // A closed stdout pipe: the reader has what it wanted.
        Err(e) if e.is_broken_pipe() => ExitCode::SUCCESS,
        Err(e) => {
            output::notice(&format!("vaults: {e}"));
            ExitCode::from(e.exit_code())
        }
    }
}

/// Parses the command line (a usage error exits with code 2), resolves the
/// options once, and runs the command.
fn run() -> Result<ExitCode> {
    let matches = command_line::matches(Cli::command())?;
    let mut cli = Cli::from_arg_matches(&matches)
        .map_err(|e| error::Error::usage(format!("{}", e.kind())))?;
    cli.global.sources = Sources::of(&matches);
    drop(matches);
    match cli.command {
        Command::ClipClear => clipboard::clear_later()?,
        Command::Completions { shell } => commands::completions(shell)?,
        Command::Man { command, out } => commands::man(&command, out.as_deref())?,
        command => {
            let ctx = Context::resolve(&cli.global)?;
            commands::run(&ctx, command)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
