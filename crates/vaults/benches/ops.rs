//! Everyday operations on 100,000 entries of 100 B and 4 KiB, each done three
//! ways on the same schema: raw rusqlite running the vault's SQL with its
//! pragmas (`raw`), `Vault` (`vault`) and `EncryptedVault` (`encrypted`).
//!
//! ```text
//! cargo bench --bench ops                 # everything (builds six stores first, ~1 min)
//! cargo bench --bench ops -- get_hit      # one group
//! ```
//!
//! For ratios measured side by side in one run, use the comparison program
//! (`cargo run --release --example compare`); this harness gives per-call
//! timings with divan's statistics. Cleanup is in `benches/cleanup.rs`.
#![allow(
    clippy::expect_used,
    reason = "a benchmark whose setup fails has nothing to measure"
)]

#[path = "workloads/mod.rs"]
mod workloads;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::rc::Rc;

use divan::Bencher;
use vaults::Durability;
use workloads::{ENTRIES, SIZES, Target, Way, missing_name, name, random_order, value};

/// Entries per store: [`ENTRIES`] when measuring, fewer when `cargo test
/// --benches` runs each bench once as a test.
fn entries() -> usize {
    if std::env::args().any(|a| a == "--bench") && !std::env::args().any(|a| a == "--test") {
        ENTRIES
    } else {
        1_000
    }
}

/// One store: who, and how large its values are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Case {
    way: Way,
    size: usize,
}

impl fmt::Display for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:>9} {:>4} B", self.way.to_string(), self.size)
    }
}

const CASES: [Case; 6] = [
    Case {
        way: Way::Raw,
        size: SIZES[0],
    },
    Case {
        way: Way::Plain,
        size: SIZES[0],
    },
    Case {
        way: Way::Encrypted,
        size: SIZES[0],
    },
    Case {
        way: Way::Raw,
        size: SIZES[1],
    },
    Case {
        way: Way::Plain,
        size: SIZES[1],
    },
    Case {
        way: Way::Encrypted,
        size: SIZES[1],
    },
];

thread_local! {
    /// The folder holding the stores, removed at the end of `main`.
    static DIR: tempfile::TempDir = tempfile::tempdir().expect("a temporary folder");
    /// The filled stores, built on first use: (case, durability) → store.
    static STORES: RefCell<HashMap<(Case, bool), Rc<Target>>> = RefCell::new(HashMap::new());
}

fn path_of(case: Case) -> PathBuf {
    DIR.with(|d| d.path().join(format!("{}-{}.db", case.way, case.size)))
}

/// The filled store of `case`, with durable commits or `NORMAL` ones.
fn store(case: Case, durable: bool) -> Rc<Target> {
    if let Some(s) = STORES.with_borrow(|m| m.get(&(case, durable)).cloned()) {
        return s;
    }
    let built = Rc::new(if durable {
        Target::filled(case.way, &path_of(case), entries(), case.size).expect("fill a store")
    } else {
        // A second handle on the filled file.
        store(case, true);
        Target::open(case.way, &path_of(case), Durability::Normal).expect("open a store")
    });
    STORES.with_borrow_mut(|m| m.insert((case, durable), Rc::clone(&built)));
    built
}

/// Names of entries in a fixed pseudo-random order, handed out in turn.
struct Names {
    names: Vec<String>,
    next: Cell<usize>,
}

impl Names {
    fn new(make: impl Fn(usize) -> String, seed: u64) -> Names {
        let names = random_order(4_096, entries(), seed)
            .into_iter()
            .map(make)
            .collect();
        Names {
            names,
            next: Cell::new(0),
        }
    }

    fn next(&self) -> &str {
        let i = self.next.get();
        self.next.set((i + 1) % self.names.len());
        &self.names[i]
    }
}

#[divan::bench(args = CASES)]
fn get_hit(bencher: Bencher, case: Case) {
    let store = store(case, true);
    let names = Names::new(name, 1);
    bencher.bench_local(|| store.get(names.next()).expect("get").expect("a hit"));
}

#[divan::bench(args = CASES)]
fn get_miss(bencher: Bencher, case: Case) {
    let store = store(case, true);
    let names = Names::new(missing_name, 2);
    bencher.bench_local(|| assert!(store.get(names.next()).expect("get").is_none()));
}

/// Overwrites a random entry, one commit each.
fn put(bencher: Bencher, case: Case, durable: bool) {
    let store = store(case, durable);
    let names = Names::new(name, 3);
    let data = value(7, case.size);
    bencher.bench_local(|| store.put(names.next(), &data).expect("put"));
}

#[divan::bench(args = CASES, sample_count = 20, sample_size = 5)]
fn put_durable(bencher: Bencher, case: Case) {
    put(bencher, case, true);
}

#[divan::bench(args = CASES)]
fn put_normal(bencher: Bencher, case: Case) {
    put(bencher, case, false);
}

/// Removes the entries of a bulk put once divan has stopped the clock (it
/// drops a bench's outputs outside the timed part).
struct RemoveAfter(Rc<Target>, Vec<String>);

impl Drop for RemoveAfter {
    fn drop(&mut self) {
        self.0.remove_all(&self.1).expect("remove a bulk put");
    }
}

/// 10,000 new entries in one transaction.
#[divan::bench(args = CASES, sample_count = 10, sample_size = 1)]
fn bulk_put_10k(bencher: Bencher, case: Case) {
    let store = store(case, true);
    bencher
        .with_inputs(|| {
            (0..10_000)
                .map(|i| (format!("bulk/{i:06}"), value(i, case.size)))
                .collect::<Vec<_>>()
        })
        .bench_local_values(|items| {
            store.bulk_put(&items).expect("bulk put");
            RemoveAfter(
                Rc::clone(&store),
                items.into_iter().map(|(n, _)| n).collect(),
            )
        });
}

/// Every name, sorted.
#[divan::bench(args = CASES, sample_count = 10, sample_size = 1)]
fn list_names(bencher: Bencher, case: Case) {
    let store = store(case, true);
    bencher.bench_local(|| assert_eq!(store.keys().expect("keys").len(), entries()));
}

/// One seal's nonce: a `getrandom` call for 24 bytes, as `EncryptedVault`
/// draws it (no pool: a pool repeats after a fork into a new PID namespace
/// or a VM clone). Measured at ~0.40 µs on Linux 6.18, against ~0.25 µs for
/// the per-thread pool it replaced.
#[divan::bench]
fn nonce_from_the_os() -> [u8; 24] {
    let mut nonce = [0u8; 24];
    getrandom::fill(&mut nonce).expect("the OS generator");
    nonce
}

fn main() {
    // Build every store before timing anything.
    for case in CASES {
        store(case, true);
        store(case, false);
    }
    divan::main();
    STORES.with_borrow_mut(HashMap::clear);
}
