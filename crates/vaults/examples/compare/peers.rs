//! `--peers`: `EncryptedVault` beside what users would pick instead, in one
//! run, interleaved: SQLCipher (default page cache, and the vault's own),
//! Redis on loopback (no persistence; an append-only file synced at every
//! write for the durable put), and the Python peers through the Python
//! package's benchmark.
//!
//! SQLCipher and Redis are driven by `vaults-peer` (`peers/` at the top of
//! the repository, a Cargo project of its own since SQLCipher's SQLite
//! cannot link beside the vault's), one child process per store, answering
//! one request a line; the harness builds it first. Each Redis server is
//! started here from `redis-server` and stopped at the end; without
//! `redis-server` its columns say so and the run goes on.

use std::io::{BufRead, BufReader, Write as _};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use super::*;

/// The vault's page cache, the same one SQLCipher gets in its second column.
const SAME_CACHE_KIB: usize = 64 * 1024;

/// One child process holding one peer store.
struct PeerProcess {
    child: Child,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
}

impl PeerProcess {
    fn start(binary: &Path) -> Result<PeerProcess> {
        let mut child = Command::new(binary)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        let input = child.stdin.take().ok_or("the peer has no stdin")?;
        let output = BufReader::new(child.stdout.take().ok_or("the peer has no stdout")?);
        Ok(PeerProcess {
            child,
            input,
            output,
        })
    }

    /// Sends one request and returns the answer.
    fn ask(&mut self, request: &str) -> Result<String> {
        writeln!(self.input, "{request}")?;
        self.input.flush()?;
        let mut line = String::new();
        self.output.read_line(&mut line)?;
        let line = line.trim_end().to_owned();
        if line.is_empty() || line.starts_with("error") {
            return Err(format!("peer, on {request:?}: {line}").into());
        }
        Ok(line)
    }

    /// Sends a timed request and returns the time the peer measured.
    fn time(&mut self, request: &str) -> Result<Duration> {
        Ok(Duration::from_nanos(self.ask(request)?.parse()?))
    }
}

