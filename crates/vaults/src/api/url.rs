//! Vault URLs as programs above the library see them: telling one from a
//! path, and showing one without its password (for messages and logs).

use std::path::Path;

/// Whether `location` names a vault on a PostgreSQL server (it starts with
/// `postgres://` or `postgresql://`) rather than a file: the rule every
/// constructor that takes a path applies.
///
/// ```
/// assert!(vaults::is_vault_url("postgres://app@db.internal/secrets?vault=web"));
/// assert!(!vaults::is_vault_url("/var/lib/app/secrets.db"));
/// assert!(!vaults::is_vault_url("./postgres://not-a-url"));
/// ```
pub fn is_vault_url(location: impl AsRef<Path>) -> bool {
    crate::engine::is_server_url(location.as_ref())
}

/// `url` with any password replaced by `***`: the one in its user part
/// (`postgres://user:***@host/db?vault=x`) and a `password=` parameter.
/// Anything else, a path included, comes back unchanged.
///
/// When the URL is ambiguous (an `@` that could end the user part after a
/// `?` or `/` of an unescaped password), more is hidden, never less.
///
/// ```
/// assert_eq!(
///     vaults::redact_url("postgres://app:s3cret@db.internal:5432/secrets?vault=web"),
///     "postgres://app:***@db.internal:5432/secrets?vault=web",
/// );
/// assert_eq!(
///     vaults::redact_url("postgres://app@db/secrets?vault=web"),
///     "postgres://app@db/secrets?vault=web",
/// );
/// // An unescaped `?` in the password: hidden all the same.
/// assert_eq!(
///     vaults::redact_url("postgres://app:s3c?ret@db/secrets?vault=web"),
///     "postgres://app:***@db/secrets?vault=web",
/// );
/// ```
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (base, query) = match rest.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (rest, None),
    };
    // The user part ends at the last `@` before the query. The driver ends
    // it at the first, so hiding up to the last hides at least its password.
    if let Some((user, host)) = base.rsplit_once('@') {
        let user = match user.split_once(':') {
            Some((name, _)) => format!("{name}:***"),
            None => user.to_owned(),
        };
        let query = query.map(redact_query);
        return join(scheme, &format!("{user}@{host}"), query.as_deref());
    }
    // No `@` before the query, yet one after it and a `:` before any `/`:
    // an unescaped `?` may sit in a password. Hide up to that last `@`.
    let head = base.split('/').next().unwrap_or_default();
    if let (Some((user, _)), Some((_, after))) = (head.split_once(':'), rest.rsplit_once('@')) {
        return format!("{scheme}://{user}:***@{after}");
    }
    join(scheme, base, query.map(redact_query).as_deref())
}

/// `path` as errors may show it: a URL without its password.
pub(crate) fn shown_path(path: &Path) -> std::path::PathBuf {
    match (is_vault_url(path), path.to_str()) {
        (true, Some(url)) => redact_url(url).into(),
        _ => path.to_owned(),
    }
}

fn join(scheme: &str, base: &str, query: Option<&str>) -> String {
    match query {
        Some(q) => format!("{scheme}://{base}?{q}"),
        None => format!("{scheme}://{base}"),
    }
}

/// A query string with the value of any `password` parameter hidden.
fn redact_query(query: &str) -> String {
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some(("password", _)) => "password=***".to_owned(),
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_hidden_wherever_they_are() {
        for (url, shown) in [
            (
                "postgres://u:pw1@h:5432/db?vault=a&sslmode=disable",
                "postgres://u:***@h:5432/db?vault=a&sslmode=disable",
            ),
            (
                "postgresql://u:pw1@h/db?vault=a",
                "postgresql://u:***@h/db?vault=a",
            ),
            ("postgres://u@h/db?vault=a", "postgres://u@h/db?vault=a"),
            ("postgres://h/db?vault=a", "postgres://h/db?vault=a"),
            (
                "postgres://h/db?vault=a&password=pw1",
                "postgres://h/db?vault=a&password=***",
            ),
            (
                "postgres://u:p@w1@h/db?vault=a",
                "postgres://u:***@h/db?vault=a",
            ),
            (
                "postgres://u:pw/1@h/db?vault=a",
                "postgres://u:***@h/db?vault=a",
            ),
            (
                "postgres://u:p?w1@h/db?vault=a",
                "postgres://u:***@h/db?vault=a",
            ),
            ("/tmp/u:pw1@h.db", "/tmp/u:pw1@h.db"),
        ] {
            assert_eq!(redact_url(url), shown, "{url}");
            if url.starts_with("postgres") {
                assert!(!redact_url(url).contains("pw1"), "{url}");
            }
        }
    }

    #[test]
    fn urls_are_told_from_paths() {
        assert!(is_vault_url("postgresql://h/db?vault=a"));
        assert!(!is_vault_url("postgres.db"));
    }
}
