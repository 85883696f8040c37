//! Reads from several threads on one handle: point gets (hits) from 1
//! thread, then from as many threads as the machine has cores, all on the
//! same `Vault` or `EncryptedVault`, interleaved.

use super::*;

/// Reads per thread in one repetition.
const READS: usize = 20_000;

/// One line of the threads table.
pub(super) struct ThreadsRow {
    pub(super) store: &'static str,
    pub(super) threads: usize,
    /// Reads per second, all threads together: 1 thread, `threads` threads.
    pub(super) rates: [f64; 2],
}

impl ThreadsRow {
    pub(super) fn scaling(&self) -> f64 {
        self.rates[1] / self.rates[0].max(1e-9)
    }
}

/// The threads workload on the 100 B stores of `stores`.
pub(super) fn thread_workloads(s: &Settings, stores: &Stores) -> Result<Vec<ThreadsRow>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let entries = s.n(ENTRIES);
    let reads = s.n(READS);
    let mut out = Vec::new();
    for (label, way) in [
        ("`Vault`", Way::Plain),
        ("`EncryptedVault`", Way::Encrypted),
    ] {
        let store = stores.of(way);
        let mut times: [Vec<Duration>; 2] = Default::default();
        for rep in 0..s.reps {
            for k in 0..2 {
                let i = (k + rep) % 2;
                let n = if i == 0 { 1 } else { threads };
                times[i].push(parallel_gets(store, n, reads, entries, rep)?);
            }
        }
        let [one, many] = times.map(median);
        out.push(ThreadsRow {
            store: label,
            threads,
            rates: [rate(reads, one), rate(reads * threads, many)],
        });
    }
    Ok(out)
}

/// `reads` gets of present names on each of `n` threads at once; the time
/// from the start of the first to the end of the last.
fn parallel_gets(
    store: &Target,
    n: usize,
    reads: usize,
    entries: usize,
    rep: usize,
) -> Result<Duration> {
    let names: Vec<Vec<String>> = (0..n)
        .map(|t| {
            random_order(reads, entries, (rep * 31 + t) as u64 + 5)
                .into_iter()
                .map(name)
                .collect()
        })
        .collect();
    match store {
        Target::Plain(v) => on_threads(v, &names),
        Target::Encrypted(v) => on_threads(v, &names),
        Target::Raw(_) => Err("a raw connection is not shared between threads".into()),
    }
}

/// One thread per list of `names`, each getting its names from `store`.
fn on_threads<S: Store + Sync>(store: &S, names: &[Vec<String>]) -> Result<Duration> {
    let start = std::time::Instant::now();
    let missed = std::thread::scope(|scope| {
        let handles: Vec<_> = names
            .iter()
            .map(|names| {
                scope.spawn(move || -> vaults::Result<usize> {
                    let mut missed = 0;
                    for n in names {
                        missed += usize::from(store.get_bytes(n)?.is_none());
                    }
                    Ok(missed)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a reading thread panicked"))
            .sum::<vaults::Result<usize>>()
    })?;
    let time = start.elapsed();
    assert_eq!(missed, 0, "a lookup missed");
    Ok(time)
}
