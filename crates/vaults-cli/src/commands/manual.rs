//! `man`: the manual pages, rendered from clap's description of the
//! command line plus the sections clap does not know: EXIT STATUS,
//! ENVIRONMENT and SEE ALSO. `vaults(1)` names a page per subcommand
//! (`vaults-init(1)`, `vaults-slot-remove(1)`), so `man --out DIR` writes
//! every one of them, and `man COMMAND` prints one.

use std::io::Write;
use std::path::Path;

use clap::CommandFactory;

use crate::cli::Cli;
use crate::error::{Error, Result};
use crate::output::emit;

/// The exit codes, as `vaults(1)` lists them.
const EXIT_STATUS: &[(&str, &str)] = &[
    ("0", "Success."),
    ("1", "An error not listed below."),
    ("2", "Usage: a bad option, argument or input."),
    ("3", "Not found: no such vault, entry or key slot."),
    (
        "4",
        "Authentication failed: a wrong passphrase, or a vault or export that was modified.",
    ),
    (
        "5",
        "Busy: another writer held the lock past --busy-timeout; nothing changed, run it again.",
    ),
    (
        "75",
        "Unavailable: the server of a --url vault could not be reached; run it again later.",
    ),
    ("126", "exec: the command could not be run."),
    ("127", "exec: the command was not found."),
];

/// The variables `vaults` reads, as `vaults(1)` lists them.
const ENVIRONMENT: &[(&str, &str)] = &[
    ("VAULTS_DIR", "The folder holding the vaults (--dir)."),
    ("VAULTS_VAULT", "Which vault in the folder (--vault)."),
    (
        "VAULTS_URL",
        "A vault on a PostgreSQL server (--url); may hold the server's password.",
    ),
    (
        "PGPASSWORD",
        "The server's password when VAULTS_URL has none.",
    ),
    ("VAULTS_PASSPHRASE", "The vault's passphrase."),
    (
        "VAULTS_PASSPHRASE_FILE",
        "A file holding the passphrase (--passphrase-file).",
    ),
    (
        "VAULTS_PASSPHRASE_COMMAND",
        "A shell command printing the passphrase (--passphrase-command).",
    ),
    (
        "VAULTS_NEW_PASSPHRASE",
        "The new passphrase of passwd and slot add-passphrase.",
    ),
    (
        "VAULTS_NEW_PASSPHRASE_FILE",
        "A file holding the new passphrase.",
    ),
    (
        "VAULTS_EXPORT_PASSPHRASE",
        "The passphrase of an age export, for export and import.",
    ),
    (
        "VAULTS_EXPORT_PASSPHRASE_FILE",
        "A file holding the export passphrase.",
    ),
    (
        "VAULTS_PLAIN",
        "1: expect a plain (unencrypted) vault (--plain).",
    ),
    ("VAULTS_NO_INPUT", "1: never prompt (--no-input)."),
    (
        "VAULTS_BUSY_TIMEOUT",
        "How long a write waits for another writer (--busy-timeout).",
    ),
    (
        "VAULTS_PASSPHRASE_TIMEOUT",
        "How long a passphrase file or command may take (--passphrase-timeout).",
    ),
    (
        "VAULTS_LOG",
        "Log to stderr: a level (debug) or targets (vaults=debug), as tracing's EnvFilter reads them. \
         No value or name is ever logged.",
    ),
    (
        "NO_COLOR",
        "Set: no colour in logs (there is none unless stderr is a terminal).",
    ),
    (
        "VAULTS_CLIP_COMMAND",
        "A shell command that copies its stdin to the clipboard, instead of wl-copy, xclip, xsel or pbcopy.",
    ),
    (
        "VAULTS_CLIP_PASTE_COMMAND",
        "With VAULTS_CLIP_COMMAND: a shell command that prints the clipboard, so that it is cleared only while it still holds the value.",
    ),
    (
        "VAULTS_CLIP_TIMEOUT",
        "How long --clip leaves a value in the clipboard (--clip-timeout); default 45s.",
    ),
    ("VISUAL, EDITOR", "The editor of vaults edit; default vi."),
    (
        "VAULTS_EDIT_DIR",
        "Where vaults edit puts its private file: a memory-backed (tmpfs) folder; default /dev/shm.",
    ),
    (
        "COMPLETE",
        "bash, zsh, fish, elvish or powershell: print that shell's script for dynamic completion (source <(COMPLETE=bash vaults)).",
    ),
];

