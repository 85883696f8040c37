//! Entry names on a terminal: shown escaped when they could pass for
//! something else, and typed back in that same form (`--escaped`).

use std::borrow::Cow;

use crate::error::{CliError, CliResult};

/// A name as `ls` prints it: as it is, or, when it could pass for something
/// else, quoted and escaped as Rust writes a string (`"a\nb"`,
/// `"\u{202e}x"`). That is when it holds a control character or an invisible
/// formatting one (a newline, an escape code, NUL, a bidi override: such a
/// name could look like two entries, rewrite the terminal or read
/// backwards), other whitespace than a space, a backslash, or when it starts
/// with a quote or starts or ends with a space (so that the quoted form is
/// never ambiguous).
pub fn shown(name: &str) -> Cow<'_, str> {
    let odd = name.starts_with(['"', ' '])
        || name.ends_with(' ')
        || name.chars().any(|c| {
            c == '\\'
                || c.is_control()
                || (c.is_whitespace() && c != ' ')
                // Unicode format characters that change how the text around
                // them shows: bidi controls, zero-width ones, the BOM.
                || matches!(c, '\u{061c}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}'
                    | '\u{2060}'..='\u{2069}' | '\u{feff}')
        });
    match odd {
        true => format!("{name:?}").into(),
        false => name.into(),
    }
}

/// A name from the command line: as it is, or with `escaped`, in the form
/// [`shown`] prints (a quoted one is unescaped, a bare one taken as it is).
pub fn typed(arg: String, escaped: bool) -> CliResult<String> {
    if !escaped {
        return Ok(arg);
    }
    match arg.strip_prefix('"').and_then(|a| a.strip_suffix('"')) {
        Some(inner) if arg.len() >= 2 => unescape(inner).ok_or_else(|| {
            CliError::usage(format!(
                "{arg} is not an escaped name as `vaults ls` prints it \
                 (escapes: \\\\ \\\" \\' \\n \\r \\t \\0 \\u{{...}})"
            ))
        }),
        _ => Ok(arg),
    }
}

/// Undoes Rust's string escaping (`str`'s `Debug`).
fn unescape(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '"' {
            return None; // an unescaped quote inside
        }
        if c != '\\' {
            out.push(c);
            continue;
        }
        out.push(match chars.next()? {
            '\\' => '\\',
            '"' => '"',
            '\'' => '\'',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            '0' => '\0',
            'u' => {
                if chars.next()? != '{' {
                    return None;
                }
                let hex: String = chars.by_ref().take_while(|&c| c != '}').collect();
                char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?
            }
            _ => return None,
        });
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn odd_names_are_escaped_and_plain_ones_are_not() {
        for plain in ["api/token", "a b", "ключ", "🔑", "it's"] {
            assert_eq!(shown(plain), plain);
        }
        assert_eq!(shown("a\nb"), r#""a\nb""#);
        assert_eq!(shown("a\0b"), r#""a\0b""#);
        assert_eq!(shown("\x1b[2J"), r#""\u{1b}[2J""#);
        assert_eq!(shown("\u{202e}fdp.exe"), r#""\u{202e}fdp.exe""#);
        assert_eq!(shown("zero\u{200b}width"), r#""zero\u{200b}width""#);
        assert_eq!(shown("back\\slash"), r#""back\\slash""#);
        assert_eq!(shown("\"quoted\""), r#""\"quoted\"""#);
        assert_eq!(shown(" lead"), r#"" lead""#);
    }

    #[test]
    fn shown_names_type_back_to_themselves() {
        for name in [
            "a\nb",
            "a\0b",
            "\x1b[2J",
            "\u{202e}x",
            "back\\slash",
            "\"q\"",
            "it's",
            " lead",
            "\u{85}\u{7f}\t\r",
            "plain",
        ] {
            assert_eq!(typed(shown(name).into_owned(), true).unwrap(), name);
        }
        assert_eq!(typed("\"a\\0b\"".into(), false).unwrap(), "\"a\\0b\"");
        for bad in ["\"a\\q\"", "\"a\\u{zz}\"", "\"a\"b\"", "\"a\\\""] {
            assert!(typed(bad.into(), true).is_err(), "{bad}");
        }
    }
}
