//! The same workloads on a PostgreSQL server (`--pg URL`, a database the
//! program may create vaults in): raw SQL through the `postgres` crate on
//! the vault's own tables (the limit: one round trip per statement, the
//! server's commit), `Vault` and `EncryptedVault` on the server, and the
//! round trips each operation of the two makes (counted from the engine's
//! `vaults::postgres` trace events).

use std::sync::atomic::{AtomicU64, Ordering};

use postgres::{Client, NoTls};
use vaults::Vault;

use super::*;

/// Round-trip events seen so far.
static TRIPS: AtomicU64 = AtomicU64::new(0);

/// Counts the engine's round-trip events; records nothing else.
struct TripCounter;

impl tracing::Subscriber for TripCounter {
    fn enabled(&self, meta: &tracing::Metadata<'_>) -> bool {
        meta.target() == "vaults::postgres"
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, _: &tracing::Event<'_>) {
        TRIPS.fetch_add(1, Ordering::Relaxed);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// Installs the counter (once, before the first server operation).
pub(super) fn count_round_trips() {
    let _ = tracing::subscriber::set_global_default(TripCounter);
}

/// Round trips made by `f`.
fn trips<R>(f: impl FnOnce() -> Result<R>) -> Result<(u64, R)> {
    let before = TRIPS.load(Ordering::Relaxed);
    let out = f()?;
    Ok((TRIPS.load(Ordering::Relaxed) - before, out))
}

/// One line of the server table: rates raw / `Vault` / `EncryptedVault`,
/// and the round trips per operation of the last two.
pub(super) struct ServerRow {
    pub(super) workload: String,
    pub(super) rates: [f64; 3],
    pub(super) trips: [f64; 2],
}

/// The server's version line.
pub(super) struct ServerReport {
    pub(super) version: String,
    pub(super) rows: Vec<ServerRow>,
}

/// Raw SQL on one vault's rows, with its statements prepared once.
struct Raw {
    client: std::cell::RefCell<Client>,
    vault: i32,
    get: postgres::Statement,
    upsert: postgres::Statement,
}

/// A store on the server, each way.
enum Pg {
    Raw(Box<Raw>),
    Plain(Vault),
    Encrypted(EncryptedVault),
}

const RAW_GET: &str = "SELECT value FROM vaults.entries WHERE vault = $1 AND key = $2 \
     AND (expires_at IS NULL OR expires_at > floor(extract(epoch FROM now()) * 1000)::int8)";
const RAW_UPSERT: &str = "INSERT INTO vaults.entries (vault, key, name, expires_at, value) \
     VALUES ($1, $2, NULL, NULL, $3) ON CONFLICT (vault, key) DO UPDATE SET \
     name = excluded.name, expires_at = excluded.expires_at, value = excluded.value";

fn url_of(base: &str, vault: &str) -> String {
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}vault={vault}")
}

impl Pg {
    fn create(way: Way, base: &str, tag: &str, options: &OpenOptions) -> Result<Pg> {
        let name = format!("compare-{tag}-{way}-{}", std::process::id());
        let url = url_of(base, &name);
        Ok(match way {
            Way::Raw => {
                // The raw store is a plain vault's rows, written with plain SQL.
                options.create(&url)?.close()?;
                let mut client = Client::connect(base.split('?').next().unwrap_or(base), NoTls)?;
                let vault: i32 = client
                    .query_one("SELECT vault FROM vaults.vaults WHERE name = $1", &[&name])?
                    .get(0);
                let get = client.prepare(RAW_GET)?;
                let upsert = client.prepare(RAW_UPSERT)?;
                Pg::Raw(Box::new(Raw {
                    client: std::cell::RefCell::new(client),
                    vault,
                    get,
                    upsert,
                }))
            }
            Way::Plain => Pg::Plain(options.create(&url)?),
            Way::Encrypted => Pg::Encrypted(EncryptedVault::create_with(
                options,
                &url,
                &Passphrase::new(PASSPHRASE)?,
                KdfParams::MIN,
            )?),
        })
    }

