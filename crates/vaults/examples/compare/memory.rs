//! The peak memory of listing every name, measured in a child process.

use super::*;

/// The peak memory of listing every name, measured in a child process (so
/// nothing this process did before counts): (names, bytes above the RSS
/// just before the listing).
pub(super) fn peak_listing(template: &Path, encrypted: bool) -> Result<(usize, u64)> {
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
pub(super) fn proc_status(field: &str) -> Result<u64> {
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
pub(super) fn peak_child(path: &Path, kind: &str) -> Result<()> {
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
pub(super) fn list_from_here<S: Store>(vault: &S) -> Result<(usize, u64)> {
    reset_peak()?;
    let before = proc_status("VmRSS")?;
    Ok((vault.keys()?.len(), before))
}

/// Resets the kernel's peak-RSS mark of this process to its current RSS.
pub(super) fn reset_peak() -> Result<()> {
    std::fs::write("/proc/self/clear_refs", "5")?;
    Ok(())
}
