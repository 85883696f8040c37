//! Randomness: nonces from a per-thread pool, secrets straight from the OS.
//!
//! A nonce only has to be unique, never secret, so it may come from a pool
//! filled in bulk: one `getrandom` call per 170 nonces instead of one each.
//! Keys, salts and vault ids skip the pool and come straight from the OS.
//!
//! Fork safety: a forked child inherits a copy of its parent's pool, and drawing
//! from it would repeat the parent's nonces under the same key. Every draw
//! compares the current process id with the one recorded when the pool was
//! filled, and throws the pool away when they differ.

use std::cell::RefCell;

use crate::{Error, Result};

/// Length of an XChaCha20-Poly1305 nonce.
pub(crate) const NONCE_LEN: usize = 24;

/// Nonces per pool fill: 170 × 24 = 4080 bytes, just under one 4 KiB page.
const POOL_NONCES: usize = 170;

/// A per-thread stock of random bytes, handed out one nonce at a time.
struct Pool {
    /// Random bytes; a chunk is zeroed once handed out, so none is given twice.
    chunks: [[u8; NONCE_LEN]; POOL_NONCES],
    /// Index of the next unused chunk; `POOL_NONCES` when empty.
    next: usize,
    /// Process that filled `chunks`. Zero (no user process has it) until the
    /// first fill.
    pid: u32,
}

impl Pool {
    /// An empty pool: the first draw fills it.
    const EMPTY: Pool = Pool {
        chunks: [[0; NONCE_LEN]; POOL_NONCES],
        next: POOL_NONCES,
        pid: 0,
    };

    /// Hands out the next nonce, refilling first when empty or inherited
    /// through a fork.
    fn draw(&mut self) -> Result<[u8; NONCE_LEN]> {
        let pid = std::process::id();
        if pid != self.pid || self.next >= POOL_NONCES {
            self.refill(pid)?;
        }
        let chunk = self.chunks.get_mut(self.next).ok_or(Error::Rng)?;
        let nonce = *chunk;
        *chunk = [0; NONCE_LEN];
        self.next += 1;
        Ok(nonce)
    }

    /// Fills the pool from the OS generator and records who filled it.
    fn refill(&mut self, pid: u32) -> Result<()> {
        // Mark the pool empty first: if the OS fails, no stale byte survives
        // to be handed out by the next draw.
        self.next = POOL_NONCES;
        getrandom::fill(self.chunks.as_flattened_mut()).map_err(|_| Error::Rng)?;
        self.pid = pid;
        self.next = 0;
        Ok(())
    }
}

thread_local! {
    static POOL: RefCell<Pool> = const { RefCell::new(Pool::EMPTY) };
}

/// A fresh random 192-bit nonce.
///
/// Cheap (one OS call per 170 nonces) and fork-safe. Never a counter: a crash
/// or a restored copy of a vault would make a counter repeat.
///
/// # Errors
///
/// [`Error::Rng`] when the operating system's generator fails.
pub(crate) fn nonce() -> Result<[u8; NONCE_LEN]> {
    let pooled = POOL.try_with(|pool| pool.try_borrow_mut().map(|mut pool| pool.draw()));
    match pooled {
        Ok(Ok(drawn)) => drawn,
        // The thread is being torn down (thread-local gone), or the pool is
        // somehow borrowed: skip the pool rather than fail.
        Ok(Err(_)) | Err(_) => {
            let mut nonce = [0; NONCE_LEN];
            fill_secret(&mut nonce)?;
            Ok(nonce)
        }
    }
}

/// Fills `buf` straight from the operating system's generator: for keys,
/// salts and vault ids, which must never sit in a shared pool.
///
/// # Errors
///
/// [`Error::Rng`] when the operating system's generator fails.
pub(crate) fn fill_secret(buf: &mut [u8]) -> Result<()> {
    getrandom::fill(buf).map_err(|_| Error::Rng)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn nonces_are_distinct_over_100k_draws() {
        let mut seen = HashSet::with_capacity(100_000);
        for _ in 0..100_000 {
            assert!(seen.insert(nonce().unwrap()), "nonce repeated");
        }
    }

    #[test]
    fn nonces_are_distinct_across_threads() {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                std::thread::spawn(|| (0..1_000).map(|_| nonce().unwrap()).collect::<Vec<_>>())
            })
            .collect();
        let mut seen = HashSet::new();
        for handle in handles {
            for n in handle.join().unwrap() {
                assert!(seen.insert(n), "nonce repeated across threads");
            }
        }
    }

    #[test]
    fn a_handed_out_nonce_is_wiped_from_the_pool() {
        let drawn = nonce().unwrap();
        POOL.with(|pool| {
            let pool = pool.borrow();
            let index = pool.next.checked_sub(1).unwrap();
            assert_eq!(pool.chunks[index], [0; NONCE_LEN]);
            assert_ne!(drawn, [0; NONCE_LEN]);
        });
    }

    #[test]
    fn a_pool_from_another_process_is_discarded() {
        // Stands in for a fork: the pool claims another pid, as a child's
        // inherited copy would.
        nonce().unwrap();
        let (inherited, next) = POOL.with(|pool| {
            let mut pool = pool.borrow_mut();
            pool.pid = pool.pid.wrapping_add(1);
            (pool.chunks, pool.next)
        });
        assert!(next < POOL_NONCES, "the pool should still hold nonces");
        let drawn = nonce().unwrap();
        assert!(!inherited.contains(&drawn), "reused an inherited nonce");
        POOL.with(|pool| {
            let pool = pool.borrow();
            assert_eq!(pool.pid, std::process::id());
            assert_eq!(pool.next, 1, "the pool should have been refilled");
        });
    }

    #[test]
    fn fill_secret_fills() {
        let mut a = [0u8; 32];
        let mut b = [0u8; 32];
        fill_secret(&mut a).unwrap();
        fill_secret(&mut b).unwrap();
        assert_ne!(a, b);
        assert_ne!(a, [0; 32]);
    }
}
