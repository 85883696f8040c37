//! `set --multiline` on a terminal: a value of several lines (a PEM key, a
//! certificate), typed or pasted without echo, ended by Ctrl-D.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use rustix::termios::{LocalModes, OptionalActions, Termios};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// Puts the terminal's echo back as it was, however the read ends.
struct EchoOff<'a> {
    tty: &'a File,
    saved: Termios,
}

impl Drop for EchoOff<'_> {
    fn drop(&mut self) {
        let _ = rustix::termios::tcsetattr(self.tty, OptionalActions::Now, &self.saved);
    }
}

/// Reads lines from the terminal, without echo (each newline is still
/// shown), until end of input (Ctrl-D on a line of its own), at most `cap`
/// bytes; one trailing newline is dropped, as for a piped value. Ctrl-C
/// cancels once the line is ended.
pub fn read(prompt: &str, cap: usize) -> Result<Zeroizing<Vec<u8>>> {
    let cannot = |e: &dyn std::fmt::Display| Error::other(format!("cannot read the terminal: {e}"));
    let mut tty = OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .map_err(|e| cannot(&e))?;
    let saved = rustix::termios::tcgetattr(&tty).map_err(|e| cannot(&e))?;
    let mut quiet = saved.clone();
    quiet.local_modes.remove(LocalModes::ECHO);
    quiet.local_modes.insert(LocalModes::ECHONL);
    let interrupted = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        let _ = signal_hook::flag::register(signal, Arc::clone(&interrupted));
    }
    (&tty)
        .write_all(
            format!("{prompt} (not echoed; end with Ctrl-D on a line of its own)\n").as_bytes(),
        )
        .map_err(|e| cannot(&e))?;
    let mut data = Zeroizing::new(Vec::new());
    {
        rustix::termios::tcsetattr(&tty, OptionalActions::Now, &quiet).map_err(|e| cannot(&e))?;
        let _echo = EchoOff { tty: &tty, saved };
        let mut chunk = Zeroizing::new([0u8; 4096]);
        loop {
            let n = (&tty).read(&mut chunk[..]).map_err(|e| cannot(&e))?;
            if interrupted.load(Ordering::SeqCst) {
                return Err(Error::usage("cancelled; nothing stored"));
            }
            if n == 0 {
                break;
            }
            if data.len() + n > cap {
                return Err(Error::other("the value is larger than the library's limit"));
            }
            data.extend_from_slice(chunk.get(..n).unwrap_or_default());
        }
    }
    let _ = tty.flush();
    if data.ends_with(b"\n") {
        data.pop();
    }
    Ok(data)
}
