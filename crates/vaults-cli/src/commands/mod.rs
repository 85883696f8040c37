//! The commands, one file per group; this file only dispatches. Commands
//! parse nothing and store nothing themselves: they take the [`Context`],
//! call the library and print through `output`.

mod admin;
mod doctor;
mod edit;
mod entries;
mod env;
mod exec;
mod expiry;
mod generate;
mod inject;
mod keys;
mod listing;
mod manual;
mod otp;
mod rename;
mod transfer;

pub use admin::completions;
pub use manual::man;

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use vaults::Vault;

use crate::child_env::Chosen;
use crate::cli::{Command, EnvFormat, ExpireCondition, ImportFormat, Rename};
use crate::context::Context;
use crate::error::Result;
use crate::names;
use crate::open::{self, Opened};

/// Runs `command`. (`completions` and `man` need no context: `main` runs
/// them through [`completions`] and [`man`] before resolving one.)
pub fn run(ctx: &Context, command: Command) -> Result<()> {
    match command {
        Command::Init { keyring, kdf } => admin::init(ctx, keyring, &kdf),
        Command::Destroy { force } => admin::destroy(ctx, force),
        Command::Copy { to } => admin::copy(ctx, &to),
        Command::Cleanup => expiry::cleanup(ctx),
        Command::Unlock { duration } => keys::unlock(ctx, duration),
        Command::Lock => keys::lock(ctx),
        Command::Passwd { new } => keys::passwd(ctx, &new),
        Command::Rotate { drop_unreadable } => keys::rotate(ctx, drop_unreadable),
        Command::Slots => keys::slots(ctx),
        Command::Slot(cmd) => keys::slot(ctx, cmd),
        Command::Doctor { yes } => doctor::run(ctx, yes),
        Command::Completions { shell } => completions(shell),
        // `main` runs it before resolving a context.
        Command::ClipClear => crate::clipboard::clear_later(),
        Command::Man { command, out } => man(&command, out.as_deref()),
        Command::Set {
            key,
            ttl,
            keep_ttl,
            json_input,
            multiline,
        } => on_vault(
            ctx,
            OnStore::Set {
                key,
                ttl,
                keep_ttl,
                json_input,
                multiline,
            },
        ),
        // Names are checked before the vault is opened (and unlocked).
        Command::Get {
            key,
            no_newline,
            escaped,
            clip,
        } => {
            let key = names::typed(key, escaped)?;
            let to = match clip {
                true => entries::GetTo::Clipboard(ctx.clip_timeout),
                false => entries::GetTo::Stdout { no_newline },
            };
            on_vault(ctx, OnStore::Get { key, to })
        }
        Command::Mv(names) => on_vault(ctx, copy(names, true)?),
        Command::Cp(names) => on_vault(ctx, copy(names, false)?),
        Command::Generate {
            key,
            length,
            no_symbols,
            words,
            ttl,
            print,
            clip,
            force,
        } => {
            let recipe = match words {
                Some(n) => generate::Recipe::Words(n),
                None => generate::Recipe::Chars {
                    length,
                    symbols: !no_symbols,
                },
            };
            // Checked before the vault is opened (and unlocked).
            generate::make(&recipe)?;
            on_vault(
                ctx,
                OnStore::Generate {
                    key,
                    recipe,
                    ttl,
                    print,
                    clip,
                    force,
                },
            )
        }
        Command::Env {
            format,
            prefix,
            only,
            from,
        } => on_vault(
            ctx,
            OnStore::Env {
                format,
                prefix,
                chosen: Chosen { only, from },
            },
        ),
        Command::Otp { key, clip } => on_vault(ctx, OnStore::Otp { key, clip }),
        Command::Edit { key, create } => on_vault(ctx, OnStore::Edit { key, create }),
        Command::Inject {
            template,
            out,
            force,
        } => on_vault(
            ctx,
            OnStore::Inject {
                template,
                out,
                force,
            },
        ),
        Command::Vaults => listing::list(ctx),
        Command::Rm { keys, escaped } => {
            let keys = keys
                .into_iter()
                .map(|k| names::typed(k, escaped))
                .collect::<Result<_>>()?;
            on_vault(ctx, OnStore::Rm { keys })
        }
        Command::Ls {
            patterns,
            long,
            tree,
        } => on_vault(
            ctx,
            OnStore::Ls {
                patterns,
                long,
                tree,
            },
        ),
        Command::Ttl { key } => on_vault(ctx, OnStore::Ttl { key }),
        Command::Expire {
            key,
            duration,
            condition,
        } => on_vault(
            ctx,
            OnStore::Expire {
                key,
                duration,
                condition,
            },
        ),
        Command::Persist { key } => on_vault(ctx, OnStore::Persist { key }),
        Command::Exec {
            prefix,
            only,
            from,
            command,
        } => on_vault(
            ctx,
            OnStore::Exec {
                prefix,
                chosen: Chosen { only, from },
                command,
            },
        ),
        Command::Export {
            recipient,
            recipients_file,
            out,
            plaintext,
            force,
            export_passphrase_file,
        } => {
            // Read and checked before the vault is opened (and unlocked).
            let mut recipients = recipient
                .iter()
                .map(|r| crate::transfer::recipient(r))
                .collect::<Result<Vec<_>>>()?;
            for file in &recipients_file {
                recipients.extend(crate::transfer::recipients_file(file)?);
            }
            on_vault(
                ctx,
                OnStore::Export {
                    out,
                    plaintext,
                    force,
                    sealing: transfer::Sealing {
                        recipients,
                        pass_file: export_passphrase_file,
                    },
                },
            )
        }
        Command::Import {
            file,
            format,
            identity,
            export_passphrase_file,
        } => {
            let identities = match &identity {
                Some(path) => Some(crate::transfer::identity_file(path)?),
                None => None,
            };
            on_vault(
                ctx,
                OnStore::Import {
                    file,
                    format,
                    opening: transfer::Opening {
                        identities,
                        pass_file: export_passphrase_file,
                    },
                },
            )
        }
    }
}

