//! `exec`: run a command with the vault's entries in its environment.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;

use vaults::Store;

use crate::child_env;
use crate::context::Context;
use crate::error::{Error, Result};
use crate::kernel_keyring;

/// The child's environment, read from the vault (see [`child_env::build`]).
///
/// A vault on a server whose URL holds no password was reached with
/// `$PGPASSWORD`: the child does not get that password (it reaches every
/// vault stored on the server), unless an entry sets it.
pub fn environment<S: Store>(
    ctx: &Context,
    s: &S,
    prefix: &str,
    chosen: &child_env::Chosen,
) -> Result<Vec<(OsString, OsString)>> {
    let withheld: &[&str] = match ctx.target.server() {
        Some(server) if !server.has_password => &["PGPASSWORD"],
        _ => &[],
    };
    child_env::build(s, prefix, chosen, withheld)
}

/// Replaces this process with `command`, its environment `env`; returns
/// only when that fails. Runs after the vault is closed.
pub fn run(command: &[OsString], env: Vec<(OsString, OsString)>) -> Result<()> {
    let (program, args) = command
        .split_first()
        .ok_or_else(|| Error::usage("no command given"))?;
    child_env::check_fits(command, &env)?;
    kernel_keyring::isolate_session_keyring()?;
    // exec replaces this process: the child's exit code is ours, and no
    // unlocked key outlives the hand-over.
    crate::unharden();
    // The child gets the entries it asked for and the caller's variables
    // minus ours: no passphrase source, no vault folder, nothing to unlock
    // another entry with.
    let source = std::process::Command::new(program)
        .args(args)
        .env_clear()
        .envs(env)
        .exec();
    Err(Error::Exec {
        program: program.to_string_lossy().into_owned(),
        source,
    })
}
