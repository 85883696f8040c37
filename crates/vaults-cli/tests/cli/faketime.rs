//! Running the `vaults` binary under `faketime`, for tests of the clock mark.
#![allow(dead_code, clippy::unwrap_used)]

use std::process::{Command, Output};

use crate::cli_util::Env;

/// `faketime`, or `None` after saying why not (a failure under `CI=true`:
/// CI installs it, `apt-get install faketime`).
pub fn faketime() -> Option<&'static str> {
    let found = Command::new("faketime")
        .args(["-f", "+0", "true"])
        .status()
        .is_ok_and(|s| s.success());
    if found {
        return Some("faketime");
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must install faketime (apt-get install -y faketime) for this test"
    );
    eprintln!("SKIPPED: faketime is not installed (apt-get install -y faketime)");
    None
}

/// Runs `vaults ARGS` in `env` with `stdin`, under `faketime -f OFFSET`
/// when `fake` is given (`faketime` is the program [`faketime`] found).
pub fn run(env: &Env, faketime: &str, fake: Option<&str>, args: &[&str], stdin: &str) -> Output {
    let mut cmd = env.cmd();
    if let Some(offset) = fake {
        // The same environment, the binary run under faketime.
        cmd = env.sh(r#"offset="$1"; shift; exec "$0" -f "$offset" "$VAULTS_BIN" "$@""#);
        cmd.arg(faketime).arg(offset);
    }
    cmd.args(args).write_stdin(stdin).output().unwrap()
}
