//! The vault measured beside its limit: every workload done three ways in one
//! process, interleaved (raw rusqlite running the vault's SQL on the same
//! schema with the same pragmas, `Vault`, `EncryptedVault`), on 100,000
//! entries of 100 B and of 4 KiB; then `cleanup_expired` on 1,000,000 rows,
//! unlock with the default Argon2id parameters, `rotate` on 100,000 entries
//! and the peak memory of listing 1,000,000 names.
//!
//! ```text
//! cargo run --release --example compare                      # the table
//! cargo run --release --example compare -- --markdown perf.md --json perf.json
//! cargo run --release --example compare -- --reps 9          # more repetitions
//! cargo run --release --example compare -- --quick           # 10x smaller, a smoke run
//! cargo run --release --example compare -- --pg URL          # also on a PostgreSQL server
//! cargo run --release --example compare -- --pg URL --pg-only
//! cargo run --release --example compare -- --peers           # + SQLCipher, Redis
//! cargo run --release --example compare -- --peers --python venv/bin/python
//! ```
//!
//! With `--peers`, `EncryptedVault` is also measured beside SQLCipher (with
//! its default page cache and with the vault's), Redis on loopback (started
//! here from `redis-server`, with no persistence and with `appendfsync
//! always`) and, with `--python`, the Python peers (see `peers.rs`).
//!
//! With `--pg postgres://user:pw@host/db` (or `VAULTS_BENCH_PG_URL`), the
//! point, bulk, listing and cleanup workloads also run on that server: raw
//! SQL on the vault's tables beside `Vault` and `EncryptedVault` there,
//! with the round trips of each operation (see `server.rs`).
//!
//! Each figure is the median of `--reps` repetitions (default 5); ratios are
//! the vault's throughput over raw's, from the same run.
#![allow(
    clippy::expect_used,
    clippy::print_stdout,
    reason = "a measuring program: it prints, and a failed setup aborts it"
)]

#[path = "../../benches/workloads/mod.rs"]
mod workloads;

mod cleanup;
mod keys;
mod memory;
mod peers;
mod point;
mod report;
mod server;
mod threads;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use cleanup::*;
use keys::*;
use memory::*;
use peers::*;
use point::*;
use report::*;
use server::*;
use threads::*;
use vaults::{
    Durability, EncryptedVault, KdfParams, LockedVault, ManualClock, OpenOptions, Passphrase, Store,
};
use workloads::{
    ENTRIES, PASSPHRASE, Result, SIZES, Target, Way, missing_name, name, random_order, timed, value,
};

/// Lookups per repetition of a point-get workload.
const GETS: usize = 20_000;
/// Durable single puts per repetition (each waits for the disk).
const DURABLE_PUTS: usize = 300;
/// `NORMAL` single puts per repetition.
const NORMAL_PUTS: usize = 2_000;
/// Entries of one bulk put.
const BULK: usize = 10_000;
/// Rows of the cleanup vaults, and the share that expired.
const CLEANUP_ROWS: usize = 1_000_000;
const CLEANUP_EXPIRED_EVERY: usize = 10;
/// "Now" when the cleanup vaults are built; cleanup runs 2 s later.
const BUILT_AT: i64 = 1_700_000_000_000;
const CLEANUP_AT: i64 = BUILT_AT + 2_000;

struct Settings {
    reps: usize,
    /// Divides every size (entries, rows, operations) for a smoke run.
    scale: usize,
    markdown: Option<PathBuf>,
    json: Option<PathBuf>,
    dir: Option<PathBuf>,
    /// A PostgreSQL URL (without `vault=`) to run the server workloads on.
    pg: Option<String>,
    /// Only the server workloads.
    pg_only: bool,
    /// Also the peers: SQLCipher, Redis, and the Python ones.
    peers: bool,
    /// The Python to run the Python package's benchmark with (`--peers`).
    python: Option<PathBuf>,
}

