//! A small pool of server connections, so one handle serves many threads:
//! up to `pool=N` connections (default 4), opened when first needed, each
//! with its prepared statements, handed out one operation at a time.
//!
//! Written here rather than taken from r2d2: r2d2 starts three threads per
//! pool and checks a connection with an extra round trip on every checkout;
//! this pool needs neither (a connection that broke is dropped when an
//! operation finds it broken, and one stale after a server restart is
//! replaced by the retry in `mod.rs`).

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use postgres::types::ToSql;
use postgres::{Client, NoTls, Row, SimpleQueryMessage, Statement};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::errors::{breaks_connection, classify};
use super::target::Target;
use crate::engine::{Durability, Settings};
use crate::{Clock, Error, Result, SystemClock};

/// One server connection with its prepared statements.
pub(crate) struct Conn {
    client: Client,
    statements: HashMap<String, Statement>,
    /// Set when a statement failed in a way that leaves the connection
    /// unusable; the pool then drops it.
    broken: bool,
    /// Round trips made on this connection (for the count in tests).
    pub(crate) round_trips: u64,
    /// Server clock minus local clock (ms), measured when it connected.
    pub(crate) offset_ms: i64,
    /// Whether a transaction is open (a connection given back in one, by
    /// a panic, is closed rather than reused).
    in_tx: bool,
    /// When it last served an operation.
    last_used: Instant,
}

/// A connection idle this long is checked (one empty round trip) before it
/// serves an operation: the server may have restarted meanwhile.
const CHECK_AFTER_IDLE: Duration = Duration::from_secs(1);

type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

impl Conn {
    /// The prepared statement for `sql` (prepared on first use: one round
    /// trip, once per connection).
    fn statement(&mut self, sql: &str) -> Result<Statement> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        self.round_trips += 1;
        let s = self.client.prepare(sql).map_err(|e| self.fail(&e))?;
        self.statements.insert(sql.to_owned(), s.clone());
        Ok(s)
    }

    fn fail(&mut self, e: &postgres::Error) -> Error {
        if breaks_connection(e) {
            self.broken = true;
        }
        classify(e)
    }

    fn trip(&mut self) {
        self.round_trips += 1;
        tracing::trace!(target: "vaults::postgres", "round trip");
    }

    /// Runs `sql` and returns its rows.
    pub(crate) fn query(&mut self, sql: &str, params: Params<'_>) -> Result<Vec<Row>> {
        let s = self.statement(sql)?;
        self.trip();
        self.client.query(&s, params).map_err(|e| self.fail(&e))
    }

    /// Runs `sql` and returns its one row, if any.
    pub(crate) fn query_opt(&mut self, sql: &str, params: Params<'_>) -> Result<Option<Row>> {
        let s = self.statement(sql)?;
        self.trip();
        self.client.query_opt(&s, params).map_err(|e| self.fail(&e))
    }

    /// Runs `sql` and returns how many rows it changed.
    pub(crate) fn execute(&mut self, sql: &str, params: Params<'_>) -> Result<u64> {
        let s = self.statement(sql)?;
        self.trip();
        self.client.execute(&s, params).map_err(|e| self.fail(&e))
    }

    /// Runs statements without parameters, in one round trip.
    pub(crate) fn batch(&mut self, sql: &str) -> Result<()> {
        self.trip();
        self.client.batch_execute(sql).map_err(|e| self.fail(&e))
    }

    /// Runs one statement without parameters and returns how many rows it
    /// affected.
    pub(crate) fn batch_count(&mut self, sql: &str) -> Result<u64> {
        self.trip();
        let messages = self.client.simple_query(sql).map_err(|e| self.fail(&e))?;
        Ok(messages
            .iter()
            .find_map(|m| match m {
                SimpleQueryMessage::CommandComplete(n) => Some(*n),
                _ => None,
            })
            .unwrap_or(0))
    }

    /// Opens a transaction with `sql` (statements without parameters, in
    /// one round trip).
    pub(crate) fn begin(&mut self, sql: &str) -> Result<()> {
        self.in_tx = true;
        self.batch(sql)
    }

    /// [`Conn::begin`], returning the first column of the last row.
    pub(crate) fn begin_returning(&mut self, sql: &str) -> Result<Option<String>> {
        self.in_tx = true;
        self.simple_last(sql)
    }

    /// Ends the open transaction with `COMMIT` or `ROLLBACK`.
    pub(crate) fn end(&mut self, sql: &str) -> Result<()> {
        let out = self.batch(sql);
        if out.is_ok() {
            self.in_tx = false;
        }
        out
    }

    /// Runs `sql`, statements without parameters beginning with `BEGIN` and
    /// ending with `COMMIT`, in one round trip, and returns how many rows
    /// each statement affected or returned. On an error the transaction is
    /// rolled back.
    pub(crate) fn atomic(&mut self, sql: &str) -> Result<Vec<u64>> {
        self.in_tx = true;
        self.trip();
        match self.client.simple_query(sql) {
            Ok(messages) => {
                self.in_tx = false;
                Ok(messages
                    .iter()
                    .filter_map(|m| match m {
                        SimpleQueryMessage::CommandComplete(n) => Some(*n),
                        _ => None,
                    })
                    .collect())
            }
            Err(e) => {
                let out = self.fail(&e);
                if !self.broken {
                    let _ = self.end("ROLLBACK");
                }
                Err(out)
            }
        }
    }

    /// Runs statements without parameters in one round trip and returns the
    /// first column of the last row any of them returned.
    pub(crate) fn simple_last(&mut self, sql: &str) -> Result<Option<String>> {
        self.trip();
        let messages = self.client.simple_query(sql).map_err(|e| self.fail(&e))?;
        let mut last = None;
        for m in messages {
            if let SimpleQueryMessage::Row(row) = m {
                last = row.try_get(0).ok().flatten().map(str::to_owned);
            }
        }
        Ok(last)
    }

    /// Whether the connection can take another operation.
    fn usable(&self) -> bool {
        !self.broken && !self.in_tx && !self.client.is_closed()
    }
}

