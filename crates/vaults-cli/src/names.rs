//! Entry names on a terminal: shown escaped when they could pass for
//! something else, and typed back in that same form (`--escaped`).

use std::borrow::Cow;

use crate::error::{Error, Result};

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
pub fn typed(arg: String, escaped: bool) -> Result<String> {
    let Some(inner) = arg.strip_prefix('"').filter(|_| escaped) else {
        return Ok(arg);
    };
    let why = match unescape_quoted(inner) {
        Ok((name, "")) => return Ok(name),
        Ok(_) => "text after the closing quote".to_owned(),
        Err(e) => e.to_string(),
    };
    Err(Error::usage(format!(
        "{arg} is not an escaped name as `vaults ls` prints it: {why} \
         (escapes: \\\\ \\\" \\' \\n \\r \\t \\0 \\u{{...}})"
    )))
}

/// Why quoted text does not unescape. The messages quote none of the text:
/// in a `.env` file it is a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Malformed {
    /// A backslash before a character that is not an escape.
    UnknownEscape,
    /// `\u{` without its closing `}` before the closing quote.
    UnterminatedUnicode,
    /// `\u{...}` that is not 1 to 6 hex digits naming a character.
    NotAChar,
    /// No closing quote.
    Unterminated,
}

impl std::fmt::Display for Malformed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Malformed::UnknownEscape => "an unknown escape",
            Malformed::UnterminatedUnicode => "an unterminated \\u{...} escape",
            Malformed::NotAChar => "a \\u{...} escape that names no character",
            Malformed::Unterminated => "no closing quote",
        })
    }
}

/// Undoes Rust's string escaping (`str`'s `Debug`: `\\ \" \' \n \r \t \0
/// \u{...}`) in `text`, which follows an opening quote, up to the first
/// unescaped `"`. Returns the unescaped text and what follows that quote.
pub fn unescape_quoted(text: &str) -> Result<(String, &str), Malformed> {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '"' => return Ok((out, text.get(at + 1..).unwrap_or_default())),
            '\\' => {}
            c => {
                out.push(c);
                continue;
            }
        }
        let (_, escape) = chars.next().ok_or(Malformed::Unterminated)?;
        out.push(match escape {
            '\\' => '\\',
            '"' => '"',
            '\'' => '\'',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            '0' => '\0',
            // Shell-style escapes of `.env` files written to be sourced
            // (`"pa\$s"`): what they were imported as before this parser.
            '$' => '$',
            '`' => '`',
            'u' => {
                if chars.next().map(|(_, c)| c) != Some('{') {
                    return Err(Malformed::NotAChar);
                }
                let mut hex = String::new();
                loop {
                    match chars.next() {
                        Some((_, '}')) => break,
                        Some((_, c)) if hex.len() < 6 && c.is_ascii_hexdigit() => hex.push(c),
                        // The closing quote, or the end: the escape runs on.
                        Some((_, '"')) | None => return Err(Malformed::UnterminatedUnicode),
                        Some(_) => return Err(Malformed::NotAChar),
                    }
                }
                u32::from_str_radix(&hex, 16)
                    .ok()
                    .and_then(char::from_u32)
                    .ok_or(Malformed::NotAChar)?
            }
            _ => return Err(Malformed::UnknownEscape),
        });
    }
    Err(Malformed::Unterminated)
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

    /// Names with every kind of character the escaper writes, and text
    /// that looks like escapes.
    const ODD: [&str; 14] = [
        "",
        "\0",
        "a\0b",
        "\u{1}\u{1b}[2J\u{1f}\u{7f}\u{85}",
        "\u{202e}fdp.exe\u{2066}\u{200b}\u{feff}\u{61c}",
        "\\",
        "\\u{41}",
        "\\\"",
        "\"",
        "'\"'",
        "\t\r\n\u{2028}",
        "ключ🔑",
        "}{",
        "\u{10ffff}",
    ];

    #[test]
    fn unescape_undoes_the_escaper() {
        for name in ODD {
            let quoted = format!("{name:?}");
            let inner = quoted.strip_prefix('"').unwrap();
            assert_eq!(
                unescape_quoted(inner),
                Ok((name.to_owned(), "")),
                "{quoted}"
            );
            assert_eq!(typed(shown(name).into_owned(), true).unwrap(), name);
        }
        assert_eq!(
            unescape_quoted("a\" # note"),
            Ok(("a".to_owned(), " # note"))
        );
    }

    /// Regression: `\u{41` at the end was read as `A`, its `take_while` running
    /// to the end of the text.
    #[test]
    fn malformed_escapes_are_refused() {
        use Malformed::*;
        for (text, why) in [
            ("\\u{41", UnterminatedUnicode),
            ("\\u{41\"", UnterminatedUnicode),
            ("\\u{\"", UnterminatedUnicode),
            ("\\u{}\"", NotAChar),
            ("\\u{zz}\"", NotAChar),
            ("\\u{110000}\"", NotAChar),
            ("\\u{d800}\"", NotAChar),
            ("\\u{0000041}\"", NotAChar),
            ("\\u41\"", NotAChar),
            ("\\q\"", UnknownEscape),
            ("\\x41\"", UnknownEscape),
            ("\\a\"", UnknownEscape),
            ("abc", Unterminated),
            ("abc\\\"", Unterminated),
            ("abc\\", Unterminated),
        ] {
            assert_eq!(unescape_quoted(text), Err(why), "{text}");
        }
        for bad in ["\"\\u{41\"", "\"\\u{41", "\"abc", "\"", "\"a\"b"] {
            let err = typed(bad.into(), true).unwrap_err();
            assert!(
                err.to_string().contains("not an escaped name"),
                "{bad}: {err}"
            );
        }
        let err = typed("\"a\"b".into(), true).unwrap_err();
        assert!(
            err.to_string().contains("text after the closing quote"),
            "{err}"
        );
        let err = typed("\"\\u{41".into(), true).unwrap_err();
        assert!(err.to_string().contains("unterminated \\u{...}"), "{err}");
    }
}
