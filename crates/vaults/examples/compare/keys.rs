//! The key hierarchy's costs: unlock with the default Argon2id parameters,
//! and `rotate`.

use super::*;

/// Unlocking with the default Argon2id parameters (median of the reps).
pub(super) fn unlock(s: &Settings, dir: &Path) -> Result<Duration> {
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
pub(super) fn rotate(s: &Settings, dir: &Path) -> Result<(usize, Duration)> {
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