/// How connections are opened: TLS or not.
#[derive(Clone)]
enum Tls {
    Off,
    Rustls(MakeRustlsConnect),
}

/// The pool.
pub(crate) struct Pool {
    target: Target,
    tls: Tls,
    settings: Settings,
    state: Mutex<State>,
    freed: Condvar,
}

struct State {
    idle: Vec<Conn>,
    /// Connections open, idle or handed out.
    open: usize,
}

impl Pool {
    /// A pool for `target`; connects once, so a bad URL, credentials or an
    /// unreachable server fail here.
    pub(crate) fn new(target: Target, settings: &Settings) -> Result<Pool> {
        let tls = match target.config.get_ssl_mode() {
            postgres::config::SslMode::Disable => Tls::Off,
            _ => Tls::Rustls(rustls_connector(&target)?),
        };
        let pool = Pool {
            target,
            tls,
            settings: settings.clone(),
            state: Mutex::new(State {
                idle: Vec::new(),
                open: 0,
            }),
            freed: Condvar::new(),
        };
        let first = pool.connect()?;
        pool.lock().open = 1;
        pool.lock().idle.push(first);
        Ok(pool)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The URL without its password.
    pub(crate) fn shown(&self) -> &str {
        &self.target.shown
    }

    /// The vault's name on the server.
    pub(crate) fn vault_name(&self) -> &str {
        &self.target.vault
    }

    /// Opens a connection and sets its session: the lock wait, the commit
    /// durability, and a search path that only the system schema is on.
    /// Measures the server's clock on the way (same round trip).
    fn connect(&self) -> Result<Conn> {
        let config = &self.target.config;
        let client = match &self.tls {
            Tls::Off => config.connect(NoTls),
            Tls::Rustls(tls) => config.connect(tls.clone()),
        }
        .map_err(|e| connect_error(&e, &self.target))?;
        let mut conn = Conn {
            client,
            statements: HashMap::new(),
            broken: false,
            round_trips: 0,
            offset_ms: 0,
            in_tx: false,
            last_used: Instant::now(),
        };
        let lock_ms = self.settings.busy_timeout.as_millis().max(1);
        let sync = match self.settings.durability {
            Durability::Full => "on",
            Durability::Normal => "off",
        };
        let before = SystemClock.now_ms();
        let server = conn.simple_last(&format!(
            "SET lock_timeout = {lock_ms}; SET synchronous_commit = {sync}; \
             SET search_path = pg_catalog, pg_temp; SET TIME ZONE 'UTC'; \
             SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint"
        ))?;
        let after = SystemClock.now_ms();
        let server: i64 = server
            .and_then(|s| s.parse().ok())
            .ok_or(Error::Unavailable {
                reason: "the server did not tell its time".into(),
            })?;
        conn.offset_ms = server - before / 2 - after / 2;
        tracing::debug!(
            offset_ms = conn.offset_ms,
            "connected to the database server"
        );
        Ok(conn)
    }

    /// Takes a connection: an idle one (checked first if it idled a while),
    /// a new one while fewer than `pool` are open, or the first one freed
    /// within the busy timeout.
    pub(crate) fn get(&self) -> Result<Pooled<'_>> {
        let deadline = Instant::now() + self.settings.busy_timeout.max(Duration::from_millis(1));
        let mut state = self.lock();
        loop {
            if let Some(mut conn) = state.idle.pop() {
                drop(state);
                let fresh_enough = conn.last_used.elapsed() < CHECK_AFTER_IDLE;
                if conn.usable() && (fresh_enough || conn.batch("").is_ok()) {
                    return Ok(Pooled {
                        pool: self,
                        conn: Some(conn),
                        reused: true,
                    });
                }
                drop(conn);
                state = self.lock();
                state.open -= 1;
                continue;
            }
            if state.open < self.target.pool {
                state.open += 1;
                drop(state);
                return match self.connect() {
                    Ok(conn) => Ok(Pooled {
                        pool: self,
                        conn: Some(conn),
                        reused: false,
                    }),
                    Err(e) => {
                        self.lock().open -= 1;
                        self.freed.notify_one();
                        Err(e)
                    }
                };
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Error::Busy);
            }
            state = self
                .freed
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Takes a new connection, never an idle one (after a stale one failed).
    pub(crate) fn fresh(&self) -> Result<Pooled<'_>> {
        {
            let mut state = self.lock();
            let stale = state.idle.len();
            state.idle.clear();
            state.open -= stale;
        }
        let mut pooled = self.get()?;
        pooled.reused = false;
        Ok(pooled)
    }

