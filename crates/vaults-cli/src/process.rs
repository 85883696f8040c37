//! What the process does around a command: harden itself first (owner-only
//! files, no core dumps), undo that right before `exec`, and log to stderr
//! under `VAULTS_LOG`.

use std::sync::OnceLock;

/// The umask and core-dump limit this process started with.
static INHERITED: OnceLock<(rustix::fs::Mode, rustix::process::Rlimit)> = OnceLock::new();

/// Files this process creates are owner-only, and it never dumps core (a
/// core file would hold unlocked keys).
pub fn harden() {
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

/// `VAULTS_LOG` logs to stderr, in `EnvFilter`'s syntax: a level (`debug`,
/// `trace`, `info`, `warn`, `error`), or targets (`vaults=debug`,
/// `vaults::engine=trace,info`). Colour only when stderr is a terminal and
/// `NO_COLOR` is unset. The library never logs a value or a name.
pub fn init_logging() {
    use std::io::IsTerminal;
    let Some(spec) = std::env::var_os("VAULTS_LOG").filter(|s| !s.is_empty()) else {
        return;
    };
    let filter = match spec.to_str().map(tracing_subscriber::EnvFilter::try_new) {
        Some(Ok(filter)) => filter,
        Some(Err(e)) => {
            crate::output::notice(&format!(
                "vaults: VAULTS_LOG is not a log filter ({e}); examples: debug, vaults=trace"
            ));
            return;
        }
        None => {
            crate::output::notice("vaults: VAULTS_LOG is not UTF-8; no logging");
            return;
        }
    };
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter)
        .with_ansi(colour)
        .init();
}