    fn get(&self, name: &str) -> Result<Option<usize>> {
        Ok(match self {
            Pg::Raw(r) => r
                .client
                .borrow_mut()
                .query_opt(&r.get, &[&r.vault, &name.as_bytes()])?
                .map(|row| row.get::<_, Vec<u8>>(0).len()),
            Pg::Plain(v) => v.get_bytes(name)?.map(|v| v.len()),
            Pg::Encrypted(v) => v.get_bytes(name)?.map(|v| v.len()),
        })
    }

    fn put(&self, name: &str, value: &[u8]) -> Result<()> {
        match self {
            Pg::Raw(r) => {
                r.client
                    .borrow_mut()
                    .execute(&r.upsert, &[&r.vault, &name.as_bytes(), &value])?;
            }
            Pg::Plain(v) => v.put_bytes(name, value)?,
            Pg::Encrypted(v) => v.put_bytes(name, value)?,
        }
        Ok(())
    }

    fn bulk_put(&self, items: &[(String, Vec<u8>)]) -> Result<()> {
        match self {
            Pg::Raw(r) => {
                let mut c = r.client.borrow_mut();
                let mut tx = c.transaction()?;
                for (n, v) in items {
                    tx.execute(&r.upsert, &[&r.vault, &n.as_bytes(), v])?;
                }
                tx.commit()?;
            }
            Pg::Plain(v) => {
                v.put_many_bytes(items.iter().map(|(n, b)| (n.as_str(), b.as_slice())))?
            }
            Pg::Encrypted(v) => {
                v.put_many_bytes(items.iter().map(|(n, b)| (n.as_str(), b.as_slice())))?
            }
        }
        Ok(())
    }

    fn remove_all(&self, names: &[String]) -> Result<()> {
        match self {
            Pg::Raw(r) => {
                let (mut c, vault) = (r.client.borrow_mut(), &r.vault);
                for n in names {
                    c.execute(
                        "DELETE FROM vaults.entries WHERE vault = $1 AND key = $2",
                        &[vault, &n.as_bytes()],
                    )?;
                }
            }
            Pg::Plain(v) => names.iter().try_for_each(|n| v.remove(n).map(drop))?,
            Pg::Encrypted(v) => names.iter().try_for_each(|n| v.remove(n).map(drop))?,
        }
        Ok(())
    }

