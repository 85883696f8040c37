//! `edit`: an entry's text in `$VISUAL` / `$EDITOR`, through a private file
//! in memory-backed storage (a tmpfs: `/dev/shm`), never on a disk.
//!
//! The file is 0600 in a 0700 folder of its own. Afterwards it is
//! overwritten with zeros and removed with its folder, also when the editor
//! fails or Ctrl-C is pressed (this process then waits for the editor
//! rather than dying, as git does). Nothing is written back when the editor
//! fails, the text is unchanged, or the entry changed meanwhile.

use std::io::{Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use vaults::{Expiry, Store};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::output;
use crate::values;

/// tmpfs and ramfs: memory, not a disk.
const MEMORY_FILESYSTEMS: &[i64] = &[0x0102_1994, 0x8584_58f6];

/// Where the file goes: `$VAULTS_EDIT_DIR` (which must be memory-backed
/// too), else `/dev/shm`.
fn memory_dir() -> Result<PathBuf> {
    let dir = std::env::var_os("VAULTS_EDIT_DIR")
        .filter(|d| !d.is_empty())
        .map_or_else(|| PathBuf::from("/dev/shm"), PathBuf::from);
    #[allow(
        clippy::unnecessary_cast,
        reason = "f_type is i64 on x86_64 Linux, another integer elsewhere"
    )]
    let in_memory =
        rustix::fs::statfs(&dir).is_ok_and(|s| MEMORY_FILESYSTEMS.contains(&(s.f_type as i64)));
    if !in_memory {
        return Err(Error::other(format!(
            "{} is not memory-backed storage (tmpfs), so the plaintext would reach a disk; \
             nothing was written. Mount a tmpfs and name it in VAULTS_EDIT_DIR",
            dir.display()
        )));
    }
    Ok(dir)
}

/// The editor's command line: `$VISUAL`, `$EDITOR`, else `vi`.
fn editor() -> String {
    ["VISUAL", "EDITOR"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|e| !e.trim().is_empty()))
        .unwrap_or_else(|| "vi".to_owned())
}

/// Overwrites the file with zeros and syncs it (it is removed with its
/// folder after).
fn wipe(path: &Path) {
    let Ok(mut file) = std::fs::OpenOptions::new().write(true).open(path) else {
        return;
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let zeros = vec![0u8; 64 * 1024];
    let _ = file.rewind();
    let mut left = len;
    while left > 0 {
        let n = usize::try_from(left.min(zeros.len() as u64)).unwrap_or(zeros.len());
        if file.write_all(zeros.get(..n).unwrap_or(&zeros)).is_err() {
            break;
        }
        left -= n as u64;
    }
    let _ = file.sync_all();
}

/// `edit KEY`: edits the entry's text (`create`: a missing one starts empty).
pub fn edit<S: Store>(s: &S, key: &str, create: bool) -> Result<()> {
    let original: Zeroizing<String> = match s.get_bytes(key)? {
        Some(stored) => Zeroizing::new(values::env_value(&stored).ok_or_else(|| {
            Error::other(format!(
                "entry {key:?} is not text (binary or structured): `edit` edits text only"
            ))
        })?),
        None if create => Zeroizing::new(String::new()),
        None => {
            return Err(Error::not_found(format!(
                "no entry named {key:?} (--create starts a new one)"
            )));
        }
    };
    let dir = memory_dir()?;
    let folder = tempfile::Builder::new()
        .prefix("vaults-edit-")
        .tempdir_in(&dir)
        .map_err(|e| {
            Error::other(format!(
                "cannot make a private folder in {}: {e}",
                dir.display()
            ))
        })?;
    let path = folder.path().join("entry.txt");
    let edited = run_editor(&path, &original);
    wipe(&path);
    drop(folder);
    let Some(mut text) = edited? else {
        return Ok(());
    };
    // Editors end the last line; the value did not have that newline.
    if !original.ends_with('\n') && text.ends_with('\n') {
        text.pop();
    }
    if *text == *original {
        output::notice(&format!("vaults: {key:?} is unchanged; nothing written"));
        return Ok(());
    }
    let changed = s.transaction(|t| {
        let now = t.get_bytes(key)?;
        let now_text = now
            .as_deref()
            .and_then(|b| values::env_value(b))
            .map(Zeroizing::new);
        let same = match (&now_text, create && original.is_empty()) {
            (Some(now), _) => **now == *original,
            (None, fresh) => fresh,
        };
        if !same {
            return Ok(true);
        }
        t.put_with(key, text.as_str(), Expiry::Keep)?;
        Ok(false)
    })?;
    if changed {
        return Err(Error::other(format!(
            "{key:?} changed while it was edited; nothing written (edit it again)"
        )));
    }
    output::notice(&format!("vaults: stored the edited {key:?}"));
    Ok(())
}

/// Writes `original` to `path`, runs the editor on it and reads it back:
/// `None` when the editor failed.
fn run_editor(path: &Path, original: &str) -> Result<Option<Zeroizing<String>>> {
    std::fs::write(path, original.as_bytes())
        .map_err(|e| Error::other(format!("cannot write {}: {e}", path.display())))?;
    // Ctrl-C goes to the editor; this process waits for it, then cleans up.
    let interrupted = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        let _ = signal_hook::flag::register(signal, Arc::clone(&interrupted));
    }
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{} \"$1\"", editor()))
        .arg("sh")
        .arg(path)
        .status()
        .map_err(|e| Error::other(format!("cannot run the editor: {e}")))?;
    if interrupted.load(Ordering::SeqCst) {
        return Err(Error::other("interrupted; nothing written"));
    }
    if !status.success() {
        output::notice(&format!(
            "vaults: the editor failed ({status}); nothing written"
        ));
        return Ok(None);
    }
    let data = std::fs::read(path)
        .map_err(|e| Error::other(format!("cannot read the edited file: {e}")))?;
    let data = Zeroizing::new(data);
    let text = std::str::from_utf8(&data)
        .map_err(|_| Error::other("the edited text is not UTF-8; nothing written"))?;
    Ok(Some(Zeroizing::new(text.to_owned())))
}
