//! `export` and `import`: our JSON document (plain, or encrypted for stock
//! `age`/`rage` with a passphrase) and `.env` files.

use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use vaults::{Store, Ttl};
use zeroize::Zeroizing;

use crate::error::{CliError, CliResult};
use crate::values::{self, Bytes, Encoding, Stored};

/// The `format` field of our export document.
const FORMAT: &str = "vaults-export";

/// Our export document.
#[derive(Serialize, Deserialize)]
pub struct Document {
    format: String,
    version: u32,
    entries: Vec<Entry>,
}

/// One entry of an export.
#[derive(Serialize, Deserialize)]
pub struct Entry {
    name: String,
    encoding: Encoding,
    value: Json,
    /// Unix milliseconds; absent or null for never.
    #[serde(default)]
    expires_at: Option<i64>,
}

/// An entry parsed from any import format.
pub struct Item {
    pub name: String,
    pub value: Stored,
    pub expires_at: Option<i64>,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Every live entry of `store`, read in one transaction, as a JSON document.
pub fn collect<S: Store>(store: &S) -> CliResult<Zeroizing<Vec<u8>>> {
    let entries = store.transaction(|tx| {
        let now = now_ms();
        let mut entries = Vec::new();
        for name in tx.keys()? {
            let (Some(stored), Some(ttl)) = (tx.get_bytes(&name)?, tx.ttl(&name)?) else {
                continue;
            };
            let (value, encoding) = values::to_json_field(&stored);
            let expires_at = match ttl {
                Ttl::Never => None,
                Ttl::Remaining(d) => {
                    Some(now.saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)))
                }
            };
            entries.push(Entry {
                name,
                encoding,
                value,
                expires_at,
            });
        }
        Ok(entries)
    })?;
    let doc = Document {
        format: FORMAT.into(),
        version: 1,
        entries,
    };
    let mut out = serde_json::to_vec_pretty(&doc).map_err(|e| CliError::failure(e.to_string()))?;
    out.push(b'\n');
    Ok(Zeroizing::new(out))
}

/// Encrypts `plain` for `age -d` with a passphrase, ASCII-armored.
pub fn age_encrypt(plain: &[u8], passphrase: &str, out: impl Write) -> CliResult<()> {
    let secret = age::secrecy::SecretString::from(passphrase.to_owned());
    let encryptor = age::Encryptor::with_user_passphrase(secret);
    let fail = |e: std::io::Error| CliError::failure(format!("cannot write the export: {e}"));
    let armored = age::armor::ArmoredWriter::wrap_output(out, age::armor::Format::AsciiArmor)
        .map_err(fail)?;
    let mut writer = encryptor.wrap_output(armored).map_err(fail)?;
    writer.write_all(plain).map_err(fail)?;
    writer
        .finish()
        .and_then(|armor| armor.finish())
        .map_err(fail)?;
    Ok(())
}

/// Decrypts an age file (armored or binary) encrypted with a passphrase.
pub fn age_decrypt(data: &[u8], passphrase: &str) -> CliResult<Zeroizing<Vec<u8>>> {
    let reader = age::armor::ArmoredReader::new(data);
    let decryptor = age::Decryptor::new_buffered(std::io::BufReader::new(reader))
        .map_err(|e| CliError::failure(format!("not an age file: {e}")))?;
    let identity =
        age::scrypt::Identity::new(age::secrecy::SecretString::from(passphrase.to_owned()));
    let mut stream = decryptor
        .decrypt(std::iter::once(&identity as &dyn age::Identity))
        .map_err(|e| match e {
            age::DecryptError::DecryptionFailed | age::DecryptError::NoMatchingKeys => {
                CliError::new(
                    crate::error::AUTH,
                    "wrong export passphrase, or the file was modified",
                )
            }
            other => CliError::failure(format!("cannot decrypt the export: {other}")),
        })?;
    let mut plain = Zeroizing::new(Vec::with_capacity(data.len()));
    stream.read_to_end(&mut plain).map_err(|e| {
        CliError::new(
            crate::error::AUTH,
            format!("the export fails its integrity check: {e}"),
        )
    })?;
    Ok(plain)
}

/// Whether `data` looks like an age file.
pub fn is_age(data: &[u8]) -> bool {
    data.starts_with(b"-----BEGIN AGE ENCRYPTED FILE-----")
        || data.starts_with(b"age-encryption.org/")
}

/// Whether `data` looks like a JSON document.
pub fn is_json(data: &[u8]) -> bool {
    data.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
}

/// Parses our export document.
pub fn parse_json(data: &[u8]) -> CliResult<Vec<Item>> {
    let doc: Document = serde_json::from_slice(data)
        .map_err(|e| CliError::failure(format!("not a vaults export: {}", e.classify_text())))?;
    if doc.format != FORMAT {
        return Err(CliError::failure(
            "not a vaults export (wrong `format` field)",
        ));
    }
    if doc.version != 1 {
        return Err(CliError::failure(format!(
            "export version {} is newer than this vaults reads (1)",
            doc.version
        )));
    }
    doc.entries
        .into_iter()
        .enumerate()
        .map(|(i, e)| {
            let value = values::from_json_field(&e.value, e.encoding).map_err(|why| {
                CliError::failure(format!("entry {} of the export: {why}", i + 1))
            })?;
            Ok(Item {
                name: e.name,
                value,
                expires_at: e.expires_at,
            })
        })
        .collect()
}

