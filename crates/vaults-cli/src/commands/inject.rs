//! `inject`: a template with its `{{ vaults "NAME" }}` references filled
//! in (the `op inject` idea). Only that exact form is special: any other
//! `{{` passes through as it is, so templates of other tools survive.

use std::io::Read;
use std::path::Path;

use vaults::Store;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::input;
use crate::output;
use crate::values;

/// The largest template read.
const TEMPLATE_MAX: usize = 64 * 1024 * 1024;

/// One piece of a template.
#[derive(Debug, PartialEq, Eq)]
enum Piece<'a> {
    Text(&'a str),
    Reference(String),
}

/// Splits `template` into text and references.
fn pieces(template: &str) -> Result<Vec<Piece<'_>>> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        match reference(after) {
            Some((name, used)) => {
                out.push(Piece::Text(&rest[..start]));
                out.push(Piece::Reference(name));
                rest = &after[used..];
            }
            None => {
                out.push(Piece::Text(&rest[..start + 2]));
                rest = after;
            }
        }
    }
    out.push(Piece::Text(rest));
    Ok(out)
}

/// Reads `␣vaults␣"NAME"␣}}` (or 'NAME') at the start of `s`: the name and
/// the bytes taken. A double-quoted name takes `\"` and `\\`.
fn reference(s: &str) -> Option<(String, usize)> {
    let body = s.trim_start();
    let body = body.strip_prefix("vaults")?;
    if !body.starts_with(char::is_whitespace) {
        return None;
    }
    let body = body.trim_start();
    let quote = body.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let mut name = String::new();
    let mut chars = body[1..].char_indices();
    let mut end = None;
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' if quote == '"' => name.push(chars.next()?.1),
            c if c == quote => {
                end = Some(i + 2);
                break;
            }
            c => name.push(c),
        }
    }
    let after = &body[end?..];
    let close = after.trim_start().strip_prefix("}}")?;
    Some((name, s.len() - close.len()))
}

/// `inject`: reads the template (`-` or none: stdin), fills it, and writes
/// it to `out` (0600, atomically; an existing file only with `force`) or
/// stdout. A missing entry fails the whole run before anything is written.
pub fn inject<S: Store>(
    s: &S,
    template: Option<&Path>,
    out: Option<&Path>,
    force: bool,
) -> Result<()> {
    let data = read_template(template)?;
    let text = std::str::from_utf8(&data).map_err(|_| Error::usage("the template is not UTF-8"))?;
    let mut filled = Zeroizing::new(String::with_capacity(text.len()));
    for piece in pieces(text)? {
        match piece {
            Piece::Text(t) => filled.push_str(t),
            Piece::Reference(name) => {
                let stored = s.get_bytes(&name)?.ok_or_else(|| Error::no_entry(&name))?;
                let value = values::env_value(&stored)
                    .map(Zeroizing::new)
                    .ok_or_else(|| {
                        Error::other(format!(
                            "entry {name:?} is not text: it cannot go in a template"
                        ))
                    })?;
                filled.push_str(&value);
            }
        }
    }
    match out {
        None => output::emit_secret(filled.as_bytes()),
        Some(path) => super::transfer::write_file_atomically(path, force, |w| {
            w.write_all(filled.as_bytes())
                .map_err(|e| Error::other(format!("cannot write {}: {e}", path.display())))
        }),
    }
}

fn read_template(path: Option<&Path>) -> Result<Zeroizing<Vec<u8>>> {
    let mut reader: Box<dyn Read> =
        match path {
            None => Box::new(std::io::stdin()),
            Some(p) if p == Path::new("-") => Box::new(std::io::stdin()),
            Some(p) => Box::new(std::fs::File::open(p).map_err(|e| {
                Error::other(format!("cannot read the template {}: {e}", p.display()))
            })?),
        };
    input::read_capped(&mut reader, TEMPLATE_MAX).map_err(|e| match e {
        input::ReadError::TooLarge => Error::other("the template is larger than 64 MiB"),
        input::ReadError::OutOfMemory => Error::other("cannot read the template: out of memory"),
        input::ReadError::Io(e) => Error::other(format!("cannot read the template: {e}")),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn only_the_exact_reference_form_is_special() {
        let got =
            pieces("a {{ vaults \"db/pw\" }} b {{vaults 'x'}}{{ other }} {{ vaults \"q\\\"\" }}")
                .unwrap();
        assert_eq!(
            got,
            [
                Piece::Text("a "),
                Piece::Reference("db/pw".into()),
                Piece::Text(" b "),
                Piece::Reference("x".into()),
                Piece::Text("{{"),
                Piece::Text(" other }} "),
                Piece::Reference("q\"".into()),
                Piece::Text(""),
            ]
        );
        assert_eq!(
            pieces("{{ vaultsx \"a\" }}").unwrap(),
            [Piece::Text("{{"), Piece::Text(" vaultsx \"a\" }}")]
        );
    }
}
