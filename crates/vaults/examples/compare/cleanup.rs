//! `cleanup_expired` on a million rows: raw `DELETE`s beside `Vault` and
//! `LockedVault`, and a full scan for scale.

use super::*;

/// `cleanup_expired` on [`CLEANUP_ROWS`] rows, every 10th expired.
pub(super) struct Cleanup {
    pub(super) rows: usize,
    pub(super) expired: usize,
    /// Median times: raw DELETE on the plain file, `Vault`, raw DELETE on
    /// the encrypted file, `LockedVault` (no key), a full scan decoding
    /// every row.
    pub(super) raw_plain: Duration,
    pub(super) vault: Duration,
    pub(super) raw_encrypted: Duration,
    pub(super) locked: Duration,
    pub(super) full_scan: Duration,
}

/// Builds the cleanup template of `kind` ("plain" or "encrypted").
pub(super) fn cleanup_template(dir: &Path, rows: usize, encrypted: bool) -> Result<PathBuf> {
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
pub(super) fn copy_of(template: &Path, dir: &Path) -> Result<PathBuf> {
    let path = dir.join("cleanup-copy.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    std::fs::copy(template, &path)?;
    Ok(path)
}

pub(super) fn cleanup(s: &Settings, dir: &Path) -> Result<Cleanup> {
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
