//! The report: the machine it ran on, and the table as Markdown and JSON.

use super::*;

pub(super) fn machine() -> String {
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

pub(super) fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

pub(super) fn ops(rate: f64) -> String {
    if rate >= 10_000.0 {
        format!("{:.0}k", rate / 1e3)
    } else if rate >= 100.0 {
        format!("{rate:.0}")
    } else {
        format!("{rate:.1}")
    }
}

pub(super) fn verdict(ratio: f64, target: Option<f64>) -> String {
    match target {
        Some(t) if ratio >= t => format!("{ratio:.2}× (≥ {t}: met)"),
        Some(t) => format!("{ratio:.2}× (≥ {t}: **missed**)"),
        None => format!("{ratio:.2}×"),
    }
}

pub(super) struct Report {
    pub(super) machine: String,
    pub(super) reps: usize,
    pub(super) rows: Vec<Row>,
    pub(super) shaped_bulks: Vec<ShapedBulk>,
    pub(super) threads: Vec<ThreadsRow>,
    pub(super) cleanup: Cleanup,
    pub(super) unlock: Duration,
    pub(super) rotate: (usize, Duration),
    pub(super) peak: [(usize, u64); 2],
    pub(super) peers: Option<Peers>,
    pub(super) server: Option<ServerReport>,
}

impl Report {
    pub(super) fn markdown(&self) -> String {
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
        if let Some(first) = self.threads.first() {
            let _ = writeln!(
                out,
                "\nReads on one handle shared by {} threads, beside 1 thread (100 B):\n",
                first.threads
            );
            out.push_str("| workload | 1 thread | all threads (scaling) |\n|---|---:|---:|\n");
            for t in &self.threads {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} ({}) |",
                    t.workload,
                    ops(t.rates[0]),
                    ops(t.rates[1]),
                    verdict(t.scaling(), Some(0.85 * t.threads as f64)),
                );
            }
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
        if let Some(peers) = &self.peers {
            peers.markdown(&mut out);
        }
        if let Some(server) = &self.server {
            server.markdown(&mut out);
        }
        out
    }

    pub(super) fn json(&self) -> serde_json::Value {
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
            "threads": self.threads.iter().map(|t| serde_json::json!({
                "workload": t.workload,
                "threads": t.threads,
                "ops_per_s": {"one_thread": t.rates[0], "all_threads": t.rates[1]},
                "scaling": t.scaling(),
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
            "peers": self.peers.as_ref().map(Peers::json),
            "server": self.server.as_ref().map(ServerReport::json),
        })
    }
}
