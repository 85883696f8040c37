//! The environment an `exec` child gets: the entries it asked for, the
//! caller's own variables minus every `VAULTS_*` one, no loader or shell
//! control variable unless named with `--only`, and a size the kernel takes.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;

use vaults::Store;

use crate::error::{Error, Result};
use crate::output;
use crate::values;

/// Variables that make a dynamic loader, a shell, an interpreter or a tool
/// load code or run a command. An entry that maps to one is refused unless
/// the user names it with `--only`: a vault file may hold entries the user
/// never put there (a plain vault has no integrity), and `BASH_ENV` alone
/// runs a script in every bash the child starts.
const CONTROL: &[&str] = &[
    "BASH_ENV",
    "BASHOPTS",
    "CDPATH",
    "EDITOR",
    "ENV",
    "GCONV_PATH",
    "GLOBIGNORE",
    "HOME",
    "IFS",
    "JAVA_TOOL_OPTIONS",
    "JDK_JAVA_OPTIONS",
    "_JAVA_OPTIONS",
    "LESSCLOSE",
    "LESSOPEN",
    "LOCPATH",
    "NODE_OPTIONS",
    "NODE_PATH",
    "PAGER",
    "PATH",
    "PERLLIB",
    "PROMPT_COMMAND",
    "PS1",
    "PS2",
    "PS3",
    "PS4",
    "RUBYLIB",
    "RUBYOPT",
    "SHELL",
    "SHELLOPTS",
    "SSH_ASKPASS",
    "SUDO_ASKPASS",
    "VISUAL",
    "XDG_CONFIG_HOME",
    "ZDOTDIR",
];

/// Prefixes of such variables (`VAULTS_` too: they steer `vaults` itself).
const CONTROL_PREFIXES: &[&str] = &[
    "BASH_FUNC_",
    "DYLD_",
    "GIT_",
    "LD_",
    "LUA_",
    "PERL5",
    "PYTHON",
    "VAULTS_",
];

/// Linux's cap on one `NAME=value` string handed to `execve` (32 pages).
const MAX_ARG_STRLEN: usize = 32 * 4096;

/// Room left for the program's path, which `execvp` finds on `$PATH`.
const PATH_MAX: usize = 4096;

/// Whether `var` controls a loader, a shell or an interpreter.
pub fn is_control(var: &str) -> bool {
    CONTROL.contains(&var) || CONTROL_PREFIXES.iter().any(|p| var.starts_with(p))
}

/// Whether a variable of the caller is one of ours, never handed down.
fn is_ours(var: &OsStr) -> bool {
    var.as_bytes().starts_with(b"VAULTS_")
}

/// The child's whole environment: the caller's, without `VAULTS_*` and
/// the variables in `withheld`, with the entries on top (`only`, or every
/// entry). Entries that cannot be a
/// variable (binary, or with a NUL byte) are skipped with a notice unless
/// named in `only`, where they are an error.
///
/// Linear in the number of entries: names are read once, each value once,
/// clashes found through a map.
pub fn build<S: Store>(
    s: &S,
    prefix: &str,
    chosen: &Chosen,
    withheld: &[&str],
) -> Result<Vec<(OsString, OsString)>> {
    let entries = variables(s, prefix, chosen)?;
    let by_var: HashMap<&str, ()> = entries.iter().map(|e| (e.var.as_str(), ())).collect();
    let mut env: Vec<(OsString, OsString)> = std::env::vars_os()
        .filter(|(var, _)| {
            !is_ours(var)
                && !withheld.iter().any(|w| var == w)
                && !by_var.contains_key(&*var.to_string_lossy())
        })
        .collect();
    for Variable { name, var, value } in entries {
        if std::env::var_os(&var).is_some() {
            output::notice(&format!("vaults: entry {name:?} overrides ${var}"));
        }
        env.push((var.into(), value.into()));
    }
    Ok(env)
}

/// Which entries become variables: those named (`--only`), those whose
/// name starts with one of `from` (`--from`), both (their union), or every
/// entry when neither is given.
#[derive(Debug, Default)]
pub struct Chosen {
    /// Exact names: each must exist, and may set any variable.
    pub only: Vec<String>,
    /// Name prefixes.
    pub from: Vec<String>,
}

/// One entry as a variable.
pub struct Variable {
    /// The entry's name.
    pub name: String,
    /// The variable's name (see [`values::env_name`]).
    pub var: String,
    /// The value, as text.
    pub value: String,
}

