//! Redis on loopback through the `redis` crate: what a web app would use
//! for sessions. The server is started by the harness (no persistence, or
//! an append-only file synced at every write).

use crate::{Peer, Result};

pub(crate) struct Redis {
    conn: redis::Connection,
}

impl Redis {
    /// Connects to the server on `127.0.0.1:port` and empties it.
    pub(crate) fn connect(port: usize) -> Result<Redis> {
        let client = redis::Client::open(format!("redis://127.0.0.1:{port}/"))?;
        let mut conn = client.get_connection()?;
        redis::cmd("FLUSHALL").query::<()>(&mut conn)?;
        Ok(Redis { conn })
    }
}

impl Peer for Redis {
    fn bulk_put(&mut self, items: &[(String, Vec<u8>)]) -> Result<()> {
        let mut pipe = redis::pipe();
        pipe.atomic();
        for (name, value) in items {
            pipe.cmd("SET").arg(name).arg(value).ignore();
        }
        pipe.query::<()>(&mut self.conn)?;
        Ok(())
    }

    fn remove_all(&mut self, names: &[String]) -> Result<()> {
        let mut pipe = redis::pipe();
        pipe.atomic();
        for name in names {
            pipe.cmd("DEL").arg(name).ignore();
        }
        pipe.query::<()>(&mut self.conn)?;
        Ok(())
    }

    fn get(&mut self, name: &str) -> Result<Option<usize>> {
        let value: Option<Vec<u8>> = redis::cmd("GET").arg(name).query(&mut self.conn)?;
        Ok(value.map(|v| v.len()))
    }

    fn put(&mut self, name: &str, value: &[u8]) -> Result<()> {
        redis::cmd("SET")
            .arg(name)
            .arg(value)
            .query::<()>(&mut self.conn)?;
        Ok(())
    }

    /// `SCAN` in steps of 10,000 (`KEYS` would stop the server for
    /// everyone else), then a sort: Redis keeps no order.
    fn names(&mut self) -> Result<Vec<String>> {
        let mut names = Vec::new();
        let mut cursor = 0u64;
        loop {
            let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("COUNT")
                .arg(10_000)
                .query(&mut self.conn)?;
            names.extend(batch);
            if next == 0 {
                break;
            }
            cursor = next;
        }
        names.sort_unstable();
        Ok(names)
    }

    fn version(&mut self) -> Result<String> {
        let info: String = redis::cmd("INFO").arg("server").query(&mut self.conn)?;
        let version = info
            .lines()
            .find_map(|l| l.strip_prefix("redis_version:"))
            .unwrap_or("unknown");
        Ok(format!("Redis {}", version.trim()))
    }

    fn bytes(&mut self) -> Result<u64> {
        Err("a Redis without persistence has no file".into())
    }

    fn cleanup_fill(&mut self, _: usize, _: usize, _: i64) -> Result<()> {
        Err("Redis expires keys itself".into())
    }

    fn cleanup(&mut self, _: i64) -> Result<usize> {
        Err("Redis expires keys itself".into())
    }
}
