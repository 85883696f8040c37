//! Where a vault on a server is: a `postgres://` URL with a `vault=NAME`
//! parameter, parsed into the driver's settings and ours.
//!
//! The URL is the driver's (`postgres://user[:password]@host[:port]/db`,
//! with its parameters such as `sslmode` and `connect_timeout`) plus ours,
//! taken out before the driver sees it:
//!
//! - `vault=NAME` (required): which vault of the database;
//! - `sslrootcert=FILE`: PEM certificates to trust for the server, beside
//!   the Mozilla roots;
//! - `pool=N` (1 to 64, default 4): how many connections one handle keeps.
//!
//! Unless the URL sets `sslmode`, TLS is required for a server on another
//! machine (the driver's default, `prefer`, can be downgraded by whoever is
//! on the path) and off for one on this machine (loopback or a Unix
//! socket).
//!
//! A password is taken from the URL or, when the URL has none, from the
//! `PGPASSWORD` variable (so it need not be on a command line). The URL is
//! shown only with its password removed.

use std::path::PathBuf;
use std::time::Duration;

use crate::{Error, Result};

/// How long a connection attempt waits when the URL sets no
/// `connect_timeout`.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections one handle keeps when the URL sets no `pool`.
const POOL_DEFAULT: usize = 4;

/// The most connections one handle may keep.
const POOL_MAX: usize = 64;

/// The longest vault name on a server, in bytes.
const MAX_VAULT_NAME: usize = 200;

/// A vault on a server, as its URL names it.
#[derive(Clone)]
pub(crate) struct Target {
    /// The driver's settings (host, user, password, database, TLS mode).
    pub(crate) config: postgres::Config,
    /// The vault's name within the database.
    pub(crate) vault: String,
    /// Extra certificates to trust (PEM file), from `sslrootcert`.
    pub(crate) root_cert: Option<PathBuf>,
    /// How many connections a handle keeps.
    pub(crate) pool: usize,
    /// The URL without its password, for messages.
    pub(crate) shown: String,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}

/// Parses a server URL.
///
/// # Errors
/// [`Error::InvalidUrl`] naming what is wrong (never quoting the password).
pub(crate) fn parse(url: &str) -> Result<Target> {
    let invalid = |reason: String| Error::InvalidUrl { reason };
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, q),
        None => (url, ""),
    };
    let mut vault = None;
    let mut root_cert = None;
    let mut pool = POOL_DEFAULT;
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let v =
            decode(v).ok_or_else(|| invalid(format!("the value of `{k}` is not valid UTF-8")))?;
        match k {
            "vault" => vault = Some(v),
            "sslrootcert" => root_cert = Some(PathBuf::from(v)),
            "pool" => {
                pool = v
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=POOL_MAX).contains(n))
                    .ok_or_else(|| invalid(format!("`pool` must be 1 to {POOL_MAX}")))?;
            }
            "password" => {
                return Err(invalid(
                    "put the password in the URL's user part or in PGPASSWORD".into(),
                ));
            }
            _ => kept.push(pair),
        }
    }
    let vault = vault.ok_or_else(|| invalid("it has no `vault=NAME` parameter".into()))?;
    check_vault_name(&vault).map_err(invalid)?;
    let driver_url = match kept.is_empty() {
        true => base.to_owned(),
        false => format!("{base}?{}", kept.join("&")),
    };
    let mut config: postgres::Config = driver_url
        .parse()
        .map_err(|e: postgres::Error| invalid(without_secrets(&e.to_string())))?;
    let has = |k: &str| kept.iter().any(|p| p.starts_with(k));
    if !has("connect_timeout=") {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    // A server that vanished without closing the connection (a network
    // fault, a power cut) is noticed within about a minute, not TCP's two
    // hours: the operation waiting on it fails as `Unavailable`.
    if !has("keepalives_idle=") {
        config.keepalives_idle(Duration::from_secs(30));
    }
    if !has("keepalives_interval=") {
        config.keepalives_interval(Duration::from_secs(10));
    }
    if !has("keepalives_retries=") {
        config.keepalives_retries(3);
    }
    if !has("tcp_user_timeout=") {
        config.tcp_user_timeout(Duration::from_secs(60));
    }
    if config.get_password().is_none()
        && let Some(pw) = std::env::var_os("PGPASSWORD")
    {
        config.password(pw.as_encoded_bytes());
    }
    if config.get_hosts().is_empty() {
        return Err(invalid("it names no host".into()));
    }
    if !kept.iter().any(|p| p.starts_with("sslmode=")) {
        // The driver's default, `prefer`, falls back to plaintext when the
        // other end declines TLS, which a network attacker can do; and on
        // this machine, where nobody sits between, it would only trip on
        // the self-signed certificates local servers come with.
        config.ssl_mode(match all_local(config.get_hosts()) {
            true => postgres::config::SslMode::Disable,
            false => postgres::config::SslMode::Require,
        });
    }
    if !has("application_name=") {
        config.application_name("vaults");
    }
    Ok(Target {
        config,
        vault,
        root_cert,
        pool,
        shown: shown(base, query),
    })
}

