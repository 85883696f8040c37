//! The server layout: the `vaults` schema, created on first use by a
//! versioned migration, checked on every open, and the vaults it holds
//! (many in one database, told apart by a number).
//!
//! The layout is documented in `docs/format.md` ("On a PostgreSQL server").

use super::pool::Conn;
use super::rows::LOCK_CLASS;
use crate::engine::Init;
use crate::{Error, Integrity, Kind, Result};

/// The layout version this build creates and reads (`vaults.layout`).
pub(crate) const LAYOUT_VERSION: i32 = 1;

/// Meta records a plain vault may hold; see `sqlite/schema.rs`.
const PLAIN_META: [&str; 3] = ["vault_id", "kind", "clock_mark"];

/// Layout version 1, in the order created.
const LAYOUT_V1: &str = "
CREATE SCHEMA IF NOT EXISTS vaults;
CREATE TABLE vaults.layout (version integer NOT NULL);
CREATE TABLE vaults.vaults (
    vault integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL UNIQUE,
    meta_version bigint NOT NULL DEFAULT 0
);
CREATE SEQUENCE vaults.entry_ids;
CREATE TABLE vaults.entries (
    vault integer NOT NULL,
    id bigint NOT NULL DEFAULT nextval('vaults.entry_ids'),
    key bytea NOT NULL,
    name bytea,
    expires_at bigint,
    value bytea NOT NULL,
    PRIMARY KEY (vault, key)
);
CREATE UNIQUE INDEX entries_order ON vaults.entries (vault, id);
CREATE INDEX entries_expiry ON vaults.entries (expires_at, vault) WHERE expires_at IS NOT NULL;
CREATE TABLE vaults.meta (
    vault integer NOT NULL,
    name text NOT NULL,
    value bytea NOT NULL,
    PRIMARY KEY (vault, name)
);
INSERT INTO vaults.layout (version) VALUES (1);
";

/// Every column of layout 1: (table, column, type, nullable), sorted.
const COLUMNS_V1: [(&str, &str, &str, &str); 13] = [
    ("entries", "expires_at", "bigint", "YES"),
    ("entries", "id", "bigint", "NO"),
    ("entries", "key", "bytea", "NO"),
    ("entries", "name", "bytea", "YES"),
    ("entries", "value", "bytea", "NO"),
    ("entries", "vault", "integer", "NO"),
    ("layout", "version", "integer", "NO"),
    ("meta", "name", "text", "NO"),
    ("meta", "value", "bytea", "NO"),
    ("meta", "vault", "integer", "NO"),
    ("vaults", "meta_version", "bigint", "NO"),
    ("vaults", "name", "text", "NO"),
    ("vaults", "vault", "integer", "NO"),
];

/// What an open found on the server.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Header {
    /// The vault's number in `vaults.vaults`.
    pub(crate) vault: i32,
    pub(crate) vault_id: [u8; 16],
    pub(crate) kind: Kind,
}

fn wrong_type() -> Error {
    Error::Corrupt {
        detail: "a stored column has the wrong type",
    }
}

/// Creates the layout if the database has none (once, among concurrent
/// clients: under an advisory lock), then checks its version and shape.
pub(crate) fn ensure(conn: &mut Conn, shown: &str) -> Result<()> {
    let exists = |conn: &mut Conn| -> Result<bool> {
        let row = conn.query_opt("SELECT to_regclass('vaults.layout') IS NOT NULL", &[])?;
        row.map(|r| r.try_get(0))
            .transpose()
            .map_err(|_| wrong_type())
            .map(|b| b.unwrap_or(false))
    };
    if !exists(conn)? {
        conn.batch(&format!(
            "BEGIN; SELECT pg_advisory_xact_lock({LOCK_CLASS}, 0)"
        ))?;
        // A `vaults` schema that holds anything but no layout is another
        // application's: create nothing in it (the check below refuses it).
        let occupied = |conn: &mut Conn| -> Result<bool> {
            let row = conn.query_opt(
                "SELECT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n                  ON n.oid = c.relnamespace WHERE n.nspname = 'vaults')",
                &[],
            )?;
            row.map(|r| r.try_get(0))
                .transpose()
                .map_err(|_| wrong_type())
                .map(|b| b.unwrap_or(false))
        };
        let made = match exists(conn).and_then(|e| Ok(e || occupied(conn)?)) {
            Ok(true) => conn.batch("COMMIT").map(|()| false),
            Ok(false) => conn
                .batch(LAYOUT_V1)
                .and_then(|()| conn.batch("COMMIT"))
                .map(|()| true),
            Err(e) => Err(e),
        };
        match made {
            Ok(true) => tracing::debug!(version = LAYOUT_VERSION, "created the vault layout"),
            Ok(false) => {}
            Err(e) => {
                let _ = conn.batch("ROLLBACK");
                return Err(e);
            }
        }
    }
    check(conn, shown)
}