/// `mv` (`remove`) or `cp`, its names checked before the vault is opened.
fn copy(r: Rename, remove: bool) -> Result<OnStore> {
    Ok(OnStore::Copy {
        from: names::typed(r.from, r.escaped)?,
        to: names::typed(r.to, r.escaped)?,
        force: r.force,
        remove,
    })
}

/// Runs a store command on the opened vault, then what is left once it
/// is closed.
fn on_vault(ctx: &Context, cmd: OnStore) -> Result<()> {
    match on_store_of_either_kind(ctx, cmd)? {
        After::Done => Ok(()),
        After::Exec { command, env } => exec::run(&command, env),
    }
}

/// A command that works on the entries of a vault of either kind.
enum OnStore {
    Set {
        key: String,
        ttl: Option<Duration>,
        keep_ttl: bool,
        json_input: bool,
        multiline: bool,
    },
    Get {
        key: String,
        to: entries::GetTo,
    },
    Copy {
        from: String,
        to: String,
        force: bool,
        remove: bool,
    },
    Generate {
        key: String,
        recipe: generate::Recipe,
        ttl: Option<Duration>,
        print: bool,
        clip: bool,
        force: bool,
    },
    Env {
        format: EnvFormat,
        prefix: String,
        chosen: Chosen,
    },
    Otp {
        key: String,
        clip: bool,
    },
    Edit {
        key: String,
        create: bool,
    },
    Inject {
        template: Option<PathBuf>,
        out: Option<PathBuf>,
        force: bool,
    },
    Rm {
        keys: Vec<String>,
    },
    Ls {
        patterns: Vec<String>,
        long: bool,
        tree: bool,
    },
    Ttl {
        key: String,
    },
    Expire {
        key: String,
        duration: Duration,
        condition: ExpireCondition,
    },
    Persist {
        key: String,
    },
    Exec {
        prefix: String,
        chosen: Chosen,
        command: Vec<OsString>,
    },
    Export {
        out: Option<PathBuf>,
        plaintext: bool,
        force: bool,
        sealing: transfer::Sealing,
    },
    Import {
        file: PathBuf,
        format: Option<ImportFormat>,
        opening: transfer::Opening,
    },
}

/// What is left to do once the vault is closed.
enum After {
    Done,
    /// Replace this process with `command`, its environment `env`.
    Exec {
        command: Vec<OsString>,
        env: Vec<(OsString, OsString)>,
    },
}

/// Opens the vault and runs `cmd` on it, whatever its kind.
///
/// The one place that names both kinds of store: once the library's
/// `&Vault` holds either kind, this match becomes
/// `on_store(ctx, opened.vault(), cmd)` and `on_store` a plain function.
fn on_store_of_either_kind(ctx: &Context, cmd: OnStore) -> Result<After> {
    let opened = open::open(ctx)?;
    // An encrypted vault derefs to `Vault`: one code path serves both kinds.
    let vault: &Vault = match &opened {
        Opened::Plain(vault) => vault,
        Opened::Encrypted(vault) => vault,
    };
    on_store(ctx, vault, cmd)
}

fn on_store(ctx: &Context, s: &Vault, cmd: OnStore) -> Result<After> {
    match cmd {
        OnStore::Set {
            key,
            ttl,
            keep_ttl,
            json_input,
            multiline,
        } => entries::set(ctx, s, &key, ttl, keep_ttl, json_input, multiline)?,
        OnStore::Get { key, to } => entries::get(ctx, s, &key, to)?,
        OnStore::Copy {
            from,
            to,
            force,
            remove,
        } => rename::copy_entry(s, &from, &to, force, remove)?,
        OnStore::Generate {
            key,
            recipe,
            ttl,
            print,
            clip,
            force,
        } => {
            let shown = generate::Shown { print, clip };
            generate::run(ctx, s, &key, &recipe, ttl, force, shown)?;
        }
        OnStore::Env {
            format,
            prefix,
            chosen,
        } => env::print(s, format, &prefix, &chosen)?,
        OnStore::Otp { key, clip } => otp::run(ctx, s, &key, clip)?,
        OnStore::Edit { key, create } => edit::edit(s, &key, create)?,
        OnStore::Inject {
            template,
            out,
            force,
        } => inject::inject(s, template.as_deref(), out.as_deref(), force)?,
        OnStore::Rm { keys } => entries::rm(s, &keys)?,
        OnStore::Ls {
            patterns,
            long,
            tree,
        } => entries::ls(ctx, s, &patterns, long, tree)?,
        OnStore::Ttl { key } => expiry::ttl(ctx, s, &key)?,
        OnStore::Expire {
            key,
            duration,
            condition,
        } => expiry::expire(ctx, s, &key, duration, &condition)?,
        OnStore::Persist { key } => expiry::persist(ctx, s, &key)?,
        OnStore::Exec {
            prefix,
            chosen,
            command,
        } => {
            let env = exec::environment(ctx, s, &prefix, &chosen)?;
            return Ok(After::Exec { command, env });
        }
        OnStore::Export {
            out,
            plaintext,
            force,
            sealing,
        } => transfer::export(ctx, s, out.as_deref(), plaintext, force, &sealing)?,
        OnStore::Import {
            file,
            format,
            opening,
        } => transfer::import(ctx, s, &file, format, &opening)?,
    }
    Ok(After::Done)
}