impl Drop for PeerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `redis-server` started for the run, on a free loopback port.
struct RedisServer {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl RedisServer {
    /// Starts one with no persistence, or with an append-only file synced
    /// at every write (`appendfsync always`). `None` when there is no
    /// `redis-server` to start.
    fn start(durable: bool, dir: &Path) -> Result<Option<RedisServer>> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let data = tempfile::tempdir_in(dir)?;
        let mut cmd = Command::new("redis-server");
        cmd.args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--save", "", "--dir"])
            .arg(data.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        match durable {
            true => cmd.args(["--appendonly", "yes", "--appendfsync", "always"]),
            false => cmd.args(["--appendonly", "no"]),
        };
        let child = match cmd.spawn() {
            Ok(child) => child,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let server = RedisServer {
            child,
            port,
            _dir: data,
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if std::time::Instant::now() > deadline {
                return Err("redis-server did not start listening within 10 s".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(Some(server))
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The columns of the peers table, in order.
pub(super) const PEER_COLUMNS: [&str; 4] = [
    "SQLCipher (default cache)",
    "SQLCipher (64 MiB cache, as the vault)",
    "Redis (loopback, no persistence)",
    "Redis (loopback, AOF `appendfsync always`)",
];

/// One line of the peers table: the vault's rate and each peer's (`None`
/// where a peer does not do the workload or is absent).
pub(super) struct PeerRow {
    pub(super) workload: String,
    pub(super) vault: f64,
    pub(super) peers: [Option<f64>; 4],
    /// The target against SQLCipher with the vault's cache.
    pub(super) target: Option<f64>,
    /// Whether a higher figure is better (rates) or worse (bytes, times).
    pub(super) higher_is_better: bool,
}

/// Everything `--peers` measured.
pub(super) struct Peers {
    pub(super) versions: Vec<String>,
    pub(super) rows: Vec<PeerRow>,
    /// Why a column is empty, if it is.
    pub(super) notes: Vec<String>,
    /// The Python package's benchmark, as it printed its table.
    pub(super) python: Option<String>,
}

/// Builds `vaults-peer` (release) and returns its path.
fn build_peer() -> Result<PathBuf> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../peers/Cargo.toml");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    eprintln!("building vaults-peer (SQLCipher, Redis client)");
    let status = Command::new(cargo)
        .args([
            "build",
            "--release",
            "--locked",
            "--quiet",
            "--manifest-path",
        ])
        .arg(&manifest)
        .status()?;
    if !status.success() {
        return Err("building peers/ failed (SQLCipher needs libssl-dev)".into());
    }
    Ok(manifest.with_file_name("target/release/vaults-peer"))
}

/// The peers' workloads at 100 B, each peer interleaved with the vault.
pub(super) fn peer_workloads(s: &Settings, dir: &Path) -> Result<Peers> {
    let binary = build_peer()?;
    let entries = s.n(ENTRIES);
    let size = 100;
    let mut notes = Vec::new();

    // The stores: the vault, two SQLCipher files (durable handles and
    // NORMAL ones on the same files), two Redis servers.
    let vault_path = dir.join("peers-vault.db");
    let vault = Target::filled(Way::Encrypted, &vault_path, entries, size)?;
    let vault_normal = Target::open(Way::Encrypted, &vault_path, Durability::Normal)?;
    let mut sqlcipher = Vec::new();
    for (i, cache) in [0, SAME_CACHE_KIB].into_iter().enumerate() {
        let path = dir.join(format!("peers-sqlcipher-{i}.db"));
        let mut full = PeerProcess::start(&binary)?;
        full.ask(&format!("sqlcipher {} {cache} FULL", path.display()))?;
        full.ask(&format!("fill {entries} {size}"))?;
        let mut normal = PeerProcess::start(&binary)?;
        normal.ask(&format!("sqlcipher {} {cache} NORMAL", path.display()))?;
        normal.ask(&format!("fill {entries} {size}"))?;
        sqlcipher.push((full, normal, path));
    }
    let mut versions = vec![sqlcipher[0].0.ask("version")?];
    let mut redis = Vec::new();
    let mut servers = Vec::new();
    for durable in [false, true] {
        match RedisServer::start(durable, dir)? {
            Some(server) => {
                let mut p = PeerProcess::start(&binary)?;
                p.ask(&format!("redis {}", server.port))?;
                p.ask(&format!("fill {entries} {size}"))?;
                redis.push(Some(p));
                servers.push(server);
            }
            None => redis.push(None),
        }
    }
    match redis[0].as_mut() {
        Some(p) => versions.push(p.ask("version")?),
        None => notes.push("Redis: no `redis-server` on PATH, its columns are empty".into()),
    }

    let mut rows = Vec::new();
    // Runs `vault` and each present peer `reps` times, interleaved, and
    // returns the median rates of `ops` operations.
    let mut measure = |workload: &str,
                       ops: usize,
                       target: Option<f64>,
                       vault_run: &mut dyn FnMut(usize) -> Result<Duration>,
                       peer_run: &mut dyn FnMut(usize, usize) -> Result<Option<Duration>>|
     -> Result<()> {
        let mut times: [Vec<Duration>; 5] = Default::default();
        for rep in 0..s.reps {
            for k in 0..5 {
                let i = (k + rep) % 5;
                let time = match i {
                    0 => Some(vault_run(rep)?),
                    peer => peer_run(peer - 1, rep)?,
                };
                if let Some(time) = time {
                    times[i].push(time);
                }
            }
        }
        let [v, a, b, c, d] = times.map(|t| (!t.is_empty()).then(|| rate(ops, median(t))));
        rows.push(PeerRow {
            workload: workload.to_owned(),
            vault: v.unwrap_or_default(),
            peers: [a, b, c, d],
            target,
            higher_is_better: true,
        });
        Ok(())
    };

    let gets = s.n(GETS);
    measure(
        "point get (hit)",
        gets,
        Some(1.0),
        &mut |rep| {
            let names: Vec<String> = random_order(gets, entries, rep as u64 + 1)
                .into_iter()
                .map(name)
                .collect();
            let (time, ()) = timed(|| {
                for n in &names {
                    assert!(vault.get(n)?.is_some(), "a lookup missed");
                }
                Ok(())
            })?;
            Ok(time)
        },
        &mut |peer, rep| {
            let request = format!("get {gets} {} hit", rep + 1);
            match peer {
                0 | 1 => Ok(Some(sqlcipher[peer].0.time(&request)?)),
                // Both servers hold the same entries: one get column.
                2 => redis[0].as_mut().map(|p| p.time(&request)).transpose(),
                _ => Ok(None),
            }
        },
    )?;

    for (what, ops, durable) in [
        (
            "single put (durable: FULL; Redis: AOF always)",
            s.n(DURABLE_PUTS),
            true,
        ),
        (
            "single put (NORMAL; Redis: no persistence)",
            s.n(NORMAL_PUTS),
            false,
        ),
    ] {
        measure(
            what,
            ops,
            durable.then_some(0.9),
            &mut |rep| {
                let store = if durable { &vault } else { &vault_normal };
                let items: Vec<(String, Vec<u8>)> = random_order(ops, entries, rep as u64 + 13)
                    .into_iter()
                    .map(|i| (name(i), value(i + rep + 1, size)))
                    .collect();
                Ok(timed(|| items.iter().try_for_each(|(n, v)| store.put(n, v)))?.0)
            },
            &mut |peer, rep| {
                let request = format!("put {ops} {} {size} {rep}", rep + 13);
                match (peer, durable) {
                    (0 | 1, true) => Ok(Some(sqlcipher[peer].0.time(&request)?)),
                    (0 | 1, false) => Ok(Some(sqlcipher[peer].1.time(&request)?)),
                    (2, false) => redis[0].as_mut().map(|p| p.time(&request)).transpose(),
                    (3, true) => redis[1].as_mut().map(|p| p.time(&request)).transpose(),
                    _ => Ok(None),
                }
            },
        )?;
    }

    let bulk = s.n(BULK);
    measure(
        &format!("bulk put ({bulk} in one transaction)"),
        bulk,
        Some(0.6),
        &mut |rep| {
            let items: Vec<(String, Vec<u8>)> = (0..bulk)
                .map(|i| (format!("bulk/{rep}/{i:06}"), value(i, size)))
                .collect();
            let (time, ()) = timed(|| vault.bulk_put(&items))?;
            let names: Vec<String> = items.into_iter().map(|(n, _)| n).collect();
            vault.remove_all(&names)?;
            Ok(time)
        },
        &mut |peer, rep| {
            let request = format!("bulk {bulk} {size} {rep}");
            match peer {
                0 | 1 => Ok(Some(sqlcipher[peer].0.time(&request)?)),
                2 => redis[0].as_mut().map(|p| p.time(&request)).transpose(),
                _ => Ok(None),
            }
        },
    )?;

    measure(
        &format!("list all {entries} names (names/s)"),
        entries,
        Some(1.0),
        &mut |_| {
            let (time, names) = timed(|| vault.keys())?;
            assert_eq!(names.len(), entries, "the listing lost names");
            Ok(time)
        },
        &mut |peer, _| match peer {
            0 | 1 => Ok(Some(sqlcipher[peer].0.time("list")?)),
            2 => redis[0].as_mut().map(|p| p.time("list")).transpose(),
            _ => Ok(None),
        },
    )?;

    // Cleanup: the vault's template from the main cleanup workload (or a
    // new one), SQLCipher's built here; each repetition on a fresh copy.
    let rows_n = s.n(CLEANUP_ROWS);
    let expired = rows_n.div_ceil(CLEANUP_EXPIRED_EVERY);
    let template = match dir.join("cleanup-encrypted.db") {
        p if p.exists() => p,
        _ => cleanup_template(dir, rows_n, true)?,
    };
    let mut cipher_templates = Vec::new();
    for (i, cache) in [0, SAME_CACHE_KIB].into_iter().enumerate() {
        let path = dir.join(format!("peers-cleanup-{i}.db"));
        let mut p = PeerProcess::start(&binary)?;
        p.ask(&format!("sqlcipher {} {cache} FULL", path.display()))?;
        p.ask(&format!(
            "cleanup-fill {rows_n} {CLEANUP_EXPIRED_EVERY} {BUILT_AT}"
        ))?;
        p.ask("close")?;
        cipher_templates.push((p, path, cache));
    }
    let options = OpenOptions::new().clock(ManualClock::new(CLEANUP_AT));
    measure(
        &format!("cleanup, {rows_n} rows, 10% expired (rows deleted/s)"),
        expired,
        Some(1.0),
        &mut |_| {
            let path = copy_of(&template, dir)?;
            let v = LockedVault::open_with(&options, &path)?;
            let (time, n) = timed(|| Ok(v.cleanup_expired()? as usize))?;
            assert_eq!(n, expired, "cleanup deleted the wrong number of rows");
            Ok(time)
        },
        &mut |peer, _| match peer {
            0 | 1 => {
                let (p, template, cache) = &mut cipher_templates[peer];
                let copy = copy_of(template, dir)?;
                p.ask(&format!("sqlcipher {} {cache} FULL", copy.display()))?;
                let time = p.time(&format!("cleanup {CLEANUP_AT} {expired}"))?;
                p.ask("close")?;
                Ok(Some(time))
            }
            _ => Ok(None),
        },
    )?;

    // File size per entry, after a checkpoint (lower is better).
    drop(vault_normal);
    // The last handle's close checkpoints the WAL into the file.
    drop(vault);
    let vault_bytes = std::fs::metadata(&vault_path)?.len();
    let mut sizes = [None; 4];
    for (i, (full, normal, _)) in sqlcipher.iter_mut().enumerate() {
        normal.ask("close")?;
        sizes[i] = Some(full.ask("bytes")?.parse::<u64>()? as f64 / entries as f64);
    }
    rows.push(PeerRow {
        workload: format!("file bytes per entry ({entries} entries)"),
        vault: vault_bytes as f64 / entries as f64,
        peers: sizes,
        target: Some(1.5),
        higher_is_better: false,
    });
    if let Ok(out) = Command::new("redis-server").arg("--version").output() {
        let version = String::from_utf8_lossy(&out.stdout);
        if let Some(v) = version
            .split_whitespace()
            .find_map(|w| w.strip_prefix("v="))
        {
            versions.push(format!("redis-server {v}"));
        }
    }
    drop(servers);

    let python = match &s.python {
        Some(python) => Some(python_bench(python, s)?),
        None => {
            notes.push("Python peers: run with `--python PATH` (a Python with `vaults`, diskcache and sqlitedict installed)".into());
            None
        }
    };
    Ok(Peers {
        versions,
        rows,
        notes,
        python,
    })
}

/// Runs the Python package's benchmark (`crates/vaults-py/bench/bench.py`)
/// with `python` and returns the table it printed.
fn python_bench(python: &Path, s: &Settings) -> Result<String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../vaults-py/bench/bench.py");
    eprintln!("the Python package's benchmark ({})", python.display());
    let mut cmd = Command::new(python);
    cmd.arg(&script);
    if s.scale > 1 {
        cmd.arg("--quick");
    }
    let out = cmd.stderr(Stdio::inherit()).output()?;
    if !out.status.success() {
        return Err("the Python benchmark failed".into());
    }
    Ok(String::from_utf8(out.stdout)?)
}

impl Peers {
    /// The peers table: each figure, and the vault's ratio against it
    /// (> 1: the vault is faster, or its file smaller).
    pub(super) fn markdown(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "\n`EncryptedVault` beside the stores users would pick instead, 100 B values ({}). \
             Each cell: the peer's figure, then the vault's ratio against it (> 1: the vault is ahead).\n",
            self.versions.join(", ")
        );
        let _ = writeln!(
            out,
            "| workload | `EncryptedVault` | {} |",
            PEER_COLUMNS.join(" | ")
        );
        let _ = writeln!(out, "|---|---:|{}", "---:|".repeat(PEER_COLUMNS.len()));
        for row in &self.rows {
            let figure = |x: f64| match row.higher_is_better {
                true => ops(x),
                false => format!("{x:.0} B"),
            };
            let mut line = format!("| {} | {} |", row.workload, figure(row.vault));
            for (i, peer) in row.peers.iter().enumerate() {
                let cell = match peer {
                    None => "–".to_owned(),
                    Some(p) => {
                        let ratio = match row.higher_is_better {
                            true => row.vault / p.max(1e-9),
                            false => p / row.vault.max(1e-9),
                        };
                        // The target is set against SQLCipher with the vault's cache.
                        let target = if i == 1 { row.target } else { None };
                        let verdict = match (target, row.higher_is_better) {
                            (Some(t), true) => verdict(ratio, Some(t)),
                            (Some(t), false) if p * t >= row.vault => {
                                format!("{ratio:.2}× (≤ {t}× its size: met)")
                            }
                            (Some(t), false) => {
                                format!("{ratio:.2}× (≤ {t}× its size: **missed**)")
                            }
                            (None, _) => format!("{ratio:.2}×"),
                        };
                        format!("{} ({verdict})", figure(*p))
                    }
                };
                line.push_str(&format!(" {cell} |"));
            }
            let _ = writeln!(out, "{line}");
        }
        for note in &self.notes {
            let _ = writeln!(out, "\n{note}.");
        }
        if let Some(python) = &self.python {
            let _ = writeln!(
                out,
                "\nFrom Python (`crates/vaults-py/bench/bench.py`, same run):\n\n{python}"
            );
        }
    }

    pub(super) fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "versions": self.versions,
            "columns": PEER_COLUMNS,
            "rows": self.rows.iter().map(|r| serde_json::json!({
                "workload": r.workload,
                "unit": if r.higher_is_better { "ops_per_s" } else { "bytes_per_entry" },
                "encrypted_vault": r.vault,
                "peers": r.peers,
                "target_vs_sqlcipher_same_cache": r.target,
            })).collect::<Vec<_>>(),
            "notes": self.notes,
            "python_markdown": self.python,
        })
    }
}
