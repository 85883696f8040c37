//! The main table: point gets, single and bulk puts of one value size, each
//! way, interleaved.

use super::*;

/// One line of the main table: throughput each way, and the targets.
pub(super) struct Row {
    pub(super) workload: String,
    /// Operations per second: raw, vault, encrypted.
    pub(super) rates: [f64; 3],
    /// Minimum ratio over raw for the vault and the encrypted vault.
    pub(super) targets: [Option<f64>; 2],
}

impl Row {
    pub(super) fn ratio(&self, way: usize) -> f64 {
        self.rates[way] / self.rates[0]
    }
}

/// Runs one workload each way, `reps` times, interleaved (the order of the
/// ways turns at every repetition), and returns the median rates.
pub(super) fn interleaved(
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
pub(super) struct Stores {
    pub(super) durable: Vec<Target>,
    pub(super) normal: Vec<Target>,
}

impl Stores {
    pub(super) fn build(dir: &Path, entries: usize, size: usize) -> Result<Stores> {
        let mut durable = Vec::new();
        let mut normal = Vec::new();
        for way in Way::ALL {
            let path = dir.join(format!("{way}-{size}.db"));
            durable.push(Target::filled(way, &path, entries, size)?);
            normal.push(Target::open(way, &path, Durability::Normal)?);
        }
        Ok(Stores { durable, normal })
    }

    pub(super) fn of(&self, way: Way) -> &Target {
        &self.durable[way as usize]
    }

    pub(super) fn normal(&self, way: Way) -> &Target {
        &self.normal[way as usize]
    }
}

/// The main table's rows for one value size.
pub(super) fn point_workloads(
    s: &Settings,
    dir: &Path,
    size: usize,
    shaped_bulks: &mut Vec<ShapedBulk>,
    threads: &mut Vec<ThreadsRow>,
) -> Result<Vec<Row>> {
    let entries = s.n(ENTRIES);
    let stores = Stores::build(dir, entries, size)?;
    if size == 100 {
        threads.extend(thread_workloads(s, &stores)?);
    }
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
pub(super) type ShapedBulk = (String, f64, f64);

/// Raw rusqlite writing `n` random rows shaped as sealed ones (a 32-byte
/// hashed key, the `name` and `value` lengths of a stored row) into the
/// encrypted vault at `path`, sorted by key as `put_many` does, in one
/// transaction; then deleting them again (not timed). The ceiling of an
/// encrypted bulk put before any crypto: the same B-tree work.
pub(super) fn shaped_bulk(path: &Path, n: usize) -> Result<Duration> {
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
pub(super) fn point_gets(
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

pub(super) fn size_label(size: usize) -> String {
    match size {
        4096 => "4 KiB".into(),
        n => format!("{n} B"),
    }
}
