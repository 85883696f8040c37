//! `.env` files: `KEY=VALUE` lines, as `vaults import --format env` reads them.

use crate::error::{Error, Result};
use crate::names;
use crate::transfer::Item;
use crate::values::Stored;

/// Parses a `.env` file: `KEY=VALUE` lines, `#` comments, an optional
/// `export ` prefix, values bare, 'single-quoted' (literal) or
/// "double-quoted" (with the escapes `vaults ls` writes names with:
/// `\n \t \r \0 \" \' \\ \u{...}`; any other is refused).
pub fn parse_env(data: &[u8]) -> Result<Vec<Item>> {
    let text = std::str::from_utf8(data).map_err(|_| Error::other("the .env file is not UTF-8"))?;
    let mut items = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let bad = |why: &str| Error::other(format!("line {} of the .env file: {why}", n + 1));
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").map_or(line, str::trim_start);
        let (key, raw) = line.split_once('=').ok_or_else(|| bad("no `=`"))?;
        let key = key.trim();
        if key.is_empty() || key.contains(char::is_whitespace) {
            return Err(bad("the name is empty or has spaces"));
        }
        let raw = raw.trim();
        let value = if let Some(rest) = raw.strip_prefix('"') {
            // What follows the closing quote is ignored, as before.
            let (value, _) = names::unescape_quoted(rest)
                .map_err(|e| bad(&format!("a double-quoted value with {e}")))?;
            value
        } else if let Some(rest) = raw.strip_prefix('\'') {
            let end = rest
                .find('\'')
                .ok_or_else(|| bad("unterminated single quote"))?;
            rest.get(..end).unwrap_or_default().to_owned()
        } else {
            // A bare value ends at an inline comment.
            let end = raw.find(" #").unwrap_or(raw.len());
            raw.get(..end).unwrap_or_default().trim_end().to_owned()
        };
        items.push(Item {
            name: key.to_owned(),
            value: Stored::Text(value),
            expires_at: None,
        });
    }
    Ok(items)
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

    #[test]
    fn env_files_parse() {
        let items = parse_env(
            b"# comment\nA=1\nexport B = two words # note\nC='lit $x \\n'\nD=\"a\\nb \\\"q\\\"\"\n\nE=\n",
        )
        .unwrap();
        let got: Vec<_> = items.iter().map(|i| (i.name.as_str(), text(i))).collect();
        assert_eq!(
            got,
            [
                ("A", "1"),
                ("B", "two words"),
                ("C", "lit $x \\n"),
                ("D", "a\nb \"q\""),
                ("E", "")
            ]
        );
    }

    #[test]
    fn env_errors_name_the_line_not_the_value() {
        let err = parse_env(b"A=1\nSECRETVALUE\n").err().unwrap();
        assert!(err.to_string().contains("line 2"), "{}", err.to_string());
        assert!(!err.to_string().contains("SECRETVALUE"));
        assert!(parse_env(b"A=\"open").is_err());
    }

    /// `.env` double quotes use the one unescaper of `vaults ls` names, and
    /// its errors name the line and what is wrong, never the value.
    #[test]
    fn env_double_quotes_take_name_escapes_and_refuse_others() {
        let items = parse_env(b"A=\"\\u{41}\\0\\\\\\'\" # note\n").unwrap();
        assert_eq!(text(&items[0]), "A\0\\'");
        // Regression: `\$` in a sourced `.env` file was refused by the shared
        // unescaper; it was imported as `$` before, and is again.
        let items = parse_env(b"P=\"pa\\$s \\`x\\`\"\n").unwrap();
        assert_eq!(text(&items[0]), "pa$s `x`");
        for (data, why) in [
            (&b"A=\"SECRET\\u{41\"\n"[..], "unterminated \\u{...} escape"),
            (b"A=\"SECRET\\q\"\n", "unknown escape"),
            (b"A=\"SECRET\\\"\n", "no closing quote"),
        ] {
            let err = parse_env(data).err().unwrap();
            assert!(err.to_string().contains("line 1"), "{}", err.to_string());
            assert!(err.to_string().contains(why), "{}", err.to_string());
            assert!(!err.to_string().contains("SECRET"), "{}", err.to_string());
        }
    }
}
