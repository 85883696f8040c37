//! `set`, `get`, `rm`, `ls`: the entries themselves.

use std::io::IsTerminal;
use std::time::Duration;

use serde_json::json;
use vaults::{Expiry, Store, Ttl};
use zeroize::Zeroizing;

use crate::context::Context;
use crate::error::{Error, Result};
use crate::input::{self, ReadError};
use crate::names;
use crate::output::{emit, emit_secret, expiry_text};
use crate::passphrase;
use crate::values::{self, Bytes, Shown};

/// Reads the value for `set`: all of stdin when piped (one trailing newline
/// dropped), else a no-echo prompt. Stdin is read up to the library's value
/// limit (and the newline), never further: endless input is refused.
fn read_value(ctx: &Context, key: &str, multiline: bool) -> Result<Zeroizing<Vec<u8>>> {
    if std::io::stdin().is_terminal() && multiline {
        if ctx.no_input {
            return Err(Error::usage(
                "no value given: pipe it on stdin (VAULTS_NO_INPUT or --no-input forbids asking)",
            ));
        }
        return crate::multiline::read(&format!("Value for {key:?}"), vaults::MAX_VALUE_LEN);
    }
    if std::io::stdin().is_terminal() {
        let text = passphrase::prompt(
            ctx,
            &format!("Value for {key:?}: "),
            passphrase::Asked::Value,
        )?;
        return Ok(Zeroizing::new(text.as_bytes().to_vec()));
    }
    let cap = vaults::MAX_VALUE_LEN.saturating_add(2);
    let mut data = match input::read_capped(&mut std::io::stdin().lock(), cap) {
        Ok(data) => data,
        Err(ReadError::TooLarge) => {
            return Err(Error::other(format!(
                "the value on stdin is larger than the {} limit",
                input::human_size(vaults::MAX_VALUE_LEN)
            )));
        }
        Err(ReadError::OutOfMemory) => {
            return Err(Error::other("cannot read stdin: out of memory"));
        }
        Err(ReadError::Io(e)) => return Err(Error::other(format!("cannot read stdin: {e}"))),
    };
    if data.ends_with(b"\n") {
        data.pop();
        if data.ends_with(b"\r") {
            data.pop();
        }
    }
    Ok(data)
}

pub fn set<S: Store>(
    ctx: &Context,
    s: &S,
    key: &str,
    ttl: Option<Duration>,
    keep_ttl: bool,
    json_input: bool,
    multiline: bool,
) -> Result<()> {
    let data = read_value(ctx, key, multiline)?;
    if json_input {
        let value: serde_json::Value = serde_json::from_slice(&data).map_err(|e| {
            Error::usage(format!(
                "stdin is not JSON: error at line {} column {}",
                e.line(),
                e.column()
            ))
        })?;
        return put_value(s, key, &value, ttl, keep_ttl);
    }
    match std::str::from_utf8(&data) {
        Ok(text) => put_value(s, key, text, ttl, keep_ttl),
        Err(_) => put_value(s, key, &Bytes(&data), ttl, keep_ttl),
    }
}

fn put_value<S: Store, T: serde::Serialize + ?Sized>(
    s: &S,
    key: &str,
    value: &T,
    ttl: Option<Duration>,
    keep_ttl: bool,
) -> Result<()> {
    match (ttl, keep_ttl) {
        (Some(t), _) => s.put_with_ttl(key, value, t)?,
        (None, true) => s.put_with(key, value, Expiry::Keep)?,
        (None, false) => s.put(key, value)?,
    }
    Ok(())
}

/// Where `get` puts the value.
pub enum GetTo {
    /// Stdout, with a newline unless `no_newline`.
    Stdout { no_newline: bool },
    /// The clipboard, cleared after this long (zero: not cleared).
    Clipboard(Duration),
}

/// Copies a value's bytes (as `get` prints them, without a newline) to the
/// clipboard, and says so on stderr.
pub fn to_clipboard(what: &str, value: &[u8], clear_after: Duration) -> Result<()> {
    crate::clipboard::copy(value, clear_after)?;
    let clears = match clear_after.is_zero() {
        true => "it is not cleared".to_owned(),
        false => format!("clears in {}", humantime::format_duration(clear_after)),
    };
    crate::output::notice(&format!("Copied {what} to the clipboard; {clears}."));
    Ok(())
}

/// A stored value as `get` prints it: text, raw bytes, or compact JSON.
fn decoded(stored: &[u8]) -> Zeroizing<Vec<u8>> {
    match values::show(stored).0 {
        Shown::Text(t) => Zeroizing::new(t.into_bytes()),
        Shown::Bytes(b) => Zeroizing::new(b),
        Shown::Json(j) => {
            let out = values::to_json_bytes(&j);
            values::wipe_json(j);
            out
        }
    }
}