/// Refuses a layout of a newer version, or one whose tables differ from ours.
fn check(conn: &mut Conn, shown: &str) -> Result<()> {
    let not_ours = || Error::NotAVault { path: shown.into() };
    let rows = conn.query(
        "SELECT table_name::text, column_name::text, data_type::text, is_nullable::text \
         FROM information_schema.columns WHERE table_schema = 'vaults' \
         ORDER BY table_name::text COLLATE \"C\", column_name::text COLLATE \"C\"",
        &[],
    )?;
    let versions = conn.query("SELECT version FROM vaults.layout", &[]);
    let version = match versions {
        Ok(rows) => match rows.as_slice() {
            [one] => one.try_get::<_, i32>(0).map_err(|_| not_ours())?,
            _ => return Err(not_ours()),
        },
        Err(Error::Server { .. }) => return Err(not_ours()),
        Err(e) => return Err(e),
    };
    if version > LAYOUT_VERSION {
        return Err(Error::UnsupportedVersion {
            found: i64::from(version),
            supported: i64::from(LAYOUT_VERSION),
        });
    }
    let found = rows
        .iter()
        .map(|r| {
            Ok((
                r.try_get::<_, String>(0)?,
                r.try_get::<_, String>(1)?,
                r.try_get::<_, String>(2)?,
                r.try_get::<_, String>(3)?,
            ))
        })
        .collect::<std::result::Result<Vec<_>, postgres::Error>>()
        .map_err(|_| not_ours())?;
    let same = version == LAYOUT_VERSION
        && found.len() == COLUMNS_V1.len()
        && found
            .iter()
            .zip(COLUMNS_V1)
            .all(|((t, c, ty, n), want)| (t.as_str(), c.as_str(), ty.as_str(), n.as_str()) == want);
    match same {
        true => Ok(()),
        false => Err(not_ours()),
    }
}

/// Finds the vault named `name`, creating it with `init`'s records when
/// asked (`exclusive`: it must not exist); returns its header.
pub(crate) fn open_vault(
    conn: &mut Conn,
    name: &str,
    kind: Kind,
    init: Option<&Init<'_>>,
    exclusive: bool,
    shown: &str,
) -> Result<Header> {
    let vault = match (find(conn, name)?, init) {
        (Some(_), Some(_)) if exclusive => {
            return Err(Error::VaultExists { path: shown.into() });
        }
        (Some(v), _) => v,
        (None, None) => return Err(Error::VaultNotFound { path: shown.into() }),
        (None, Some(init)) => match create(conn, name, kind, init) {
            Ok(Some(v)) => v,
            // Another client created it first.
            Ok(None) if exclusive => return Err(Error::VaultExists { path: shown.into() }),
            Ok(None) => find(conn, name)?.ok_or(Error::VaultNotFound { path: shown.into() })?,
            Err(e) => return Err(e),
        },
    };
    read_header(conn, vault)
}

fn find(conn: &mut Conn, name: &str) -> Result<Option<i32>> {
    let row = conn.query_opt("SELECT vault FROM vaults.vaults WHERE name = $1", &[&name])?;
    row.map(|r| r.try_get(0))
        .transpose()
        .map_err(|_| wrong_type())
}

