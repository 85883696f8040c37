//! Reads from several threads on one handle: point gets (hits) and full
//! listings from 1 thread, then from as many threads as the machine has
//! cores, all on the same `Vault` or `EncryptedVault`, interleaved.

use super::*;

/// Point gets per thread in one repetition.
const READS: usize = 20_000;
/// Listings of every name per thread in one repetition.
const LISTINGS: usize = 4;

/// One line of the threads table.
pub(super) struct ThreadsRow {
    pub(super) workload: String,
    pub(super) threads: usize,
    /// Operations per second, all threads together: 1 thread, `threads`
    /// threads.
    pub(super) rates: [f64; 2],
}

impl ThreadsRow {
    pub(super) fn scaling(&self) -> f64 {
        self.rates[1] / self.rates[0].max(1e-9)
    }
}

/// What one thread does in one repetition: `Get(names)` or `List(times)`.
enum Job {
    Get(Vec<String>),
    List(usize),
}

/// The threads workloads on the 100 B stores of `stores`.
pub(super) fn thread_workloads(s: &Settings, stores: &Stores) -> Result<Vec<ThreadsRow>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let entries = s.n(ENTRIES);
    let reads = s.n(READS);
    let mut out = Vec::new();
    for (label, way) in [
        ("`Vault`", Way::Plain),
        ("`EncryptedVault`", Way::Encrypted),
    ] {
        for listing in [false, true] {
            let store = stores.of(way);
            let mut times: [Vec<Duration>; 2] = Default::default();
            for rep in 0..s.reps {
                for k in 0..2 {
                    let i = (k + rep) % 2;
                    let n = if i == 0 { 1 } else { threads };
                    let jobs: Vec<Job> = (0..n)
                        .map(|t| match listing {
                            true => Job::List(LISTINGS),
                            false => Job::Get(
                                random_order(reads, entries, (rep * 31 + t) as u64 + 5)
                                    .into_iter()
                                    .map(name)
                                    .collect(),
                            ),
                        })
                        .collect();
                    times[i].push(on_threads(store, &jobs, entries)?);
                }
            }
            let [one, many] = times.map(median);
            let (what, per_thread) = match listing {
                true => ("list all names (listings/s)", LISTINGS),
                false => ("point get (hit) (gets/s)", reads),
            };
            out.push(ThreadsRow {
                workload: format!("{label}, {what}"),
                threads,
                rates: [rate(per_thread, one), rate(per_thread * threads, many)],
            });
        }
    }
    Ok(out)
}

/// Runs each job on a thread of its own, all at once, on `store`; the time
/// from the start of the first to the end of the last.
fn on_threads(store: &Target, jobs: &[Job], entries: usize) -> Result<Duration> {
    match store {
        Target::Plain(v) => run_jobs(v, jobs, entries),
        Target::Encrypted(v) => run_jobs(v, jobs, entries),
        Target::Raw(_) => Err("a raw connection is not shared between threads".into()),
    }
}

fn run_jobs<S: Store + Sync>(store: &S, jobs: &[Job], entries: usize) -> Result<Duration> {
    let start = std::time::Instant::now();
    let wrong = std::thread::scope(|scope| {
        let handles: Vec<_> = jobs
            .iter()
            .map(|job| {
                scope.spawn(move || -> vaults::Result<usize> {
                    let mut wrong = 0;
                    match job {
                        Job::Get(names) => {
                            for n in names {
                                wrong += usize::from(store.get_bytes(n)?.is_none());
                            }
                        }
                        Job::List(times) => {
                            for _ in 0..*times {
                                wrong += usize::from(store.keys()?.len() != entries);
                            }
                        }
                    }
                    Ok(wrong)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a reading thread panicked"))
            .sum::<vaults::Result<usize>>()
    })?;
    let time = start.elapsed();
    assert_eq!(wrong, 0, "a read found the wrong thing");
    Ok(time)
}
