//! Dynamic shell completion of entry names (clap_complete's engine:
//! `source <(COMPLETE=bash vaults)`). A name is offered only when no
//! passphrase is needed: from a plain vault, or through a key that `vaults
//! unlock` cached. Nothing is ever asked, and a failure offers nothing.

use std::ffi::OsStr;

use clap::{CommandFactory, FromArgMatches};
use clap_complete::engine::CompletionCandidate;
use vaults::Store;

use crate::cli::Cli;
use crate::context::Context;
use crate::kernel_keyring::kernel_keyring;
use crate::open::{self, Locked};

/// The options of the command line being completed that choose the vault.
const CHOOSING: &[&str] = &["--vault", "--dir", "--url", "--plain"];

/// Completes an entry name starting with `current`.
pub fn entry_names(current: &OsStr) -> Vec<CompletionCandidate> {
    let Some(current) = current.to_str() else {
        return Vec::new();
    };
    names().map_or_else(Vec::new, |names| {
        names
            .into_iter()
            .filter(|n| n.starts_with(current) && !n.contains(char::is_control))
            .map(CompletionCandidate::new)
            .collect()
    })
}

/// The names of the vault the completed command line would open, if no
/// passphrase is needed to read them.
fn names() -> Option<Vec<String>> {
    // `vaults -- vaults get --vault x ...`: the words after `--`.
    let words: Vec<String> = std::env::args().skip_while(|a| a != "--").skip(2).collect();
    let mut args = vec!["vaults".to_owned(), "--no-input".to_owned()];
    let mut i = 0;
    while let Some(word) = words.get(i) {
        let (name, inline) = word.split_once('=').unwrap_or((word, ""));
        if CHOOSING.contains(&name) {
            args.push(word.clone());
            if inline.is_empty() && name != "--plain" {
                args.extend(words.get(i + 1).cloned());
                i += 1;
            }
        }
        i += 1;
    }
    args.push("ls".to_owned());
    let matches = Cli::command().try_get_matches_from(args).ok()?;
    let mut cli = Cli::from_arg_matches(&matches).ok()?;
    cli.global.sources = crate::cli::Sources::of(&matches);
    let ctx = Context::resolve(&cli.global).ok()?;
    match open::open_locked(&ctx).ok()? {
        Locked::Plain(vault) => vault.keys().ok(),
        Locked::Encrypted(locked) => {
            let key = kernel_keyring()?.load(&locked.id())?;
            locked.unlock_with_key(&key).ok()?.keys().ok()
        }
    }
}