/// Creates the vault and its records in one transaction; `None` when a
/// vault of that name appeared first.
fn create(conn: &mut Conn, name: &str, kind: Kind, init: &Init<'_>) -> Result<Option<i32>> {
    let vault_id = match init.vault_id {
        Some(id) => id,
        None => {
            let mut id = [0u8; 16];
            getrandom::fill(&mut id).map_err(|_| Error::Rng)?;
            id
        }
    };
    conn.batch("BEGIN")?;
    let out = (|| {
        let row = conn.query_opt(
            "INSERT INTO vaults.vaults (name) VALUES ($1) ON CONFLICT (name) DO NOTHING \
             RETURNING vault",
            &[&name],
        )?;
        let Some(row) = row else { return Ok(None) };
        let vault: i32 = row.try_get(0).map_err(|_| wrong_type())?;
        let kind_text = kind.to_string();
        let insert = "INSERT INTO vaults.meta (vault, name, value) VALUES ($1, $2, $3)";
        conn.execute(insert, &[&vault, &"vault_id", &&vault_id[..]])?;
        conn.execute(insert, &[&vault, &"kind", &kind_text.as_bytes()])?;
        for (record, value) in init.meta {
            conn.execute(insert, &[&vault, &record.as_str(), &value.as_slice()])?;
        }
        Ok(Some(vault))
    })();
    match out {
        Ok(v) => {
            conn.batch("COMMIT")?;
            if v.is_some() {
                tracing::debug!(%kind, "created a vault on the server");
            }
            Ok(v)
        }
        Err(e) => {
            let _ = conn.batch("ROLLBACK");
            Err(e)
        }
    }
}

/// Reads the vault's id and kind, with the same kind check as a file.
fn read_header(conn: &mut Conn, vault: i32) -> Result<Header> {
    let rows = conn.query(
        "SELECT name, value FROM vaults.meta WHERE vault = $1",
        &[&vault],
    )?;
    let mut vault_id = None;
    let mut kind = None;
    let mut foreign = false;
    for r in &rows {
        let name: String = r.try_get(0).map_err(|_| wrong_type())?;
        let value: Vec<u8> = r.try_get(1).map_err(|_| wrong_type())?;
        match name.as_str() {
            "vault_id" => vault_id = <[u8; 16]>::try_from(value.as_slice()).ok(),
            "kind" => kind = Some(value),
            n if PLAIN_META.contains(&n) => {}
            _ => foreign = true,
        }
    }
    let vault_id = vault_id.ok_or(Error::Corrupt {
        detail: "the vault id is missing or malformed",
    })?;
    let kind = match kind.as_deref() {
        Some(b"plain") => Kind::Plain,
        Some(b"encrypted") => Kind::Encrypted,
        _ => {
            return Err(Error::Corrupt {
                detail: "the vault kind is missing or unknown",
            });
        }
    };
    // As for a file: a vault that says plain but has an encrypted vault's
    // records had its kind edited.
    if kind == Kind::Plain && foreign {
        return Err(Error::Integrity(Integrity::Kind));
    }
    Ok(Header {
        vault,
        vault_id,
        kind,
    })
}

/// Deletes the vault and everything in it, in one transaction.
pub(crate) fn destroy(conn: &mut Conn, vault: i32) -> Result<()> {
    conn.batch(&format!(
        "BEGIN; SELECT pg_advisory_xact_lock({LOCK_CLASS}, {vault})"
    ))?;
    let out = (|| {
        conn.execute("DELETE FROM vaults.entries WHERE vault = $1", &[&vault])?;
        conn.execute("DELETE FROM vaults.meta WHERE vault = $1", &[&vault])?;
        conn.execute("DELETE FROM vaults.vaults WHERE vault = $1", &[&vault])?;
        conn.batch("COMMIT")
    })();
    if out.is_err() {
        let _ = conn.batch("ROLLBACK");
    }
    out
}