/// The chosen entries as variables, sorted by entry name. Entries that
/// cannot be a variable (binary, or with a NUL byte) are skipped with a
/// notice unless named in `only`, where they are an error; so is one that
/// would set a variable steering a loader or shell, unless named in `only`.
///
/// Linear in the number of entries: names are read once, each value once,
/// clashes found through a map.
pub fn variables<S: Store>(s: &S, prefix: &str, chosen: &Chosen) -> Result<Vec<Variable>> {
    if prefix.contains(['=', '\0']) {
        return Err(Error::usage("--prefix cannot contain '=' or a NUL byte"));
    }
    let mut found: Vec<(String, Option<String>, bool)> = Vec::new();
    if chosen.only.is_empty() && chosen.from.is_empty() {
        found.extend(read_all(s)?.into_iter().map(|(n, v)| (n, v, false)));
    } else {
        found.extend(
            read_named(s, &chosen.only)?
                .into_iter()
                .map(|(n, v)| (n, v, true)),
        );
        if !chosen.from.is_empty() {
            let matching: Vec<String> = s
                .keys()?
                .into_iter()
                .filter(|n| chosen.from.iter().any(|p| n.starts_with(p.as_str())))
                .filter(|n| !chosen.only.contains(n))
                .collect();
            found.extend(
                read_named(s, &matching)?
                    .into_iter()
                    .map(|(n, v)| (n, v, false)),
            );
        }
        found.sort_by(|a, b| a.0.cmp(&b.0));
    }
    let mut by_var: HashMap<String, String> = HashMap::with_capacity(found.len());
    let mut entries = Vec::with_capacity(found.len());
    for (name, value, named) in found {
        let Some(value) = value else {
            if named {
                return Err(Error::other(format!(
                    "entry {name:?} cannot be an environment variable (binary or has a NUL byte)"
                )));
            }
            output::notice(&format!(
                "vaults: skipped entry {name:?}: binary or has a NUL byte, so it cannot be an \
                 environment variable"
            ));
            continue;
        };
        let var = values::env_name(prefix, &name);
        if is_control(&var) && !named {
            return Err(Error::usage(format!(
                "entry {name:?} would set ${var}, which steers a loader, a shell or an \
                 interpreter; name it with --only to pass it on anyway (a --from prefix \
                 is not enough)"
            )));
        }
        if var.len() + value.len() + 2 > MAX_ARG_STRLEN {
            return Err(Error::other(format!(
                "entry {name:?} is too large for an environment variable ({} bytes; Linux takes \
                 at most {MAX_ARG_STRLEN} bytes per variable)",
                value.len()
            )));
        }
        if let Some(clash) = by_var.insert(var.clone(), name.clone()) {
            return Err(Error::usage(format!(
                "entries {clash:?} and {name:?} both map to ${var}; use --only to pick one"
            )));
        }
        entries.push(Variable { name, var, value });
    }
    Ok(entries)
}

/// Each of `names` with its value as a variable's (`None`: it cannot be one).
fn read_named<S: Store>(s: &S, names: &[String]) -> Result<Vec<(String, Option<String>)>> {
    names
        .iter()
        .map(|name| {
            let stored = s.get_bytes(name)?.ok_or_else(|| Error::no_entry(name))?;
            Ok((name.clone(), values::env_value(&stored)))
        })
        .collect()
}

/// Every entry, sorted by name, in one pass of the library's iterator;
/// through [`read_named`] if a value is not CBOR at all (raw bytes from
/// another program), which the iterator cannot hand out with its name.
fn read_all<S: Store>(s: &S) -> Result<Vec<(String, Option<String>)>> {
    let mut all = Vec::new();
    for item in s.iter::<ciborium::Value>() {
        match item {
            Ok((name, value)) => all.push((name, values::env_value_of(value))),
            Err(vaults::Error::Decode { .. }) => return read_named(s, &s.keys()?),
            Err(e) => return Err(e.into()),
        }
    }
    all.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    Ok(all)
}

/// Fails, before `exec`, when `argv` and `env` would not fit in what
/// Linux takes: `execve` would fail with "argument list too long" only
/// after the child's arguments were copied.
pub fn check_fits(argv: &[OsString], env: &[(OsString, OsString)]) -> Result<()> {
    let strings: usize = argv.iter().map(|a| a.len() + 1).sum::<usize>()
        + env
            .iter()
            .map(|(k, v)| k.len() + v.len() + 2)
            .sum::<usize>();
    let pointers = (argv.len().max(1) + env.len()) * std::mem::size_of::<usize>();
    let need = strings + pointers + PATH_MAX;
    let limit = exec_limit();
    if need > limit {
        return Err(Error::other(format!(
            "the environment would not fit: {} variables and the command take about {need} \
             bytes, over the {limit} bytes the system allows (a quarter of `ulimit -s`); pass \
             fewer entries with --only",
            env.len()
        )));
    }
    Ok(())
}

/// What Linux allows for arguments and environment together: a quarter of
/// the stack's soft limit, at least 128 KiB, at most 6 MiB (fs/exec.c).
fn exec_limit() -> usize {
    const MIN: u64 = 128 * 1024;
    const MAX: u64 = 6 * 1024 * 1024;
    let stack = rustix::process::getrlimit(rustix::process::Resource::Stack).current;
    let quarter = stack.map_or(MAX, |s| s / 4);
    usize::try_from(quarter.clamp(MIN, MAX)).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_variables_are_recognised() {
        for var in [
            "BASH_ENV",
            "LD_PRELOAD",
            "PYTHONPATH",
            "GIT_SSH_COMMAND",
            "PATH",
            "VAULTS_DIR",
        ] {
            assert!(is_control(var), "{var}");
        }
        for var in ["DB_PASSWORD", "APP_PATH", "API_TOKEN", "MY_LD_PRELOAD"] {
            assert!(!is_control(var), "{var}");
        }
    }

    #[test]
    fn the_exec_limit_is_within_linuxs_bounds() {
        let limit = exec_limit();
        assert!((128 * 1024..=6 * 1024 * 1024).contains(&limit), "{limit}");
    }
}
