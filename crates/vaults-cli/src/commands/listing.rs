//! `vaults`: the vaults of the folder, with their kind and, where no key
//! is needed, their entry count.

use serde_json::json;
use vaults::{Error as LibError, Kind, LockedVault, Store};

use crate::context::{Context, Place};
use crate::error::{Error, Result};
use crate::output::emit;

/// One vault of the folder.
struct Listed {
    name: String,
    kind: &'static str,
    entries: Option<u64>,
}

/// Lists the vaults of `--dir`, sorted by name.
pub fn list(ctx: &Context) -> Result<()> {
    let Place::Folder(dir) = &ctx.target.place else {
        return Err(Error::usage(
            "`vaults vaults` lists a folder's vaults; a server's are in its vaults.vaults table",
        ));
    };
    let names = match dir.root().is_dir() {
        true => dir.list()?,
        false => Vec::new(),
    };
    let mut listed = Vec::with_capacity(names.len());
    for name in names {
        let path = dir.path_of(&name)?;
        let opts = ctx.target.options();
        let (kind, entries) = match opts.open(&path) {
            // The file says plain: counted without a key.
            Ok(vault) => ("plain", vault.len().ok()),
            Err(LibError::WrongKind {
                found: Kind::Encrypted,
                ..
            }) => match LockedVault::open_with(&opts, &path) {
                Ok(_) => ("encrypted", None),
                Err(_) => ("unreadable", None),
            },
            Err(_) => ("unreadable", None),
        };
        listed.push(Listed {
            name,
            kind,
            entries,
        });
    }
    listed.sort_by(|a, b| a.name.cmp(&b.name));
    if ctx.json {
        let items: Vec<_> = listed
            .iter()
            .map(|l| json!({"name": l.name, "kind": l.kind, "entries": l.entries}))
            .collect();
        return emit(format!("{}\n", serde_json::Value::Array(items)).as_bytes());
    }
    let width = listed
        .iter()
        .map(|l| l.name.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for l in &listed {
        let entries = l.entries.map_or("-".to_owned(), |n| n.to_string());
        out.push_str(&format!("{:width$}  {:10}  {entries}\n", l.name, l.kind));
    }
    emit(out.as_bytes())
}