    /// Closes every idle connection.
    pub(crate) fn close(&self) {
        let mut state = self.lock();
        let n = state.idle.len();
        state.idle.clear();
        state.open -= n;
    }
}

/// A connection taken from the pool; given back when dropped (or dropped,
/// if it broke).
pub(crate) struct Pooled<'p> {
    pool: &'p Pool,
    conn: Option<Conn>,
    /// Whether it had served an operation before (and may have gone stale).
    pub(crate) reused: bool,
}

impl std::ops::Deref for Pooled<'_> {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        self.conn.as_ref().unwrap_or_else(|| unreachable!())
    }
}

impl std::ops::DerefMut for Pooled<'_> {
    fn deref_mut(&mut self) -> &mut Conn {
        self.conn.as_mut().unwrap_or_else(|| unreachable!())
    }
}

impl Drop for Pooled<'_> {
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        conn.last_used = Instant::now();
        let mut state = self.pool.lock();
        if conn.usable() {
            state.idle.push(conn);
        } else {
            state.open -= 1;
        }
        drop(state);
        self.pool.freed.notify_one();
    }
}

/// A failed connection attempt: unreachable, refused credentials, or a
/// missing database.
fn connect_error(e: &postgres::Error, target: &Target) -> Error {
    match classify(e) {
        Error::Server { code, .. } if code == "3D000" => Error::VaultNotFound {
            path: target.shown.clone().into(),
        },
        Error::Unavailable { reason } => Error::Unavailable {
            reason: format!("{reason} ({})", target.shown),
        },
        other => other,
    }
}

/// TLS through rustls: the Mozilla roots, plus the certificates of
/// `sslrootcert` when given.
fn rustls_connector(target: &Target) -> Result<MakeRustlsConnect> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(path) = &target.root_cert {
        let bad = |reason: &str| Error::InvalidUrl {
            reason: format!("sslrootcert {}: {reason}", path.display()),
        };
        let certs = CertificateDer::pem_file_iter(path)
            .map_err(|_| bad("cannot be read as PEM"))?
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|_| bad("holds a malformed certificate"))?;
        if certs.is_empty() {
            return Err(bad("holds no certificate"));
        }
        for cert in certs {
            roots
                .add(cert)
                .map_err(|_| bad("holds a certificate rustls refuses"))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|_| Error::Unsupported {
            what: "TLS: no protocol version in common with rustls",
        })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}