impl Settings {
    fn parse() -> Result<Settings> {
        let mut s = Settings {
            reps: 5,
            scale: 1,
            markdown: None,
            json: None,
            dir: None,
            pg: std::env::var("VAULTS_BENCH_PG_URL").ok(),
            pg_only: false,
            peers: false,
            python: None,
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let mut value = || args.next().ok_or(format!("{arg} needs a value"));
            match arg.as_str() {
                "--reps" => s.reps = value()?.parse()?,
                "--quick" => s.scale = 10,
                "--markdown" => s.markdown = Some(value()?.into()),
                "--json" => s.json = Some(value()?.into()),
                "--dir" => s.dir = Some(value()?.into()),
                "--pg" => s.pg = Some(value()?),
                "--pg-only" => s.pg_only = true,
                "--peers" => s.peers = true,
                "--python" => s.python = Some(value()?.into()),
                "--help" | "-h" => {
                    println!(
                        "usage: compare [--reps N] [--quick] [--markdown FILE]  [--json FILE] [--dir DIR] [--pg URL [--pg-only]] [--peers [--python PYTHON]]"
                    );
                    std::process::exit(0);
                }
                other => return Err(format!("unknown argument {other}").into()),
            }
        }
        if s.python.is_some() && !s.peers {
            return Err("--python goes with --peers".into());
        }
        if s.pg_only && s.pg.is_none() {
            return Err("--pg-only needs --pg URL".into());
        }
        if s.reps == 0 {
            return Err("--reps must be at least 1".into());
        }
        Ok(s)
    }

    fn n(&self, full: usize) -> usize {
        (full / self.scale).max(1)
    }
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort_unstable();
    times.get(times.len() / 2).copied().unwrap_or_default()
}

/// Operations per second of `ops` operations taking `time`.
fn rate(ops: usize, time: Duration) -> f64 {
    ops as f64 / time.as_secs_f64().max(1e-9)
}

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    if args.next().as_deref() == Some("--peak-list") {
        let path = args.next().ok_or("--peak-list needs a path")?;
        let kind = args.next().ok_or("--peak-list needs a kind")?;
        return peak_child(Path::new(&path), &kind);
    }
    let s = Settings::parse()?;
    let scratch = match &s.dir {
        Some(dir) => tempfile::tempdir_in(dir)?,
        None => tempfile::tempdir()?,
    };
    let dir = scratch.path();
    let machine = machine();
    eprintln!("{machine}");
    if s.pg_only {
        let base = s.pg.as_deref().unwrap_or_default();
        eprintln!("server workloads");
        let server = server_workloads(&s, base)?;
        let mut markdown = format!(
            "Machine: {machine}. Medians of {} repetitions, interleaved.\n",
            s.reps
        );
        server.markdown(&mut markdown);
        println!("{markdown}");
        if let Some(path) = &s.markdown {
            std::fs::write(path, &markdown)?;
        }
        if let Some(path) = &s.json {
            std::fs::write(path, serde_json::to_string_pretty(&server.json())?)?;
        }
        return Ok(());
    }

    let mut rows = Vec::new();
    let mut shaped_bulks = Vec::new();
    let mut threads = Vec::new();
    for size in SIZES {
        eprintln!("point workloads, {}", size_label(size));
        rows.extend(point_workloads(
            &s,
            dir,
            size,
            &mut shaped_bulks,
            &mut threads,
        )?);
    }
    eprintln!("cleanup on {} rows", s.n(CLEANUP_ROWS));
    let cleanup = cleanup(&s, dir)?;
    let peak = [
        peak_listing(&dir.join("cleanup-plain.db"), false)?,
        peak_listing(&dir.join("cleanup-encrypted.db"), true)?,
    ];
    eprintln!("unlock and rotate");
    let unlock = unlock(&s, dir)?;
    let rotate = rotate(&s, dir)?;
    let peers = match s.peers {
        true => {
            eprintln!("peers");
            Some(peer_workloads(&s, dir)?)
        }
        false => None,
    };
    let server = match &s.pg {
        Some(base) => {
            eprintln!("server workloads");
            Some(server_workloads(&s, base)?)
        }
        None => None,
    };
    let report = Report {
        machine,
        reps: s.reps,
        rows,
        shaped_bulks,
        threads,
        cleanup,
        unlock,
        rotate,
        peak,
        peers,
        server,
    };
    let markdown = report.markdown();
    println!("{markdown}");
    if let Some(path) = &s.markdown {
        std::fs::write(path, &markdown)?;
    }
    if let Some(path) = &s.json {
        std::fs::write(path, serde_json::to_string_pretty(&report.json())?)?;
    }
    Ok(())
}
