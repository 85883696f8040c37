//! Everything the CLI prints: data on stdout (text, or JSON with `--json`),
//! secrets past std's buffer, notices on stderr, progress bars on a terminal.
//!
//! A write to a stdout whose reader went away (`vaults ls | head`) fails
//! with [`std::io::ErrorKind::BrokenPipe`], which `main` takes for success.

use std::io::Write;

use crate::context::Context;
use crate::error::Result;

/// Writes data to stdout.
pub fn emit(data: &[u8]) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(data).and_then(|()| out.flush())?;
    Ok(())
}

/// Prints a line of text, or `value` as JSON with `--json`.
pub fn say(ctx: &Context, text: &str, value: serde_json::Value) -> Result<()> {
    if ctx.json {
        emit(format!("{value}\n").as_bytes())
    } else {
        emit(format!("{text}\n").as_bytes())
    }
}

/// Writes a secret to stdout with `write(2)`, past std's stdout buffer: that
/// buffer would keep a copy of a short value, never wiped.
pub fn emit_secret(data: &[u8]) -> Result<()> {
    use rustix::io::Errno;
    // Whatever was printed before goes first.
    std::io::stdout().lock().flush()?;
    let mut rest = data;
    while !rest.is_empty() {
        match rustix::io::write(rustix::stdio::stdout(), rest) {
            Ok(0) => return Err(std::io::Error::from(std::io::ErrorKind::WriteZero).into()),
            Ok(n) => rest = rest.get(n..).unwrap_or_default(),
            Err(Errno::INTR) => {}
            Err(e) => return Err(std::io::Error::from(e).into()),
        }
    }
    Ok(())
}

/// Writes `text` to stderr (for notices that must not mix with data on stdout).
pub fn notice(text: &str) {
    let _ = writeln!(std::io::stderr(), "{text}");
}

/// A progress bar on stderr, drawn only when it is a terminal.
pub fn progress_bar(ctx: &Context) -> indicatif::ProgressBar {
    match ctx.progress {
        true => {
            indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr())
        }
        false => indicatif::ProgressBar::hidden(),
    }
}

/// An expiry as RFC 3339 (UTC), or `None` for never. RFC 3339 ends with
/// the year 9999: a later expiry (`--ttl 99999999d` is accepted) shows as its
/// last instant rather than panicking in `to_string`.
pub fn expiry_text(ttl: vaults::Ttl) -> Option<String> {
    use std::fmt::Write;
    const LAST: &str = "9999-12-31T23:59:59.999Z";
    match ttl {
        vaults::Ttl::Never => None,
        vaults::Ttl::Remaining(d) => {
            let mut text = String::new();
            match std::time::SystemTime::now().checked_add(d) {
                Some(at) if write!(text, "{}", humantime::format_rfc3339_millis(at)).is_ok() => {
                    Some(text)
                }
                _ => Some(LAST.to_owned()),
            }
        }
    }
}

/// "1 unreadable row", "2 unreadable rows".
pub fn unreadable_rows(n: usize) -> String {
    match n {
        1 => "1 unreadable row".to_owned(),
        n => format!("{n} unreadable rows"),
    }
}
