//! `vaults-peer`: a store users would pick instead of a vault, driven by the
//! compare harness (`crates/vaults/examples/compare/peers.rs`) through its
//! stdin, so that the harness can interleave the peer's repetitions with the
//! vault's in one run.
//!
//! Each request is one line of words; each answer is one line: `ok`, a
//! number (nanoseconds for a timed request, bytes for `bytes`), or
//! `error: …`, after which the peer exits.
//!
//! ```text
//! sqlcipher PATH CACHE_KIB FULL|NORMAL    open (create) a SQLCipher file
//! redis PORT                              connect to a Redis on loopback
//! version                                 the store's version
//! close                                   close the store (a SQLCipher file is checkpointed)
//! fill N SIZE                             store entries 0..N (not timed)
//! get N SEED hit|miss                     N lookups in a fixed random order
//! put N SEED SIZE REP                     N single puts, one commit each
//! bulk N SIZE REP                         N puts in one transaction (then removed, not timed)
//! list                                    every live name, sorted
//! bytes                                   the file's size (SQLCipher)
//! cleanup-fill N EVERY BUILT_AT           N rows, every EVERY-th expiring 1 s after BUILT_AT
//! cleanup AT EXPECTED                     delete what expired at AT
//! ```

mod data;
mod redis_peer;
mod sqlcipher;

use std::io::{BufRead, Write};
use std::time::{Duration, Instant};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// What every peer does.
trait Peer {
    /// Stores `items` in one transaction.
    fn bulk_put(&mut self, items: &[(String, Vec<u8>)]) -> Result<()>;
    /// Removes `names` in one transaction.
    fn remove_all(&mut self, names: &[String]) -> Result<()>;
    /// The length of the value under `name`, if any.
    fn get(&mut self, name: &str) -> Result<Option<usize>>;
    /// Stores one value in its own commit.
    fn put(&mut self, name: &str, value: &[u8]) -> Result<()>;
    /// Every live name, sorted.
    fn names(&mut self) -> Result<Vec<String>>;
    /// The store's version, as it reports it.
    fn version(&mut self) -> Result<String>;
    /// The bytes the store takes on disk.
    fn bytes(&mut self) -> Result<u64>;
    /// Stores `n` rows of which every `every`-th expires at `at`, the other
    /// half never and the rest a day later.
    fn cleanup_fill(&mut self, n: usize, every: usize, at: i64) -> Result<()>;
    /// Deletes what expired at `now`; returns how many.
    fn cleanup(&mut self, now: i64) -> Result<usize>;
}

fn main() {
    if let Err(e) = serve() {
        println!("error: {e}");
        std::process::exit(1);
    }
}

fn serve() -> Result<()> {
    let stdin = std::io::stdin();
    let mut out = std::io::stdout().lock();
    let mut peer: Option<Box<dyn Peer>> = None;
    let mut entries = 0;
    for line in stdin.lock().lines() {
        let line = line?;
        let words: Vec<&str> = line.split_whitespace().collect();
        let arg = |i: usize| -> Result<&str> {
            words
                .get(i)
                .copied()
                .ok_or_else(|| format!("{line:?} needs {i} arguments").into())
        };
        let num = |i: usize| -> Result<usize> { Ok(arg(i)?.parse()?) };
        let answer = match arg(0)? {
            "sqlcipher" => {
                peer = Some(Box::new(sqlcipher::Sqlcipher::open(
                    arg(1)?.as_ref(),
                    num(2)?,
                    arg(3)?,
                )?));
                "ok".to_owned()
            }
            "redis" => {
                peer = Some(Box::new(redis_peer::Redis::connect(num(1)?)?));
                "ok".to_owned()
            }
            "close" => {
                peer = None;
                "ok".to_owned()
            }
            verb => {
                let p = peer.as_mut().ok_or("no store is open")?;
                match verb {
                    "fill" => {
                        let size = num(2)?;
                        entries = num(1)?;
                        let items: Vec<(String, Vec<u8>)> = (0..entries)
                            .map(|i| (data::name(i), data::value(i, size)))
                            .collect();
                        p.bulk_put(&items)?;
                        "ok".to_owned()
                    }
                    "get" => {
                        let hit = arg(3)? == "hit";
                        let order = data::random_order(num(1)?, entries.max(1), num(2)? as u64);
                        let names: Vec<String> = order
                            .into_iter()
                            .map(|i| match hit {
                                true => data::name(i),
                                false => data::missing_name(i),
                            })
                            .collect();
                        nanos(timed(|| {
                            for n in &names {
                                if p.get(n)?.is_some() != hit {
                                    return Err("a lookup found the wrong thing".into());
                                }
                            }
                            Ok(())
                        })?)
                    }
                    "put" => {
                        let (n, seed, size, rep) = (num(1)?, num(2)?, num(3)?, num(4)?);
                        let items: Vec<(String, Vec<u8>)> =
                            data::random_order(n, entries.max(1), seed as u64)
                                .into_iter()
                                .map(|i| (data::name(i), data::value(i + rep + 1, size)))
                                .collect();
                        nanos(timed(|| items.iter().try_for_each(|(k, v)| p.put(k, v)))?)
                    }
                    "bulk" => {
                        let (n, size, rep) = (num(1)?, num(2)?, num(3)?);
                        let items: Vec<(String, Vec<u8>)> = (0..n)
                            .map(|i| (format!("bulk/{rep}/{i:06}"), data::value(i, size)))
                            .collect();
                        let time = timed(|| p.bulk_put(&items))?;
                        let names: Vec<String> = items.into_iter().map(|(k, _)| k).collect();
                        p.remove_all(&names)?;
                        nanos(time)
                    }
                    "list" => {
                        let mut count = 0;
                        let time = timed(|| {
                            count = p.names()?.len();
                            Ok(())
                        })?;
                        if count != entries {
                            return Err(format!("listed {count} names of {entries}").into());
                        }
                        nanos(time)
                    }
                    "bytes" => p.bytes()?.to_string(),
                    "version" => p.version()?,
                    "cleanup-fill" => {
                        p.cleanup_fill(num(1)?, num(2)?, arg(3)?.parse::<i64>()? + 1_000)?;
                        "ok".to_owned()
                    }
                    "cleanup" => {
                        let (at, expected) = (arg(1)?.parse()?, num(2)?);
                        let mut deleted = 0;
                        let time = timed(|| {
                            deleted = p.cleanup(at)?;
                            Ok(())
                        })?;
                        if deleted != expected {
                            return Err(format!("cleanup deleted {deleted}, not {expected}").into());
                        }
                        nanos(time)
                    }
                    other => return Err(format!("unknown request {other:?}").into()),
                }
            }
        };
        writeln!(out, "{answer}")?;
        out.flush()?;
    }
    Ok(())
}

fn timed(f: impl FnOnce() -> Result<()>) -> Result<Duration> {
    let start = Instant::now();
    f()?;
    Ok(start.elapsed())
}

fn nanos(d: Duration) -> String {
    d.as_nanos().to_string()
}
