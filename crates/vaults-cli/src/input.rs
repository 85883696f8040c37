//! Reading what users and other processes hand us: never more than a cap
//! (no input grows memory without bound, and running out of memory is an
//! error, not an abort), and, for passphrase sources, never longer than a
//! deadline (a FIFO nobody writes to, or a command that hangs, cannot hang us).

use std::io::{self, Read};
use std::sync::mpsc;
use std::time::Duration;

use zeroize::Zeroizing;

/// Longest passphrase read from a file or a command, in bytes, not counting
/// the trailing newline that is dropped.
pub const PASSPHRASE_MAX: usize = 4096;

/// What is read of a passphrase source at most: [`PASSPHRASE_MAX`] and a
/// `\r\n`.
pub const PASSPHRASE_READ_MAX: usize = PASSPHRASE_MAX + 2;

/// First allocation of a buffer: inputs are usually small, and a passphrase
/// (at most [`PASSPHRASE_READ_MAX`]) then never moves.
const FIRST_CHUNK: usize = 64 << 10;

/// Why a capped read failed.
#[derive(Debug)]
pub enum ReadError {
    /// The input has more than the cap.
    TooLarge,
    /// No memory for the next part of the input.
    OutOfMemory,
    /// The source failed.
    Io(io::Error),
}

/// Reads all of `reader` into a wiped-on-drop buffer, refusing more than
/// `cap` bytes.
///
/// The buffer grows by allocating a larger one with `try_reserve` and copying
/// over: the old one is wiped when dropped (a `Vec` growing in place would
/// leave copies of a secret behind in freed memory), and an allocation that
/// fails is [`ReadError::OutOfMemory`] instead of an abort.
pub fn read_capped(reader: &mut dyn Read, cap: usize) -> Result<Zeroizing<Vec<u8>>, ReadError> {
    let limit = cap.saturating_add(1);
    let mut buf = with_capacity(limit.min(FIRST_CHUNK))?;
    loop {
        // Reading no more than the spare room never makes the `Vec` grow
        // itself (which would leave an unwiped copy behind).
        let room = buf.capacity() - buf.len();
        let before = buf.len();
        match reader.take(room as u64).read_to_end(&mut buf) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(ReadError::Io(e)),
        }
        if buf.len() - before < room {
            break; // the end of the input
        }
        if buf.len() >= limit {
            return Err(ReadError::TooLarge);
        }
        let mut bigger = with_capacity(buf.len().saturating_mul(2).min(limit))?;
        bigger.extend_from_slice(&buf);
        buf = bigger;
    }
    if buf.len() > cap {
        return Err(ReadError::TooLarge);
    }
    Ok(buf)
}

/// An empty buffer with room for `len` bytes, or `OutOfMemory`.
fn with_capacity(len: usize) -> Result<Zeroizing<Vec<u8>>, ReadError> {
    let mut buf = Zeroizing::new(Vec::new());
    buf.try_reserve_exact(len)
        .map_err(|_| ReadError::OutOfMemory)?;
    Ok(buf)
}

/// Runs `work` on its own thread and waits at most `timeout` for its
/// answer: `None` when it did not come in time (the thread is left blocked,
/// and goes when the process ends, which a failed passphrase source leads
/// to).
///
/// # Errors
/// When no thread can be started.
pub fn within<T: Send + 'static>(
    timeout: Duration,
    work: impl FnOnce() -> T + Send + 'static,
) -> io::Result<Option<T>> {
    let (tx, rx) = mpsc::sync_channel(1);
    std::thread::Builder::new()
        .name("vaults-input".into())
        .spawn(move || {
            let _ = tx.send(work());
        })?;
    match rx.recv_timeout(timeout) {
        Ok(answer) => Ok(Some(answer)),
        // The worker is gone without an answer: only a panic does that.
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            Err(io::Error::other("the reading thread failed"))
        }
        Err(mpsc::RecvTimeoutError::Timeout) => Ok(None),
    }
}

/// `bytes` for people: `4 KiB`, `64 MiB`.
pub fn human_size(bytes: usize) -> String {
    match bytes {
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{} KiB", b >> 10),
        b => format!("{b} bytes"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn reads_up_to_the_cap_and_no_further() {
        let data = vec![7u8; 200_000];
        let got = read_capped(&mut &data[..], 200_000).unwrap();
        assert_eq!(&got[..], &data[..]);
        assert!(matches!(
            read_capped(&mut &data[..], 199_999),
            Err(ReadError::TooLarge)
        ));
        assert!(read_capped(&mut &b""[..], 0).unwrap().is_empty());
    }

    #[test]
    fn endless_input_stops_at_the_cap() {
        assert!(matches!(
            read_capped(&mut io::repeat(b'y'), 1 << 20),
            Err(ReadError::TooLarge)
        ));
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(human_size(4096), "4 KiB");
        assert_eq!(human_size(64 << 20), "64 MiB");
        assert_eq!(human_size(1000), "1000 bytes");
    }
}
