//! Per-row crypto of bulk operations spread over the machine's cores.
//!
//! Sealing a row (a blind index, two AEAD seals, two nonces) or opening a
//! sealed name takes microseconds on one core, and a bulk put or a listing
//! does it for every row. Rows are independent, so a large batch is cut into
//! one contiguous chunk per core, each done on a scoped thread and joined in
//! order: the result is the same as a loop, in the same order, whatever the
//! number of cores. A small batch stays on the calling thread, where a
//! thread's start (~20 µs) would cost more than it saves.

use std::num::NonZeroUsize;
use std::sync::OnceLock;

use crate::Result;

/// Below this many items a batch is done on the calling thread.
const MIN_PARALLEL: usize = 512;

/// At most this many threads, whatever the machine reports.
const MAX_THREADS: usize = 16;

/// The number of threads a large batch is spread over (the cores this
/// process may use, measured once).
fn threads() -> usize {
    static THREADS: OnceLock<usize> = OnceLock::new();
    *THREADS.get_or_init(|| {
        std::thread::available_parallelism()
            .map_or(1, NonZeroUsize::get)
            .clamp(1, MAX_THREADS)
    })
}

/// `items.iter().map(f).collect()`, on several threads when the batch is
/// large: the results in the order of `items`, or the first error (by
/// position) when any call fails.
pub(crate) fn map<T, R, F>(items: &[T], f: F) -> Result<Vec<R>>
where
    T: Sync,
    R: Send,
    F: Fn(&T) -> Result<R> + Sync,
{
    let threads = threads();
    if threads == 1 || items.len() < MIN_PARALLEL {
        return items.iter().map(&f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    let f = &f;
    let parts: Vec<Result<Vec<R>>> = std::thread::scope(|scope| {
        let mut chunks = items.chunks(chunk);
        // The first chunk runs here while the others run on their threads.
        let first = chunks.next().unwrap_or_default();
        let handles: Vec<_> = chunks
            .map(|part| scope.spawn(move || part.iter().map(f).collect::<Result<Vec<R>>>()))
            .collect();
        let mut parts = vec![first.iter().map(f).collect()];
        for handle in handles {
            // A panic in `f` is a bug, not an input: carry it to the caller
            // as the panic it is.
            parts.push(
                handle
                    .join()
                    .unwrap_or_else(|p| std::panic::resume_unwind(p)),
            );
        }
        parts
    });
    let mut out = Vec::with_capacity(items.len());
    for part in parts {
        out.extend(part?);
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::Error;

    #[test]
    fn keeps_the_order_of_large_and_small_batches() {
        for n in [0, 1, MIN_PARALLEL - 1, MIN_PARALLEL, 10_007] {
            let items: Vec<usize> = (0..n).collect();
            let out = map(&items, |i| Ok(i * 2)).unwrap();
            assert_eq!(out, items.iter().map(|i| i * 2).collect::<Vec<_>>());
        }
    }

    #[test]
    fn returns_the_first_error_by_position() {
        let items: Vec<usize> = (0..10_000).collect();
        let out = map(&items, |&i| match i {
            7_000 | 9_000 => Err(Error::Integrity(crate::Integrity::Name)),
            3_000 => Err(Error::Integrity(crate::Integrity::Entry)),
            _ => Ok(i),
        });
        assert!(matches!(
            out,
            Err(Error::Integrity(crate::Integrity::Entry))
        ));
    }

    #[test]
    fn runs_on_several_threads_when_the_machine_has_them() {
        let items: Vec<usize> = (0..4_096).collect();
        let ids = map(&items, |_| Ok(std::thread::current().id())).unwrap();
        let distinct: std::collections::HashSet<_> = ids.into_iter().collect();
        assert_eq!(distinct.len(), threads().min(4_096));
    }
}
