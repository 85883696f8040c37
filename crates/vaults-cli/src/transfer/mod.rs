//! `export` and `import`: our JSON document (plain, or encrypted for stock
//! `age`/`rage` with a passphrase), `.env` files, and (import only) files of
//! the original Python module. The commands are in
//! `commands/transfer.rs`; here are the formats.

mod age_file;
mod age_keys;
mod dotenv;
mod export_doc;
mod import_doc;
mod import_store;
mod legacy_file;

use std::io::Read;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde_json::Value as Json;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::values::{Encoding, Stored};

pub use age_file::{age_decrypt, age_decrypt_with, age_encrypt, age_encrypt_to, is_age};
pub use age_keys::{Identity, Recipient, identity_file, recipient, recipients_file};
pub use dotenv::parse_env;
pub use export_doc::write_export;
pub use import_doc::parse_export;
pub use import_store::{import_json, store};
pub use legacy_file::{is_sqlite, read_legacy};

/// The `format` field of our export document.
pub(crate) const FORMAT: &str = "vaults-export";

/// One entry of an export (read by [`EntrySeed`]).
#[derive(Serialize)]
pub struct Entry {
    pub(crate) name: String,
    pub(crate) encoding: Encoding,
    pub(crate) value: Json,
    /// Unix milliseconds; absent or null for never.
    pub(crate) expires_at: Option<i64>,
}

/// An entry parsed from any import format.
pub struct Item {
    pub name: String,
    pub value: Stored,
    pub expires_at: Option<i64>,
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The most JSON text one entry of an export may take: twice the value
/// limit, which leaves room for base64 (4/3) and escapes.
pub const ENTRY_TEXT_MAX: u64 = 2 * vaults::MAX_VALUE_LEN as u64;

/// The largest `.env` file `import` reads (it is read whole).
pub const ENV_FILE_MAX: usize = vaults::MAX_VALUE_LEN;

/// Whether `data` (the start of a file) looks like a JSON document.
pub fn is_json(data: &[u8]) -> bool {
    data.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
}

/// An input file (or stdin for `-`), with its first bytes read ahead to
/// guess its format.
pub struct Input {
    pub head: Vec<u8>,
    rest: Box<dyn Read>,
}

impl Input {
    /// Opens `path` and reads its first bytes.
    pub fn open(path: &Path) -> Result<Input> {
        let cannot =
            |e: std::io::Error| Error::other(format!("cannot read {}: {e}", path.display()));
        let mut rest: Box<dyn Read> = if path.as_os_str() == "-" {
            Box::new(std::io::stdin())
        } else {
            Box::new(std::fs::File::open(path).map_err(cannot)?)
        };
        let mut head = Vec::with_capacity(4096);
        (&mut rest)
            .take(4096)
            .read_to_end(&mut head)
            .map_err(cannot)?;
        Ok(Input { head, rest })
    }

    /// All of the input, from its first byte.
    pub fn reader(self) -> impl Read {
        std::io::Cursor::new(self.head).chain(self.rest)
    }

    /// All of the input, which must be at most `cap` bytes, in a wiped-on-drop
    /// buffer.
    pub fn read_all(self, cap: usize) -> Result<Zeroizing<Vec<u8>>> {
        use crate::input::{ReadError, human_size, read_capped};
        match read_capped(&mut self.reader(), cap) {
            Ok(data) => Ok(data),
            Err(ReadError::TooLarge) => Err(Error::other(format!(
                "the file is larger than {}",
                human_size(cap)
            ))),
            Err(ReadError::OutOfMemory) => Err(Error::other("cannot read the file: out of memory")),
            Err(ReadError::Io(e)) => Err(Error::other(format!("cannot read the file: {e}"))),
        }
    }
}
