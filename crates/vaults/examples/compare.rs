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
//! ```
//!
//! Each figure is the median of `--reps` repetitions (default 5); ratios are
//! the vault's throughput over raw's, from the same run.
#![allow(
    clippy::expect_used,
    clippy::print_stdout,
    reason = "a measuring program: it prints, and a failed setup aborts it"
)]

#[path = "../benches/workloads/mod.rs"]
mod workloads;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

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
}

impl Settings {
    fn parse() -> Result<Settings> {
        let mut s = Settings {
            reps: 5,
            scale: 1,
            markdown: None,
            json: None,
            dir: None,
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
                "--help" | "-h" => {
                    println!(
                        "usage: compare [--reps N] [--quick] [--markdown FILE] [--json FILE] [--dir DIR]"
                    );
                    std::process::exit(0);
                }
                other => return Err(format!("unknown argument {other}").into()),
            }
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

/// One line of the main table: throughput each way, and the targets.
struct Row {
    workload: String,
    /// Operations per second: raw, vault, encrypted.
    rates: [f64; 3],
    /// Minimum ratio over raw for the vault and the encrypted vault.
    targets: [Option<f64>; 2],
}

impl Row {
    fn ratio(&self, way: usize) -> f64 {
        self.rates[way] / self.rates[0]
    }
}

/// Runs one workload each way, `reps` times, interleaved (the order of the
/// ways turns at every repetition), and returns the median rates.
fn interleaved(
    reps: usize,
    ops: usize,
    mut run: impl FnMut(Way, usize) -> Result<Duration>,
) -> Result<[f64; 3]> {
    let mut times: [Vec<Duration>; 3] = Default::default();
    for rep in 0..reps {
        for k in 0..3 {
            let i = (k + rep) % 3;
            times[i].push(run(Way::ALL[i], rep)?);
        }
    }
    Ok(times.map(|t| rate(ops, median(t))))
}

/// The stores of one value size, each way, durable and `NORMAL`.
struct Stores {
    durable: Vec<Target>,
    normal: Vec<Target>,
}

impl Stores {
    fn build(dir: &Path, entries: usize, size: usize) -> Result<Stores> {
        let mut durable = Vec::new();
        let mut normal = Vec::new();
        for way in Way::ALL {
            let path = dir.join(format!("{way}-{size}.db"));
            durable.push(Target::filled(way, &path, entries, size)?);
            normal.push(Target::open(way, &path, Durability::Normal)?);
        }
        Ok(Stores { durable, normal })
    }

    fn of(&self, way: Way) -> &Target {
        &self.durable[way as usize]
    }

    fn normal(&self, way: Way) -> &Target {
        &self.normal[way as usize]
    }
}

/// The main table's rows for one value size.
fn point_workloads(
    s: &Settings,
    dir: &Path,
    size: usize,
    shaped_bulks: &mut Vec<ShapedBulk>,
) -> Result<Vec<Row>> {
    let entries = s.n(ENTRIES);
    let stores = Stores::build(dir, entries, size)?;
    let label = |what: &str| format!("{what}, {}", size_label(size));
    let mut rows = Vec::new();

    let gets = s.n(GETS);
    let rates = point_gets(
        s.reps,
        gets,
        &stores,
        |rep| {
            random_order(gets, entries, rep as u64 + 1)
                .into_iter()
                .map(name)
                .collect()
        },
        true,
    )?;
    rows.push(Row {
        workload: label("point get (hit)"),
        rates,
        targets: [Some(0.9), (size == 100).then_some(0.7)],
    });

    let rates = point_gets(
        s.reps,
        gets,
        &stores,
        |rep| {
            random_order(gets, entries, rep as u64 + 7)
                .into_iter()
                .map(missing_name)
                .collect()
        },
        false,
    )?;
    rows.push(Row {
        workload: label("point get (miss)"),
        rates,
        targets: [Some(0.9), (size == 100).then_some(0.85)],
    });

    for (what, ops, durable) in [
        ("single put (durable, FULL)", s.n(DURABLE_PUTS), true),
        ("single put (NORMAL)", s.n(NORMAL_PUTS), false),
    ] {
        let rates = interleaved(s.reps, ops, |way, rep| {
            let order = random_order(ops, entries, rep as u64 + 13);
            let items: Vec<(String, Vec<u8>)> = order
                .iter()
                .map(|&i| (name(i), value(i + rep + 1, size)))
                .collect();
            let store = if durable {
                stores.of(way)
            } else {
                stores.normal(way)
            };
            Ok(timed(|| items.iter().try_for_each(|(n, v)| store.put(n, v)))?.0)
        })?;
        rows.push(Row {
            workload: label(what),
            rates,
            targets: [durable.then_some(0.9), durable.then_some(0.9)],
        });
    }

    let bulk = s.n(BULK);
    let encrypted_file = dir.join(format!("{}-{size}.db", Way::Encrypted));
    let mut shaped = Vec::new();
    let rates = interleaved(s.reps, bulk, |way, rep| {
        let items: Vec<(String, Vec<u8>)> = (0..bulk)
            .map(|i| (format!("bulk/{rep}/{i:06}"), value(i, size)))
            .collect();
        let store = stores.of(way);
        let (time, ()) = timed(|| store.bulk_put(&items))?;
        let names: Vec<String> = items.into_iter().map(|(n, _)| n).collect();
        store.remove_all(&names)?;
        if way == Way::Encrypted {
            shaped.push(shaped_bulk(&encrypted_file, bulk)?);
        }
        Ok(time)
    })?;
    let workload = label(&format!("bulk put ({bulk} in one transaction)"));
    shaped_bulks.push((workload.clone(), rate(bulk, median(shaped)), rates[2]));
    rows.push(Row {
        workload,
        rates,
        targets: [None, Some(0.6)],
    });

    let rates = interleaved(s.reps, entries, |way, _| {
        let store = stores.of(way);
        let (time, names) = timed(|| store.keys())?;
        assert_eq!(names.len(), entries, "the listing lost names");
        Ok(time)
    })?;
    rows.push(Row {
        workload: label(&format!("list all {entries} names (names/s)")),
        rates,
        targets: [None, (size == 100).then_some(0.25)],
    });
    Ok(rows)
}

/// A bulk put's workload, raw rusqlite's rate writing rows of the encrypted
/// shape into the encrypted file, and `EncryptedVault`'s rate.
type ShapedBulk = (String, f64, f64);

/// Raw rusqlite writing `n` random rows shaped as sealed ones (a 32-byte
/// hashed key, the `name` and `value` lengths of a stored row) into the
/// encrypted vault at `path`, sorted by key as `put_many` does, in one
/// transaction; then deleting them again (not timed). The ceiling of an
/// encrypted bulk put before any crypto: the same B-tree work.
fn shaped_bulk(path: &Path, n: usize) -> Result<Duration> {
    let conn = workloads::raw_connection(path, Durability::Full)?;
    let (name_len, value_len): (u32, u32) = conn.query_row(
        "SELECT length(name), length(value) FROM entries LIMIT 1",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let random = |len: u32| -> Result<Vec<u8>> {
        let mut bytes = vec![0; len as usize];
        getrandom::fill(&mut bytes).map_err(|e| e.to_string())?;
        Ok(bytes)
    };
    let mut rows = Vec::with_capacity(n);
    for _ in 0..n {
        rows.push((random(32)?, random(name_len)?, random(value_len)?));
    }
    let (time, ()) = timed(|| {
        rows.sort_by(|a, b| a.0.cmp(&b.0));
        workloads::raw_upsert_all(
            &conn,
            rows.iter().map(|(k, n, v)| (&k[..], Some(&n[..]), &v[..])),
        )
    })?;
    let tx = conn.unchecked_transaction()?;
    {
        let mut delete = tx.prepare_cached("DELETE FROM entries WHERE key = ?1")?;
        for (key, _, _) in &rows {
            delete.execute([key])?;
        }
    }
    tx.commit()?;
    Ok(time)
}

/// `ops` lookups each way, of the names `names(rep)` gives, all found
/// (`hits`) or none.
fn point_gets(
    reps: usize,
    ops: usize,
    stores: &Stores,
    names: impl Fn(usize) -> Vec<String>,
    hits: bool,
) -> Result<[f64; 3]> {
    interleaved(reps, ops, |way, rep| {
        let names = names(rep);
        let store = stores.of(way);
        let (time, ()) = timed(|| {
            for n in &names {
                assert_eq!(
                    store.get(n)?.is_some(),
                    hits,
                    "a lookup found the wrong thing"
                );
            }
            Ok(())
        })?;
        Ok(time)
    })
}

fn size_label(size: usize) -> String {
    match size {
        4096 => "4 KiB".into(),
        n => format!("{n} B"),
    }
}

/// `cleanup_expired` on [`CLEANUP_ROWS`] rows, every 10th expired.
struct Cleanup {
    rows: usize,
    expired: usize,
    /// Median times: raw DELETE on the plain file, `Vault`, raw DELETE on
    /// the encrypted file, `LockedVault` (no key), a full scan decoding
    /// every row.
    raw_plain: Duration,
    vault: Duration,
    raw_encrypted: Duration,
    locked: Duration,
    full_scan: Duration,
}

/// Builds the cleanup template of `kind` ("plain" or "encrypted").
fn cleanup_template(dir: &Path, rows: usize, encrypted: bool) -> Result<PathBuf> {
    let path = dir.join(if encrypted {
        "cleanup-encrypted.db"
    } else {
        "cleanup-plain.db"
    });
    let options = OpenOptions::new()
        .clock(ManualClock::new(BUILT_AT))
        .durability(Durability::Normal);
    fn fill<S: Store>(s: &S, rows: usize) -> vaults::Result<()> {
        s.transaction(|tx| {
            for i in 0..rows {
                let value = (
                    format!("user-{}", i % 9_973),
                    format!("{:032x}", i * 0x9e37),
                );
                if i % CLEANUP_EXPIRED_EVERY == 0 {
                    tx.put_with_ttl(&name(i), &value, Duration::from_secs(1))?;
                } else if i % 2 == 0 {
                    tx.put(&name(i), &value)?;
                } else {
                    tx.put_with_ttl(&name(i), &value, Duration::from_secs(86_400))?;
                }
            }
            Ok(())
        })
    }
    if encrypted {
        let pass = Passphrase::new(PASSPHRASE)?;
        let v = EncryptedVault::create_with(&options, &path, &pass, KdfParams::MIN)?;
        fill(&v, rows)?;
        v.close()?;
    } else {
        let v = options.open_or_create(&path)?;
        fill(&v, rows)?;
        v.close()?;
    }
    Ok(path)
}

/// A fresh copy of `template`, made outside the timed part.
fn copy_of(template: &Path, dir: &Path) -> Result<PathBuf> {
    let path = dir.join("cleanup-copy.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    std::fs::copy(template, &path)?;
    Ok(path)
}

fn cleanup(s: &Settings, dir: &Path) -> Result<Cleanup> {
    let rows = s.n(CLEANUP_ROWS);
    let expired = rows.div_ceil(CLEANUP_EXPIRED_EVERY);
    let plain = cleanup_template(dir, rows, false)?;
    let encrypted = cleanup_template(dir, rows, true)?;
    let options = OpenOptions::new().clock(ManualClock::new(CLEANUP_AT));
    let mut times: [Vec<Duration>; 5] = Default::default();
    for rep in 0..s.reps {
        for k in 0..5 {
            let i = (k + rep) % 5;
            let template = if matches!(i, 2 | 3) {
                &encrypted
            } else {
                &plain
            };
            let path = copy_of(template, dir)?;
            let (time, n) = match i {
                0 | 2 => {
                    let conn = workloads::raw_connection(&path, Durability::Full)?;
                    timed(|| Ok(conn.execute(workloads::SQL_CLEANUP, [CLEANUP_AT])?))?
                }
                1 => {
                    let v = options.open(&path)?;
                    timed(|| Ok(v.cleanup_expired()? as usize))?
                }
                3 => {
                    let v = LockedVault::open_with(&options, &path)?;
                    timed(|| Ok(v.cleanup_expired()? as usize))?
                }
                _ => {
                    let mut conn = workloads::raw_connection(&path, Durability::Full)?;
                    timed(|| workloads::full_scan_delete(&mut conn, CLEANUP_AT))?
                }
            };
            assert_eq!(n, expired, "cleanup deleted the wrong number of rows");
            times[i].push(time);
        }
    }
    let [raw_plain, vault, raw_encrypted, locked, full_scan] = times.map(median);
    Ok(Cleanup {
        rows,
        expired,
        raw_plain,
        vault,
        raw_encrypted,
        locked,
        full_scan,
    })
}

/// Unlocking with the default Argon2id parameters (median of the reps).
fn unlock(s: &Settings, dir: &Path) -> Result<Duration> {
    let path = dir.join("unlock.db");
    let pass = Passphrase::new(PASSPHRASE)?;
    EncryptedVault::create(&path, &pass, KdfParams::DEFAULT)?.close()?;
    let mut times = Vec::new();
    for _ in 0..s.reps {
        times.push(timed(|| Ok(EncryptedVault::open(&path, &pass)?))?.0);
    }
    Ok(median(times))
}

/// `rotate` on a vault of [`ENTRIES`] 100-byte entries (median of 3).
fn rotate(s: &Settings, dir: &Path) -> Result<(usize, Duration)> {
    let entries = s.n(ENTRIES);
    let path = dir.join("rotate.db");
    drop(Target::filled(Way::Encrypted, &path, entries, 100)?);
    let pass = Passphrase::new(PASSPHRASE)?;
    let mut vault = EncryptedVault::open(&path, &pass)?;
    let slot = vault.unlocked_slot();
    let mut times = Vec::new();
    for _ in 0..s.reps.min(3) {
        times.push(timed(|| Ok(vault.rotate(&[(slot, &pass)], |_| {})?))?.0);
    }
    Ok((entries, median(times)))
}

/// The peak memory of listing every name, measured in a child process (so
/// nothing this process did before counts): (names, bytes above the RSS
/// just before the listing).
fn peak_listing(template: &Path, encrypted: bool) -> Result<(usize, u64)> {
    let out = std::process::Command::new(std::env::current_exe()?)
        .arg("--peak-list")
        .arg(template)
        .arg(if encrypted { "encrypted" } else { "plain" })
        .output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("PEAK "))
        .ok_or_else(|| {
            format!(
                "the peak child failed: {}",
                String::from_utf8_lossy(&out.stderr)
            )
        })?;
    let mut parts = line.split(' ');
    let names = parts.next().ok_or("no count")?.parse()?;
    let bytes = parts.next().ok_or("no bytes")?.parse()?;
    Ok((names, bytes))
}

/// `VmRSS` or `VmHWM` of this process, in bytes.
fn proc_status(field: &str) -> Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let line = status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .ok_or("no such field in /proc/self/status")?;
    let kib: u64 = line
        .trim_start_matches(':')
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()?;
    Ok(kib * 1024)
}

/// Child: lists every name of the vault at `path`, all alive (the clock is
/// where the vault was built), and prints the count and the peak memory.
fn peak_child(path: &Path, kind: &str) -> Result<()> {
    let options = OpenOptions::new().clock(ManualClock::new(BUILT_AT));
    let (names, before) = match kind {
        "encrypted" => list_from_here(
            &LockedVault::open_with(&options, path)?.unlock(&Passphrase::new(PASSPHRASE)?)?,
        )?,
        _ => list_from_here(&options.open(path)?)?,
    };
    let peak = proc_status("VmHWM")?;
    println!("PEAK {names} {}", peak.saturating_sub(before));
    Ok(())
}

/// Resets the peak-RSS mark, lists every name; returns how many, and the
/// RSS just before the listing.
fn list_from_here<S: Store>(vault: &S) -> Result<(usize, u64)> {
    reset_peak()?;
    let before = proc_status("VmRSS")?;
    Ok((vault.keys()?.len(), before))
}

/// Resets the kernel's peak-RSS mark of this process to its current RSS.
fn reset_peak() -> Result<()> {
    std::fs::write("/proc/self/clear_refs", "5")?;
    Ok(())
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|l| l.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!(
        "{cpu}, {cores} cores, Linux {}, SQLite {}",
        kernel.trim(),
        rusqlite::version()
    )
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn ops(rate: f64) -> String {
    if rate >= 10_000.0 {
        format!("{:.0}k", rate / 1e3)
    } else {
        format!("{rate:.0}")
    }
}

fn verdict(ratio: f64, target: Option<f64>) -> String {
    match target {
        Some(t) if ratio >= t => format!("{ratio:.2}× (≥ {t}: met)"),
        Some(t) => format!("{ratio:.2}× (≥ {t}: **missed**)"),
        None => format!("{ratio:.2}×"),
    }
}

struct Report {
    machine: String,
    reps: usize,
    rows: Vec<Row>,
    shaped_bulks: Vec<ShapedBulk>,
    cleanup: Cleanup,
    unlock: Duration,
    rotate: (usize, Duration),
    peak: [(usize, u64); 2],
}

impl Report {
    fn markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "Machine: {}. Medians of {} repetitions, interleaved.\n",
            self.machine, self.reps
        );
        out.push_str("| workload | raw rusqlite ops/s | `Vault` ops/s (vs raw) | `EncryptedVault` ops/s (vs raw) |\n");
        out.push_str("|---|---:|---:|---:|\n");
        for row in &self.rows {
            let _ = writeln!(
                out,
                "| {} | {} | {} ({}) | {} ({}) |",
                row.workload,
                ops(row.rates[0]),
                ops(row.rates[1]),
                verdict(row.ratio(1), row.targets[0]),
                ops(row.rates[2]),
                verdict(row.ratio(2), row.targets[1]),
            );
        }
        let _ = writeln!(
            out,
            "\nBulk put beside raw rusqlite writing random rows of the encrypted \
             shape (32-byte hashed keys, sealed-size names and values) into the \
             encrypted file, sorted as `put_many` sorts them: the same B-tree \
             work, no crypto.\n"
        );
        out.push_str(
            "| workload | raw, encrypted row shape, rows/s | `EncryptedVault` rows/s (vs it) |\n",
        );
        out.push_str("|---|---:|---:|\n");
        for (workload, shaped, encrypted) in &self.shaped_bulks {
            let _ = writeln!(
                out,
                "| {workload} | {} | {} ({:.2}×) |",
                ops(*shaped),
                ops(*encrypted),
                encrypted / shaped.max(1e-9)
            );
        }
        let c = &self.cleanup;
        let times = |d: Duration, base: Duration| {
            format!(
                "{} ({:.2}× raw's time)",
                ms(d),
                d.as_secs_f64() / base.as_secs_f64().max(1e-9)
            )
        };
        let _ = writeln!(
            out,
            "\n`cleanup_expired` on {} rows, {} expired (every 10th):\n",
            c.rows, c.expired
        );
        out.push_str("| how | time |\n|---|---:|\n");
        let locked_target = if c.locked.as_secs_f64() <= 2.5 * c.raw_plain.as_secs_f64() {
            "≤ 2.5×: met"
        } else {
            "≤ 2.5×: **missed**"
        };
        for (how, time) in [
            (
                "raw `DELETE … WHERE expires_at <= ?` (plain file)",
                ms(c.raw_plain),
            ),
            ("`Vault::cleanup_expired`", times(c.vault, c.raw_plain)),
            (
                "raw `DELETE` (encrypted file)",
                times(c.raw_encrypted, c.raw_plain),
            ),
            (
                "`LockedVault::cleanup_expired` (encrypted, no key)",
                format!("{}, {locked_target}", times(c.locked, c.raw_plain)),
            ),
            (
                "full scan decoding every row, then delete (no index)",
                times(c.full_scan, c.raw_plain),
            ),
        ] {
            let _ = writeln!(out, "| {how} | {time} |");
        }
        let (n, t) = self.rotate;
        let _ = writeln!(out, "\n| also measured | |\n|---|---:|");
        let _ = writeln!(
            out,
            "| unlock, default Argon2id (64 MiB, t=3, p=1) | {} |",
            ms(self.unlock)
        );
        let _ = writeln!(
            out,
            "| `rotate` on {n} entries of 100 B | {} ({} entries/s) |",
            ms(t),
            ops(rate(n, t))
        );
        for (label, (names, bytes)) in ["`Vault`", "`EncryptedVault`"].iter().zip(self.peak) {
            let _ = writeln!(
                out,
                "| peak memory listing {names} names, {label} | {:.1} MiB ({:.0} B per name) |",
                bytes as f64 / 1_048_576.0,
                bytes as f64 / names.max(1) as f64
            );
        }
        out
    }

    fn json(&self) -> serde_json::Value {
        let c = &self.cleanup;
        serde_json::json!({
            "machine": self.machine,
            "repetitions": self.reps,
            "workloads": self.rows.iter().map(|r| serde_json::json!({
                "workload": r.workload,
                "ops_per_s": {"raw": r.rates[0], "vault": r.rates[1], "encrypted": r.rates[2]},
                "ratio_vs_raw": {"vault": r.ratio(1), "encrypted": r.ratio(2)},
                "target_ratio": {"vault": r.targets[0], "encrypted": r.targets[1]},
            })).collect::<Vec<_>>(),
            "bulk_put_beside_raw_encrypted_row_shape": self.shaped_bulks.iter().map(|(w, shaped, enc)| serde_json::json!({
                "workload": w,
                "rows_per_s": {"raw_encrypted_shape": shaped, "encrypted": enc},
                "ratio": enc / shaped.max(1e-9),
            })).collect::<Vec<_>>(),
            "cleanup": {
                "rows": c.rows, "expired": c.expired,
                "seconds": {
                    "raw_delete_plain": c.raw_plain.as_secs_f64(),
                    "vault": c.vault.as_secs_f64(),
                    "raw_delete_encrypted": c.raw_encrypted.as_secs_f64(),
                    "locked_vault": c.locked.as_secs_f64(),
                    "full_scan_decode": c.full_scan.as_secs_f64(),
                },
            },
            "unlock_default_argon2_seconds": self.unlock.as_secs_f64(),
            "rotate": {"entries": self.rotate.0, "seconds": self.rotate.1.as_secs_f64()},
            "peak_listing_bytes": {
                "vault": {"names": self.peak[0].0, "bytes": self.peak[0].1},
                "encrypted": {"names": self.peak[1].0, "bytes": self.peak[1].1},
            },
        })
    }
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

    let mut rows = Vec::new();
    let mut shaped_bulks = Vec::new();
    for size in SIZES {
        eprintln!("point workloads, {}", size_label(size));
        rows.extend(point_workloads(&s, dir, size, &mut shaped_bulks)?);
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
    let report = Report {
        machine,
        reps: s.reps,
        rows,
        shaped_bulks,
        cleanup,
        unlock,
        rotate,
        peak,
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