    fn keys(&self) -> Result<usize> {
        Ok(match self {
            Pg::Raw(r) => r
                .client
                .borrow_mut()
                .query(
                    "SELECT key FROM vaults.entries WHERE vault = $1 AND (expires_at IS NULL \
                     OR expires_at > floor(extract(epoch FROM now()) * 1000)::int8) ORDER BY key",
                    &[&r.vault],
                )?
                .len(),
            Pg::Plain(v) => v.keys()?.len(),
            Pg::Encrypted(v) => v.keys()?.len(),
        })
    }
}

/// The server workloads on `entries` entries of 100 B: point get, durable
/// single put, bulk put, listing, then cleanup.
pub(super) fn server_workloads(s: &Settings, base: &str) -> Result<ServerReport> {
    count_round_trips();
    let mut client = Client::connect(base.split('?').next().unwrap_or(base), NoTls)?;
    let version: String = client.query_one("SHOW server_version", &[])?.get(0);
    drop(client);
    let size = 100;
    let entries = s.n(ENTRIES);
    let options = OpenOptions::new();
    let stores: Vec<Pg> = Way::ALL
        .iter()
        .map(|&way| Pg::create(way, base, "point", &options))
        .collect::<Result<_>>()?;
    let items: Vec<(String, Vec<u8>)> = (0..entries).map(|i| (name(i), value(i, size))).collect();
    for store in &stores {
        store.bulk_put(&items)?;
    }
    let mut rows = Vec::new();
    let per_op = |way: Way, ops: usize, f: &dyn Fn(&Pg) -> Result<()>| -> Result<f64> {
        let (n, ()) = trips(|| f(&stores[way as usize]))?;
        Ok(n as f64 / ops.max(1) as f64)
    };

    let gets = s.n(GETS / 4);
    let rates = interleaved(s.reps, gets, |way, rep| {
        let names: Vec<String> = random_order(gets, entries, rep as u64 + 1)
            .into_iter()
            .map(name)
            .collect();
        let store = &stores[way as usize];
        Ok(timed(|| {
            names.iter().try_for_each(|n| {
                assert!(store.get(n)?.is_some(), "a lookup missed");
                Ok(())
            })
        })?
        .0)
    })?;
    let trips_get = [Way::Plain, Way::Encrypted]
        .map(|w| per_op(w, 1, &|st| st.get(&name(1)).map(drop)).unwrap_or(f64::NAN));
    rows.push(ServerRow {
        workload: "point get (hit), 100 B".into(),
        rates,
        trips: trips_get,
    });

    let puts = s.n(DURABLE_PUTS);
    let rates = interleaved(s.reps, puts, |way, rep| {
        let store = &stores[way as usize];
        let order = random_order(puts, entries, rep as u64 + 13);
        Ok(timed(|| {
            order
                .iter()
                .try_for_each(|&i| store.put(&name(i), &value(i + rep + 1, size)))
        })?
        .0)
    })?;
    let trips_put = [Way::Plain, Way::Encrypted]
        .map(|w| per_op(w, 1, &|st| st.put(&name(2), &value(3, size))).unwrap_or(f64::NAN));
    rows.push(ServerRow {
        workload: "single put (durable), 100 B".into(),
        rates,
        trips: trips_put,
    });

    let bulk = s.n(BULK);
    let rates = interleaved(s.reps, bulk, |way, rep| {
        let items: Vec<(String, Vec<u8>)> = (0..bulk)
            .map(|i| (format!("bulk/{rep}/{i:06}"), value(i, size)))
            .collect();
        let store = &stores[way as usize];
        let (time, ()) = timed(|| store.bulk_put(&items))?;
        let names: Vec<String> = items.into_iter().map(|(n, _)| n).collect();
        store.remove_all(&names)?;
        Ok(time)
    })?;
    let trips_bulk = [Way::Plain, Way::Encrypted].map(|w| {
        let batch: Vec<(String, Vec<u8>)> = (0..100)
            .map(|i| (format!("tripbulk/{i}"), value(i, size)))
            .collect();
        per_op(w, batch.len(), &|st| st.bulk_put(&batch)).unwrap_or(f64::NAN)
    });
    rows.push(ServerRow {
        workload: format!("bulk put ({bulk} in one transaction), per entry"),
        rates,
        trips: trips_bulk,
    });

    let rates = interleaved(s.reps, entries, |way, _| {
        let store = &stores[way as usize];
        let (time, n) = timed(|| store.keys())?;
        assert!(n >= entries, "the listing lost names");
        Ok(time)
    })?;
    let trips_list = [Way::Plain, Way::Encrypted]
        .map(|w| per_op(w, 1, &|st| st.keys().map(drop)).unwrap_or(f64::NAN));
    rows.push(ServerRow {
        workload: format!("list all {entries} names (names/s; trips per listing)"),
        rates,
        trips: trips_list,
    });

    rows.push(server_cleanup(s, base)?);
    Ok(ServerReport { version, rows })
}

/// `cleanup_expired` on `CLEANUP_ROWS / 10` rows, every 10th expired: raw
/// `DELETE`, `Vault`, `EncryptedVault` (one repetition each, on stores
/// built alike on a manual clock).
fn server_cleanup(s: &Settings, base: &str) -> Result<ServerRow> {
    let rows = s.n(CLEANUP_ROWS / 10);
    let clock = ManualClock::new(BUILT_AT);
    let options = OpenOptions::new().clock(clock.clone());
    let mut times = [Duration::ZERO; 3];
    let mut trips_out = [0.0; 2];
    for way in Way::ALL {
        clock.set(BUILT_AT);
        let store = Pg::create(way, base, "cleanup", &options)?;
        for chunk in (0..rows).collect::<Vec<_>>().chunks(10_000) {
            let items: Vec<(String, Vec<u8>)> =
                chunk.iter().map(|&i| (name(i), value(i, 100))).collect();
            match &store {
                Pg::Raw(r) => {
                    let (mut c, vault) = (r.client.borrow_mut(), &r.vault);
                    let mut tx = c.transaction()?;
                    let stmt = tx.prepare(
                        "INSERT INTO vaults.entries (vault, key, name, expires_at, value) \
                         VALUES ($1, $2, NULL, $3, $4)",
                    )?;
                    for (k, (n, v)) in chunk.iter().zip(&items) {
                        let at = (k % CLEANUP_EXPIRED_EVERY == 0).then_some(BUILT_AT + 1_000);
                        tx.execute(&stmt, &[vault, &n.as_bytes(), &at, v])?;
                    }
                    tx.commit()?;
                }
                Pg::Plain(v) => put_chunk(v, chunk, &items)?,
                Pg::Encrypted(v) => put_chunk(v, chunk, &items)?,
            }
        }
        clock.set(CLEANUP_AT);
        let (time, (n, deleted)) = timed(|| {
            trips(|| {
                Ok(match &store {
                    Pg::Raw(r) => r.client.borrow_mut().execute(
                        "DELETE FROM vaults.entries WHERE vault = $1 AND expires_at <= $2",
                        &[&r.vault, &CLEANUP_AT],
                    )?,
                    Pg::Plain(v) => v.cleanup_expired()?,
                    Pg::Encrypted(v) => v.cleanup_expired()?,
                })
            })
        })?;
        assert_eq!(
            deleted as usize,
            rows.div_ceil(CLEANUP_EXPIRED_EVERY),
            "cleanup count"
        );
        times[way as usize] = time;
        if way != Way::Raw {
            trips_out[way as usize - 1] = n as f64;
        }
    }
    Ok(ServerRow {
        workload: format!("cleanup, {rows} rows, 10% expired (rows/s; trips per cleanup)"),
        rates: times.map(|t| rate(rows, t)),
        trips: trips_out,
    })
}

/// Puts `items` (the rows `chunk` numbers), every 10th with a 1 s TTL.
fn put_chunk(v: &impl Store, chunk: &[usize], items: &[(String, Vec<u8>)]) -> Result<()> {
    v.transaction(|tx| {
        for (k, (n, b)) in chunk.iter().zip(items) {
            let expiry = match k % CLEANUP_EXPIRED_EVERY {
                0 => vaults::Expiry::After(Duration::from_secs(1)),
                _ => vaults::Expiry::Never,
            };
            tx.put_bytes_with(n, b, expiry)?;
        }
        Ok(())
    })?;
    Ok(())
}

impl ServerReport {
    pub(super) fn markdown(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "\nOn PostgreSQL {} (same machine, loopback TCP, `synchronous_commit=on`, \
             fsync on): raw SQL through the `postgres` crate on the vault's tables, and the \
             vaults on the server, with the round trips each makes per operation.\n",
            self.version
        );
        out.push_str(
            "| workload | raw SQL ops/s | `Vault` ops/s (vs raw) | `EncryptedVault` ops/s (vs raw) | round trips `Vault` / `EncryptedVault` |\n",
        );
        out.push_str("|---|---:|---:|---:|---:|\n");
        for r in &self.rows {
            let _ = writeln!(
                out,
                "| {} | {} | {} ({:.2}×) | {} ({:.2}×) | {} / {} |",
                r.workload,
                ops(r.rates[0]),
                ops(r.rates[1]),
                r.rates[1] / r.rates[0].max(1e-9),
                ops(r.rates[2]),
                r.rates[2] / r.rates[0].max(1e-9),
                trips_label(r.trips[0]),
                trips_label(r.trips[1]),
            );
        }
    }

    pub(super) fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "server_version": self.version,
            "rows": self.rows.iter().map(|r| serde_json::json!({
                "workload": r.workload,
                "raw_ops_per_s": r.rates[0],
                "vault_ops_per_s": r.rates[1],
                "encrypted_ops_per_s": r.rates[2],
                "vault_round_trips": r.trips[0],
                "encrypted_round_trips": r.trips[1],
            })).collect::<Vec<_>>(),
        })
    }
}

fn trips_label(n: f64) -> String {
    if (n - n.round()).abs() < 0.005 {
        format!("{n:.0}")
    } else {
        format!("{n:.2}")
    }
}
