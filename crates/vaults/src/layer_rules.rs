//! The layer rule, checked on the source: no file of a lower layer names a
//! module of a higher one.
//!
//! For every `.rs` file under `src/engine`, `src/codec` and `src/crypto`,
//! every path that starts at `crate::` on a line of code (`use` lines and
//! paths written inline alike, braces of a `use crate::{...}` group
//! included; comment lines, doc links among them, are skipped: they make
//! no dependency) must start with one of the layer's allowed first
//! segments: the layer itself, the layers below it, and the leaf modules
//! (and the leaf types re-exported at the crate root). A `super::` chain
//! that climbs out of the layer's folder fails too.

use std::path::Path;

/// Leaf modules, and the leaf types the crate root re-exports.
const LEAVES: &[&str] = &[
    "clock",
    "error",
    "expiry",
    "limits",
    "row",
    "scrub",
    "Clock",
    "SystemClock",
    "ManualClock",
    "Error",
    "Integrity",
    "Kind",
    "Result",
    "Ttl",
    "ExpireIf",
    "Durability",
    "MAX_NAME_LEN",
    "MAX_VALUE_LEN",
];

/// Each checked layer and the layers it may name besides itself and the leaves.
const LAYERS: &[(&str, &[&str])] = &[("engine", &[]), ("codec", &["crypto"]), ("crypto", &[])];

#[test]
fn lower_layers_never_name_higher_ones() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut bad = Vec::new();
    let mut files = 0;
    for (layer, below) in LAYERS {
        for file in rust_files(&src.join(layer)) {
            files += 1;
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            let rel = file.strip_prefix(&src).unwrap_or(&file).to_path_buf();
            let depth = module_depth(&rel);
            for (n, line) in text.lines().enumerate() {
                if line.trim_start().starts_with("//") {
                    continue;
                }
                for first in crate_paths(line) {
                    let ok = first == *layer || below.contains(&first) || LEAVES.contains(&first);
                    if !ok {
                        bad.push(format!("{}:{}: crate::{first}", rel.display(), n + 1));
                    }
                }
                // Inside a file's `mod tests`, `super::` is one level deeper.
                let supers = line.matches("super::").count();
                let test_module = text[..text.find(line).unwrap_or(0)].contains("mod tests");
                if supers > depth + usize::from(test_module) {
                    bad.push(format!(
                        "{}:{}: super:: leaves the layer",
                        rel.display(),
                        n + 1
                    ));
                }
            }
        }
    }
    assert!(
        files > 20,
        "only {files} files found: is the layout as expected?"
    );
    assert!(
        bad.is_empty(),
        "lower layers name higher ones:\n{}",
        bad.join("\n")
    );
}

/// The checker itself finds what it must.
#[test]
fn the_checker_finds_crate_paths() {
    assert_eq!(crate_paths("use crate::api::Vault;"), ["api"]);
    assert_eq!(
        crate_paths("use crate::{Error, codec::cbor, engine::{Mode, Rows}};"),
        ["Error", "codec", "engine"]
    );
    assert_eq!(crate_paths("/// see [`Vault`](crate::Vault)"), ["Vault"]);
    assert!(crate_paths("let crate_x = 1; // no path").is_empty());
    assert_eq!(module_depth(Path::new("engine/mod.rs")), 0);
    assert_eq!(module_depth(Path::new("engine/sqlite/rows.rs")), 2);
    assert_eq!(module_depth(Path::new("crypto/aead/tests.rs")), 2);
}

/// Every `.rs` file under `dir`, recursively.
fn rust_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

/// How many modules below its layer's root a file is (`engine/mod.rs` is
/// the root, 0; `engine/sqlite/rows.rs` is 2).
fn module_depth(rel: &Path) -> usize {
    let parts = rel.components().count();
    match rel.file_name().and_then(|n| n.to_str()) {
        Some("mod.rs") => parts - 2,
        _ => parts - 1,
    }
}

/// The first segment of every `crate::` path on a line.
fn crate_paths(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for (at, _) in line.match_indices("crate::") {
        if line[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let rest = &line[at + "crate::".len()..];
        match rest.strip_prefix('{') {
            None => out.push(ident(rest)),
            Some(group) => {
                // Top-level items of the group: after `{` and after each `,`
                // at depth 0.
                let mut depth = 0;
                let mut start = true;
                for (i, c) in group.char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' if depth == 0 => break,
                        '}' => depth -= 1,
                        ',' if depth == 0 => start = true,
                        c if start && !c.is_whitespace() => {
                            out.push(ident(&group[i..]));
                            start = false;
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    out
}

/// The identifier `s` starts with.
fn ident(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}
