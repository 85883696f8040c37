//! Reading the command line: clap parses it, with two changes a shell user
//! expects. A variable set to the empty string (`VAULTS_DIR= vaults ls`)
//! counts as unset, and a usage error is one `vaults: …` line, naming the
//! help to read, rather than clap's block with a usage line.

use clap::error::ErrorKind;
use clap::{ArgMatches, Command};

use crate::error::{Error, Result};

/// Parses this process's arguments against `cmd`. `--help` and `--version`
/// print and exit 0 here; any other error comes back as a usage error.
pub fn matches(cmd: Command) -> Result<ArgMatches> {
    match without_empty_variables(cmd).try_get_matches() {
        Ok(matches) => Ok(matches),
        Err(e) => match e.kind() {
            ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => e.exit(),
            _ => Err(Error::usage(one_line(&e.render().to_string()))),
        },
    }
}

/// `cmd`, with every option bound to a variable that is set but empty
/// unbound from it, in every subcommand.
fn without_empty_variables(cmd: Command) -> Command {
    let cmd = cmd.mut_args(|arg| {
        let empty = arg
            .get_env()
            .and_then(std::env::var_os)
            .is_some_and(|value| value.is_empty());
        match empty {
            true => arg.env(None),
            false => arg,
        }
    });
    cmd.mut_subcommands(without_empty_variables)
}

/// Clap's rendered error as one line: its message without the `error:`
/// prefix, tips and usage, and where to read more.
fn one_line(rendered: &str) -> String {
    let mut message = Vec::new();
    let mut usage = None;
    for line in rendered.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("Usage:") {
            usage = Some(command_path(rest));
            break;
        }
        if line.is_empty() || line.starts_with("tip:") || line.starts_with("For more information") {
            continue;
        }
        message.push(line.strip_prefix("error:").unwrap_or(line).trim());
    }
    let message = message.join(" ");
    let message = message.trim_end_matches(':');
    match usage {
        Some(path) => format!("{message} (see `{path} --help`)"),
        None => format!("{message} (see `vaults --help`)"),
    }
}

/// The command words at the start of a usage line: `vaults get [OPTIONS]
/// <KEY>` → `vaults get`.
fn command_path(usage: &str) -> String {
    usage
        .split_whitespace()
        .take_while(|word| !word.starts_with(['[', '<', '-']))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::one_line;

    #[test]
    fn a_clap_error_becomes_one_line() {
        let rendered = "error: unexpected argument '--bogus' found\n\n  tip: to pass '--bogus' \
                        as a value, use '-- --bogus'\n\nUsage: vaults get [OPTIONS] <KEY>\n\n\
                        For more information, try '--help'.\n";
        assert_eq!(
            one_line(rendered),
            "unexpected argument '--bogus' found (see `vaults get --help`)"
        );
        let missing = "error: the following required arguments were not provided:\n  <KEY>\n\n\
                       Usage: vaults get --dir <DIR> <KEY>\n";
        assert_eq!(
            one_line(missing),
            "the following required arguments were not provided: <KEY> (see `vaults get --help`)"
        );
    }
}