/// `man [COMMAND...] [--out DIR]`: prints the page of `vaults` or of one
/// subcommand, or writes every page into `out`.
pub fn man(command: &[String], out: Option<&Path>) -> Result<()> {
    let mut root = Cli::command().disable_help_subcommand(true);
    root.build();
    if let Some(dir) = out {
        if !command.is_empty() {
            return Err(Error::usage(
                "`man --out` writes every page; give no command with it",
            ));
        }
        std::fs::create_dir_all(dir)?;
        let written = write_all(&root, dir)?;
        crate::output::notice(&format!("wrote {written} man pages to {}", dir.display()));
        return Ok(());
    }
    let mut cmd = &root;
    for name in command {
        cmd = cmd.find_subcommand(name).ok_or_else(|| {
            Error::usage(format!(
                "no command `{}` (see `vaults --help`)",
                command.join(" ")
            ))
        })?;
    }
    emit(&page(cmd, cmd.get_name() == root.get_name())?)
}

/// Writes the page of `cmd` and of each of its subcommands into `dir`.
fn write_all(cmd: &clap::Command, dir: &Path) -> Result<usize> {
    let mut written = 0;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        written += write_all(sub, dir)?;
    }
    let name = cmd.get_display_name().unwrap_or_else(|| cmd.get_name());
    let root = name == "vaults";
    let path = dir.join(format!("{name}.1"));
    let mut file = std::fs::File::create(&path)?;
    file.write_all(&page(cmd, root)?)?;
    file.sync_all()?;
    Ok(written + 1)
}

/// The roff of one page: clap_mangen's sections in its order, with EXIT
/// STATUS, ENVIRONMENT (on `vaults(1)`) and SEE ALSO added.
fn page(cmd: &clap::Command, root: bool) -> Result<Vec<u8>> {
    let man = clap_mangen::Man::new(cmd.clone())
        .source(format!("vaults {}", env!("CARGO_PKG_VERSION")))
        .manual("vaults manual");
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(&mut out)?;
    }
    if cmd.get_subcommands().any(|s| !s.is_hide_set()) {
        man.render_subcommands_section(&mut out)?;
    }
    if cmd.get_after_help().is_some() || cmd.get_after_long_help().is_some() {
        man.render_extra_section(&mut out)?;
    }
    section(&mut out, "EXIT STATUS", EXIT_STATUS);
    if root {
        section(&mut out, "ENVIRONMENT", ENVIRONMENT);
    } else {
        out.extend_from_slice(b".SH \"SEE ALSO\"\n\\fBvaults\\fR(1)\n");
    }
    man.render_version_section(&mut out)?;
    Ok(out)
}

/// A roff section of tagged paragraphs.
fn section(out: &mut Vec<u8>, title: &str, items: &[(&str, &str)]) {
    out.extend_from_slice(format!(".SH \"{title}\"\n").as_bytes());
    for (tag, text) in items {
        out.extend_from_slice(format!(".TP\n\\fB{}\\fR\n{}\n", roff(tag), roff(text)).as_bytes());
    }
}

/// `text` safe in a roff line: backslashes and hyphens escaped, and no line
/// starting with a control character.
fn roff(text: &str) -> String {
    let escaped = text.replace('\\', "\\e").replace('-', "\\-");
    match escaped.starts_with(['.', '\'']) {
        true => format!("\\&{escaped}"),
        false => escaped,
    }
}
