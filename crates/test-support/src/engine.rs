//! Which storage engine the tests run on: SQLite files by default, a
//! PostgreSQL server when `VAULTS_TEST_ENGINE=postgres` (with the server's
//! URL in `VAULTS_TEST_PG_URL`, as `.ci/pg start` prints it). The same
//! tests run on both: a test asks for a vault location with
//! [`vault_location`], and gets a file path or a fresh vault's URL.
//!
//! Asking for PostgreSQL without a URL panics: a run meant to cover the
//! server never passes by skipping it.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The engine of this test run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// One SQLite file per vault.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// The engine `VAULTS_TEST_ENGINE` names (SQLite when unset).
pub fn engine() -> Engine {
    match std::env::var("VAULTS_TEST_ENGINE").as_deref() {
        Ok("postgres") => Engine::Postgres,
        Ok("sqlite") | Err(_) => Engine::Sqlite,
        Ok(other) => panic!("VAULTS_TEST_ENGINE={other}: expected sqlite or postgres"),
    }
}

/// The test server's URL, without a vault.
///
/// # Panics
/// When `VAULTS_TEST_PG_URL` is unset: start a server with `.ci/pg start`.
pub fn pg_url() -> String {
    std::env::var("VAULTS_TEST_PG_URL").unwrap_or_else(|_| {
        panic!(
            "VAULTS_TEST_PG_URL is not set: start a throwaway server with \
             `.ci/pg start DIR` and export the URL it prints"
        )
    })
}

/// The URL of a vault named `name` on the test server.
pub fn pg_vault_url(name: &str) -> String {
    let url = pg_url();
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}vault={name}")
}

/// A vault name no other test (of any process or run) uses.
pub fn unique_name(prefix: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{prefix}-{}-{nanos}-{n}", std::process::id())
}

/// Where a test's vault lives: `DIR/FILE` on SQLite, a fresh vault's URL
/// on PostgreSQL (`FILE` then names it, made unique).
pub fn vault_location(dir: &Path, file: &str) -> PathBuf {
    match engine() {
        Engine::Sqlite => dir.join(file),
        Engine::Postgres => PathBuf::from(pg_vault_url(&unique_name(file))),
    }
}

/// Whether this run is on a server (where a vault has no file).
pub fn on_server() -> bool {
    engine() == Engine::Postgres
}