/// Whether every host is this machine (loopback or a Unix socket), where
/// no network attacker sits between: there TLS is off, elsewhere it is
/// required, unless the URL sets `sslmode`.
fn all_local(hosts: &[postgres::config::Host]) -> bool {
    use postgres::config::Host;
    hosts.iter().all(|h| match h {
        Host::Tcp(name) => {
            name == "localhost"
                || name
                    .trim_matches(['[', ']'])
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }
        #[cfg(unix)]
        Host::Unix(_) => true,
    })
}

/// A vault name: 1 to 200 bytes, no control characters.
fn check_vault_name(name: &str) -> std::result::Result<(), String> {
    if name.is_empty() || name.len() > MAX_VAULT_NAME || name.chars().any(char::is_control) {
        return Err(format!(
            "the vault name must be 1 to {MAX_VAULT_NAME} bytes with no control characters"
        ));
    }
    Ok(())
}

/// Percent-decodes a query value (`+` stays `+`).
fn decode(v: &str) -> Option<String> {
    let bytes = v.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes.get(i).copied()?;
        if b == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The URL with any password in its user part replaced by `***`.
fn shown(base: &str, query: &str) -> String {
    let (scheme, rest) = base.split_once("://").unwrap_or(("postgres", base));
    let rest = match rest.rsplit_once('@') {
        Some((user, host)) => match user.split_once(':') {
            Some((name, _)) => format!("{name}:***@{host}"),
            None => format!("{user}@{host}"),
        },
        None => rest.to_owned(),
    };
    match query.is_empty() {
        true => format!("{scheme}://{rest}"),
        false => format!("{scheme}://{rest}?{query}"),
    }
}

/// The driver's parse errors quote option values, never the password
/// (which it reads unparsed); this is a second guard.
fn without_secrets(message: &str) -> String {
    match message.contains("password") {
        true => "the URL could not be parsed".into(),
        false => format!("the URL could not be parsed: {message}"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use std::path::Path;

    use super::*;

    #[test]
    fn the_vault_and_our_parameters_are_taken_out() {
        let t = parse("postgres://app:s3cret@db.internal:6543/secrets?vault=web%2Fprod&pool=8&sslmode=disable")
            .unwrap();
        assert_eq!(t.vault, "web/prod");
        assert_eq!(t.pool, 8);
        assert_eq!(t.config.get_dbname(), Some("secrets"));
        assert_eq!(t.config.get_ports(), &[6543]);
        assert_eq!(t.config.get_password(), Some(&b"s3cret"[..]));
        assert_eq!(t.config.get_ssl_mode(), postgres::config::SslMode::Disable);
        assert!(!t.shown.contains("s3cret"), "{}", t.shown);
        assert!(!format!("{t:?}").contains("s3cret"));
        assert!(
            t.shown
                .starts_with("postgres://app:***@db.internal:6543/secrets?")
        );
    }

    #[test]
    fn bad_urls_are_typed_errors_without_the_password() {
        for url in [
            "postgres://u:pw1@h/db",
            "postgres://u:pw1@h/db?vault=",
            "postgres://u:pw1@h/db?vault=a&pool=0",
            "postgres://u:pw1@h/db?vault=a&pool=x",
            "postgres://u:pw1@h/db?vault=a&nosuch=1",
            "postgres://u:pw1@h/db?vault=a&password=pw1",
            "postgres://u:pw1@h/db?vault=%ff",
            "postgres://u:pw1@h/db?vault=a%0Ab",
            "postgres://u:pw1@h:notaport/db?vault=a",
        ] {
            match parse(url) {
                Err(e @ Error::InvalidUrl { .. }) => {
                    assert!(!e.to_string().contains("pw1"), "{e}");
                }
                other => panic!("{url}: {other:?}"),
            }
        }
    }

    #[test]
    fn tls_is_required_off_this_machine_unless_the_url_says() {
        use postgres::config::SslMode;
        let mode = |url: &str| parse(url).unwrap().config.get_ssl_mode();
        assert_eq!(mode("postgres://u@db.example/d?vault=a"), SslMode::Require);
        assert_eq!(mode("postgres://u@10.0.0.5/d?vault=a"), SslMode::Require);
        assert_eq!(mode("postgres://u@127.0.0.1/d?vault=a"), SslMode::Disable);
        assert_eq!(mode("postgres://u@localhost/d?vault=a"), SslMode::Disable);
        assert_eq!(mode("postgres://u@[::1]/d?vault=a"), SslMode::Disable);
        assert_eq!(
            mode("postgres://u@localhost/d?vault=a&sslmode=require"),
            SslMode::Require
        );
        assert_eq!(
            mode("postgres://u@db.example/d?vault=a&sslmode=disable"),
            SslMode::Disable
        );
    }

    #[test]
    fn urls_are_told_from_paths() {
        use crate::engine::is_server_url;
        assert!(is_server_url(Path::new("postgres://h/db?vault=a")));
        assert!(is_server_url(Path::new("postgresql://h/db?vault=a")));
        assert!(!is_server_url(Path::new("./postgres://h")));
        assert!(!is_server_url(Path::new("/tmp/postgres.db")));
    }
}
