//! The clock mark: the latest time a vault has seen, kept in the file, so
//! that a clock set back never brings an expired entry back to life.
//!
//! Expiry is decided at `max(clock, mark)`. Within one handle the mark is
//! exact: it holds every instant the handle used. In the file (meta record
//! `clock_mark`, 8 bytes, big-endian i64 ms) it is raised by every write
//! transaction once the clock is a [`STEP_MS`] past it, and by a read that
//! skipped an entry which expired after the stored mark (at most once a
//! [`STEP_MS`] per handle, never waiting for the write lock, and never
//! failing the read: a read-only or busy vault is simply not marked). A
//! read that hid nothing newly expired never writes: forgetting its time
//! can revive nothing. So for a vault, an entry seen expired stays expired
//! unless it expired less than [`STEP_MS`] after the stored mark, and time
//! does not run backwards at all within one handle.
//!
//! New expiries are computed from the clock alone: a mark moved forward by
//! someone who edits the file makes entries expire early (no more than
//! deleting them), never live longer than asked.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OptionalExtension};

use super::scoped::scoped;
use crate::Result;

/// The meta record holding the mark.
pub(crate) const META_CLOCK_MARK: &str = "clock_mark";

/// How far the stored mark may lag before it is raised (ms).
pub(crate) const STEP_MS: i64 = 1_000;

/// A handle's view of its vault's clock mark.
#[derive(Debug)]
pub(crate) struct ClockMark {
    /// The latest instant this handle used or read from the file.
    seen: AtomicI64,
    /// The mark as last read from or written to the file.
    stored: AtomicI64,
    /// When a read last tried to raise the stored mark.
    last_try: Mutex<Option<Instant>>,
}

impl ClockMark {
    /// Reads the mark from the file. A missing or malformed record counts as
    /// no mark (time as the clock says, as before the mark existed).
    pub(crate) fn load(conn: &Connection) -> Result<ClockMark> {
        let stored = read(conn)?;
        Ok(ClockMark {
            seen: AtomicI64::new(stored),
            stored: AtomicI64::new(stored),
            last_try: Mutex::new(None),
        })
    }

    /// The time an operation starting now runs at: the later of `clock` and
    /// every instant seen before.
    pub(crate) fn now(&self, clock: i64) -> i64 {
        self.seen.fetch_max(clock, Ordering::SeqCst).max(clock)
    }

    /// Whether the stored mark lags `now` enough to be raised.
    pub(crate) fn due(&self, now: i64) -> bool {
        now >= self.stored.load(Ordering::SeqCst).saturating_add(STEP_MS)
    }

    /// Raises the stored mark to `now`, inside the caller's write transaction.
    pub(crate) fn raise(&self, conn: &Connection, now: i64) -> Result<()> {
        let stored = read(conn)?;
        let mark = stored.max(now);
        if mark > stored {
            conn.prepare_cached(
                "INSERT INTO meta (name, value) VALUES (?1, ?2) \
                 ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            )?
            .execute((META_CLOCK_MARK, &mark.to_be_bytes()[..]))?;
        }
        self.stored.fetch_max(mark, Ordering::SeqCst);
        self.seen.fetch_max(mark, Ordering::SeqCst);
        Ok(())
    }

    /// After a read at `now` that skipped expired rows, the latest of which
    /// expired at `expired`: raises the stored mark if that is past it and
    /// no read tried in the last [`STEP_MS`], in its own transaction,
    /// without waiting for the lock. Failures are not the read's: they are
    /// logged.
    pub(crate) fn raise_after_read(
        &self,
        conn: &Connection,
        now: i64,
        expired: i64,
        busy_timeout: Duration,
    ) {
        if expired <= self.stored.load(Ordering::SeqCst) {
            return;
        }
        let step = Duration::from_millis(STEP_MS.unsigned_abs());
        {
            let mut last = self.last_try.lock().unwrap_or_else(PoisonError::into_inner);
            if last.is_some_and(|t| t.elapsed() < step) {
                return;
            }
            *last = Some(Instant::now());
        }
        let raised = conn
            .busy_timeout(Duration::ZERO)
            .map_err(Into::into)
            .and_then(|()| {
                scoped(conn, "BEGIN IMMEDIATE", "COMMIT", "ROLLBACK", || {
                    self.raise(conn, now)
                })
            });
        if let Err(e) = conn.busy_timeout(busy_timeout) {
            tracing::warn!(error = %e, "restoring the busy timeout failed");
        }
        if let Err(e) = raised {
            tracing::debug!(error = %e, "the clock mark was not raised after a read");
        }
    }
}

fn read(conn: &Connection) -> Result<i64> {
    let value: Option<Vec<u8>> = conn
        .prepare_cached("SELECT value FROM meta WHERE name = ?1")?
        .query_row([META_CLOCK_MARK], |r| r.get(0))
        .optional()?;
    Ok(value
        .and_then(|v| <[u8; 8]>::try_from(v.as_slice()).ok())
        .map_or(i64::MIN, i64::from_be_bytes))
}
