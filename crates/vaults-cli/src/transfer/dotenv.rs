//! `.env` files, as `vaults import --format env` reads them, parsed by
//! `dotenvy`: `KEY=VALUE` lines, `#` comments, an `export ` prefix, values
//! bare, 'single-quoted' (literal, may span lines) or "double-quoted"
//! (escapes `\n \" \' \\ \$`, may span lines: PEM keys).
//!
//! Two things differ from loading a `.env` into a program. A `$NAME`
//! reference would be filled in from this process's environment (which may
//! hold `VAULTS_PASSPHRASE`) or from earlier lines: a file that uses one is
//! refused, never imported with the reference filled in. And a name given
//! twice keeps its last value, as a shell sourcing the file would.

use std::collections::HashMap;

use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::output;
use crate::transfer::Item;
use crate::values::Stored;

/// Stands for `$` while the file is parsed a second time with no `$`
/// (a noncharacter: never in a text file that means anything).
const DOLLAR: char = '\u{FDD0}';

/// Parses a `.env` file. Errors name the entry and column, never a value
/// (dotenvy's own errors quote the whole line).
pub fn parse_env(data: &[u8]) -> Result<Vec<Item>> {
    let text = std::str::from_utf8(data).map_err(|_| Error::other("the .env file is not UTF-8"))?;
    if text.contains(DOLLAR) {
        return Err(Error::other(
            "the .env file holds the character U+FDD0, which it may not",
        ));
    }
    let parsed = parse(text)?;
    // The same file with every `$` (escaped or not) made inert: where a
    // value differs, dotenvy filled in a reference.
    let inert = Zeroizing::new(text.replace("\\$", "$").replace('$', &DOLLAR.to_string()));
    let literal = parse(&inert)?;
    let mut items: Vec<Item> = Vec::with_capacity(parsed.len());
    let mut index: HashMap<String, usize> = HashMap::new();
    for (n, ((name, value), (_, inert_value))) in parsed.into_iter().zip(literal).enumerate() {
        if *inert_value.replace(DOLLAR, "$") != *value {
            return Err(Error::other(format!(
                "entry {} of the .env file ({name}) refers to a variable with `$`: vaults \
                 imports values as written and fills in nothing; single-quote the value, or \
                 write \\$ for a literal `$`",
                n + 1
            )));
        }
        let item = Item {
            name: name.clone(),
            value: Stored::Text(String::from(value.as_str())),
            expires_at: None,
        };
        match index.get(&name) {
            Some(&at) => {
                output::notice(&format!(
                    "vaults: {name} is given more than once in the .env file; the last value is kept"
                ));
                if let Some(slot) = items.get_mut(at) {
                    *slot = item;
                }
            }
            None => {
                index.insert(name, items.len());
                items.push(item);
            }
        }
    }
    Ok(items)
}

/// dotenvy's reading of `text`: names and values, in file order.
fn parse(text: &str) -> Result<Vec<(String, Zeroizing<String>)>> {
    let mut out = Vec::new();
    for (n, entry) in dotenvy::from_read_iter(text.as_bytes()).enumerate() {
        match entry {
            Ok((name, value)) => out.push((name, Zeroizing::new(value))),
            Err(dotenvy::Error::LineParse(_, column)) => {
                return Err(Error::other(format!(
                    "the .env file cannot be read after entry {n}: a line does not parse \
                     (at its character {}; a bare value with a space must be quoted)",
                    column + 1
                )));
            }
            Err(dotenvy::Error::Io(e)) => {
                return Err(Error::other(format!("cannot read the .env file: {e}")));
            }
            Err(_) => {
                return Err(Error::other(format!(
                    "the .env file cannot be read after entry {n}"
                )));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    fn text(item: &Item) -> &str {
        match &item.value {
            Stored::Text(s) => s,
            _ => panic!("not text"),
        }
    }

    fn pairs(items: &[Item]) -> Vec<(&str, &str)> {
        items.iter().map(|i| (i.name.as_str(), text(i))).collect()
    }

    #[test]
    fn env_files_parse() {
        let items = parse_env(
            b"# comment\nA=1\nexport B='two words' # note\nC='lit $x \\n'\nD=\"a\\nb \\\"q\\\" \\$5\"\n\nE=\n",
        )
        .unwrap();
        assert_eq!(
            pairs(&items),
            [
                ("A", "1"),
                ("B", "two words"),
                ("C", "lit $x \\n"),
                ("D", "a\nb \"q\" $5"),
                ("E", "")
            ]
        );
    }

    #[test]
    fn multi_line_values_parse() {
        let pem = "-----BEGIN KEY-----\nMIIB\n-----END KEY-----";
        let data = format!("K=\"{pem}\"\nS='{pem}'\nN=after\n");
        let items = parse_env(data.as_bytes()).unwrap();
        assert_eq!(pairs(&items), [("K", pem), ("S", pem), ("N", "after")]);
    }

    #[test]
    fn a_repeated_name_keeps_its_last_value() {
        let items = parse_env(b"A=1\nB=2\nA=3\n").unwrap();
        assert_eq!(pairs(&items), [("A", "3"), ("B", "2")]);
    }

    #[test]
    fn references_are_refused_not_filled_in() {
        for data in [&b"A=$HOME\n"[..], b"A=\"x${PATH}\"\n", b"A=1\nB=$A\n"] {
            let err = parse_env(data).err().unwrap().to_string();
            assert!(err.contains("refers to a variable"), "{err}");
        }
    }

    #[test]
    fn env_errors_never_show_the_value() {
        for data in [
            &b"A=1\nB=SECRET VALUE\n"[..],
            b"A=\"SECRET",
            b"A=\"SECRET\\q\"",
        ] {
            let err = parse_env(data).err().unwrap().to_string();
            assert!(!err.contains("SECRET"), "{err}");
        }
    }
}
