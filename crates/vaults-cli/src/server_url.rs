//! A vault on a PostgreSQL server, as `--url` / `$VAULTS_URL` names it:
//! the URL the library opens (its `vault=` parameter filled in from
//! `--vault` when missing), the form shown to the user (no password), and
//! the key a plain vault on it is recorded under.
//!
//! The URL may hold the server's password: it is kept only to be handed to
//! the library, and never printed, logged or put in an error.

use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// A vault on a server: the URL to open, and what may be shown of it.
pub struct ServerUrl {
    /// What the library opens (may hold the password).
    url: Zeroizing<String>,
    /// The URL without its password.
    pub shown: String,
    /// The vault's name on the server.
    pub vault: String,
    /// Whether the URL itself holds a password.
    pub has_password: bool,
}

/// How `--vault` relates to a URL's `vault=` parameter.
pub enum VaultFlag<'a> {
    /// `--vault NAME` on the command line: it names the vault, replacing
    /// the URL's `vault=` when the URL came from `$VAULTS_URL` (the command
    /// line wins), and must agree with it when both are on the command line.
    CommandLine { name: &'a str, url_too: bool },
    /// `$VAULTS_VAULT`, or the default: used when the URL has no `vault=`.
    Fallback(&'a str),
}

impl ServerUrl {
    /// Checks `url` and settles which vault of the server it names.
    ///
    /// # Errors
    /// A usage error when it is not a `postgres://` URL, or names a vault
    /// other than the one `--vault` names on the same command line.
    pub fn resolve(url: &str, flag: VaultFlag<'_>) -> Result<ServerUrl> {
        if !vaults::is_vault_url(url) {
            // Not quoted: whatever it is, it may hold a password.
            return Err(Error::usage(
                "--url (or VAULTS_URL) must start with postgres:// or postgresql:// \
                 (postgres://USER@HOST/DB?vault=NAME)",
            ));
        }
        let (base, query) = match url.split_once('?') {
            Some((b, q)) => (b, q),
            None => (url, ""),
        };
        let mut others = Vec::new();
        let mut in_url = None;
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.strip_prefix("vault=") {
                Some(v) => in_url = Some(decode(v).unwrap_or_else(|| v.to_owned())),
                None => others.push(pair),
            }
        }
        let vault = match (flag, in_url) {
            (
                VaultFlag::CommandLine {
                    name,
                    url_too: true,
                },
                Some(v),
            ) if v != name => {
                return Err(Error::usage(format!(
                    "--vault {name:?} and the vault={v:?} of --url name two vaults: give one"
                )));
            }
            (VaultFlag::CommandLine { name, .. }, _) => name.to_owned(),
            (VaultFlag::Fallback(_), Some(v)) => v,
            (VaultFlag::Fallback(name), None) => name.to_owned(),
        };
        others.push("");
        let query = format!("{}vault={}", others.join("&"), encode(&vault));
        let url = Zeroizing::new(format!("{base}?{query}"));
        let shown = vaults::redact_url(&url);
        Ok(ServerUrl {
            has_password: shown != *url,
            shown,
            vault,
            url,
        })
    }

    /// What the library opens: the URL itself.
    pub fn location(&self) -> std::path::PathBuf {
        std::path::PathBuf::from(self.url.as_str())
    }

    /// The key a plain vault here is recorded under: the server, the
    /// database and the vault, without the user, the password or other
    /// parameters (which may change from one run to the next).
    pub fn record_key(&self) -> String {
        let base = self.shown.split_once('?').map_or(&*self.shown, |(b, _)| b);
        let (_, rest) = base.split_once("://").unwrap_or(("", base));
        let server = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
        format!("postgres://{server}?vault={}", encode(&self.vault))
    }
}

/// Percent-encodes a query value: all but unreserved characters.
fn encode(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(char::from(b));
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Percent-decodes a query value, as the library reads it (`+` stays `+`).
fn decode(v: &str) -> Option<String> {
    let bytes = v.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    fn fallback(url: &str) -> ServerUrl {
        ServerUrl::resolve(url, VaultFlag::Fallback("default")).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn the_vault_comes_from_the_url_or_the_flag() {
        let u = fallback("postgres://app:pw1@db:5432/s?sslmode=disable&vault=web%2Fprod");
        assert_eq!(u.vault, "web/prod");
        assert!(u.has_password);
        assert_eq!(
            u.shown,
            "postgres://app:***@db:5432/s?sslmode=disable&vault=web%2Fprod"
        );
        assert_eq!(u.record_key(), "postgres://db:5432/s?vault=web%2Fprod");
        let u = fallback("postgresql://app@db/s");
        assert_eq!(u.vault, "default");
        assert!(!u.has_password);
        assert_eq!(u.shown, "postgresql://app@db/s?vault=default");
        let cli = |url_too| VaultFlag::CommandLine {
            name: "cache",
            url_too,
        };
        let u = ServerUrl::resolve("postgres://db/s?vault=web", cli(false)).unwrap();
        assert_eq!(u.vault, "cache");
        assert_eq!(u.shown, "postgres://db/s?vault=cache");
        assert!(ServerUrl::resolve("postgres://db/s?vault=web", cli(true)).is_err());
        assert!(ServerUrl::resolve("postgres://db/s?vault=cache", cli(true)).is_ok());
    }

    #[test]
    fn a_bad_url_is_a_usage_error_that_does_not_quote_it() {
        let Err(e) = ServerUrl::resolve("mysql://u:pw1@h/db", VaultFlag::Fallback("x")) else {
            panic!("accepted")
        };
        assert_eq!(e.exit_code(), crate::error::USAGE);
        assert!(!e.to_string().contains("pw1"));
    }
}