/// Explains a JSON error by its class and position only: the text around it
/// may be a secret.
trait Classify {
    fn classify_text(&self) -> String;
}

impl Classify for serde_json::Error {
    fn classify_text(&self) -> String {
        let what = match self.classify() {
            serde_json::error::Category::Io => "read error",
            serde_json::error::Category::Syntax => "syntax error",
            serde_json::error::Category::Data => "unexpected structure",
            serde_json::error::Category::Eof => "unexpected end",
        };
        format!("{what} at line {} column {}", self.line(), self.column())
    }
}

/// Parses a `.env` file: `KEY=VALUE` lines, `#` comments, an optional
/// `export ` prefix, values bare, 'single-quoted' (literal) or
/// "double-quoted" (with \n, \t, \r, \", \\ escapes).
pub fn parse_env(data: &[u8]) -> CliResult<Vec<Item>> {
    let text =
        std::str::from_utf8(data).map_err(|_| CliError::failure("the .env file is not UTF-8"))?;
    let mut items = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let bad = |why: &str| CliError::failure(format!("line {} of the .env file: {why}", n + 1));
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
            unescape_double(rest).ok_or_else(|| bad("unterminated double quote"))?
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

/// The content of a double-quoted value up to its closing quote.
fn unescape_double(rest: &str) -> Option<String> {
    let mut out = String::with_capacity(rest.len());
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(out),
            '\\' => out.push(match chars.next()? {
                'n' => '\n',
                't' => '\t',
                'r' => '\r',
                other => other,
            }),
            c => out.push(c),
        }
    }
    None
}

/// Stores `items` in one transaction, skipping those already expired;
/// returns (stored, skipped).
pub fn store<S: Store>(store: &S, items: &[Item], mut tick: impl FnMut()) -> CliResult<(u64, u64)> {
    let now = now_ms();
    let counts = store.transaction(|tx| {
        let (mut stored, mut skipped) = (0, 0);
        for item in items {
            tick();
            let ttl = match item.expires_at {
                None => None,
                Some(at) if at <= now => {
                    skipped += 1;
                    continue;
                }
                Some(at) => Some(Duration::from_millis(u64::try_from(at - now).unwrap_or(0))),
            };
            let name = item.name.as_str();
            match (&item.value, ttl) {
                (Stored::Text(s), None) => tx.put(name, s)?,
                (Stored::Text(s), Some(t)) => tx.put_with_ttl(name, s, t)?,
                (Stored::Bytes(b), None) => tx.put(name, &Bytes(b))?,
                (Stored::Bytes(b), Some(t)) => tx.put_with_ttl(name, &Bytes(b), t)?,
                (Stored::Json(j), None) => tx.put(name, j)?,
                (Stored::Json(j), Some(t)) => tx.put_with_ttl(name, j, t)?,
                (Stored::Raw(b), None) => tx.put_bytes(name, b)?,
                (Stored::Raw(b), Some(t)) => tx.put_bytes_with_ttl(name, b, t)?,
            }
            stored += 1;
        }
        Ok((stored, skipped))
    })?;
    Ok(counts)
}

/// Reads a whole file (or stdin for `-`) into a wiped-on-drop buffer.
pub fn read_input(path: &Path) -> CliResult<Zeroizing<Vec<u8>>> {
    let mut data = Zeroizing::new(Vec::new());
    let result = if path.as_os_str() == "-" {
        std::io::stdin().read_to_end(&mut data)
    } else {
        std::fs::File::open(path).and_then(|mut f| {
            let len = f.metadata().map(|m| m.len()).unwrap_or(0);
            data.reserve_exact(usize::try_from(len).unwrap_or(0));
            f.read_to_end(&mut data)
        })
    };
    result.map_err(|e| CliError::failure(format!("cannot read {}: {e}", path.display())))?;
    Ok(data)
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
        assert!(err.message.contains("line 2"), "{}", err.message);
        assert!(!err.message.contains("SECRETVALUE"));
        assert!(parse_env(b"A=\"open").is_err());
    }

    #[test]
    fn json_errors_do_not_quote_input() {
        let err = parse_json(b"{\"format\": \"vaults-export\", \"entries\": [hunter2]}")
            .err()
            .unwrap();
        assert!(!err.message.contains("hunter2"), "{}", err.message);
    }

    #[test]
    fn age_round_trip() {
        let mut sealed = Vec::new();
        age_encrypt(b"{\"x\":1}", "pw", &mut sealed).unwrap();
        assert!(is_age(&sealed));
        assert_eq!(&age_decrypt(&sealed, "pw").unwrap()[..], b"{\"x\":1}");
        assert_eq!(
            age_decrypt(&sealed, "nope").err().unwrap().code,
            crate::error::AUTH
        );
    }
}