pub fn get<S: Store>(ctx: &Context, s: &S, key: &str, to: GetTo) -> Result<()> {
    let stored = s.get_bytes(key)?.ok_or_else(|| Error::no_entry(key))?;
    let no_newline = match to {
        GetTo::Stdout { no_newline } => no_newline,
        GetTo::Clipboard(clear_after) => {
            let bytes = match values::string_payload(&stored) {
                Some(payload) => Zeroizing::new(payload.to_vec()),
                None => decoded(&stored),
            };
            return to_clipboard(&format!("{key:?}"), &bytes, clear_after);
        }
    };
    if ctx.json {
        let ttl = s.ttl(key)?.unwrap_or(Ttl::Never);
        let (value, encoding) = values::to_json_field(&stored);
        let doc = json!({"name": key, "encoding": encoding, "expires_at": expiry_text(ttl)});
        let out = values::json_with_value(doc, value);
        emit_secret(&out)?;
        return emit_secret(b"\n");
    }
    // A text or byte string (most secrets) is written from the buffer the
    // library opened it into, which is wiped on drop: no decoded copy.
    if let Some(payload) = values::string_payload(&stored) {
        emit_secret(payload)?;
    } else {
        emit_secret(&decoded(&stored))?;
    }
    match no_newline {
        true => Ok(()),
        false => emit_secret(b"\n"),
    }
}

pub fn rm<S: Store>(s: &S, keys: &[String]) -> Result<()> {
    let mut missing = Vec::new();
    for key in keys {
        if !s.remove(key)? {
            missing.push(format!("{key:?}"));
        }
    }
    match missing.is_empty() {
        true => Ok(()),
        false => Err(Error::not_found(format!(
            "no entry named {}",
            missing.join(", ")
        ))),
    }
}

/// A pattern of `ls`: a glob when it holds `*`, `?` or `[`, else a prefix.
enum Pattern {
    Prefix(String),
    Glob(glob::Pattern),
}

impl Pattern {
    fn new(text: &str) -> Result<Pattern> {
        if !text.contains(['*', '?', '[']) {
            return Ok(Pattern::Prefix(text.to_owned()));
        }
        glob::Pattern::new(text)
            .map(Pattern::Glob)
            .map_err(|e| Error::usage(format!("the pattern {text:?} is not a glob: {}", e.msg)))
    }

    /// `*` and `?` do not cross a `/`; `**` does.
    fn matches(&self, name: &str) -> bool {
        let options = glob::MatchOptions {
            case_sensitive: true,
            require_literal_separator: true,
            require_literal_leading_dot: false,
        };
        match self {
            Pattern::Prefix(p) => name.starts_with(p.as_str()),
            Pattern::Glob(g) => g.matches_with(name, options),
        }
    }
}

pub fn ls<S: Store>(
    ctx: &Context,
    s: &S,
    patterns: &[String],
    long: bool,
    tree: bool,
) -> Result<()> {
    let patterns = patterns
        .iter()
        .map(|p| Pattern::new(p))
        .collect::<Result<Vec<_>>>()?;
    let names: Vec<String> = s
        .keys()?
        .into_iter()
        .filter(|n| patterns.is_empty() || patterns.iter().any(|p| p.matches(n)))
        .collect();
    if tree && !ctx.json {
        return emit(crate::tree::render(&names).as_bytes());
    }
    let mut rows = Vec::with_capacity(names.len());
    for name in names {
        let expiry = match long || ctx.json {
            true => s.ttl(&name)?.and_then(expiry_text),
            false => None,
        };
        rows.push((name, expiry));
    }
    let mut out = String::new();
    if ctx.json {
        let list: Vec<_> = rows
            .iter()
            .map(|(n, e)| match long {
                true => json!({"name": n, "expires_at": e}),
                false => json!(n),
            })
            .collect();
        out = format!("{}\n", serde_json::Value::Array(list));
    } else {
        let rows: Vec<_> = rows.iter().map(|(n, e)| (names::shown(n), e)).collect();
        let width = rows
            .iter()
            .map(|(n, _)| n.chars().count())
            .max()
            .unwrap_or(0);
        for (name, expiry) in &rows {
            if long {
                out.push_str(&format!(
                    "{name:width$}  {}\n",
                    expiry.as_deref().unwrap_or("never")
                ));
            } else {
                out.push_str(name);
                out.push('\n');
            }
        }
    }
    emit(out.as_bytes())
}
