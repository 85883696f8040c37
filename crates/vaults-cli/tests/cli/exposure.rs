//! `vaults::Exposure`: the one set of ssh-like checks on a vault file and its
//! folder, whose findings the library logs and the CLI prints.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::cli_util;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use cli_util::{Env, assert_success};
use vaults::{Exposure, Vault};

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn check_reports_the_file_and_the_folder() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("vaults");
    std::fs::create_dir(&folder).unwrap();
    chmod(&folder, 0o700);
    let path = folder.join("app.db");
    Vault::open_or_create(&path).unwrap().close().unwrap();
    assert_eq!(Exposure::check(&path), []);

    // Any group or other bit on the file; write bits only on the folder.
    for (file_mode, folder_mode) in [(0o640, 0o750), (0o604, 0o755), (0o600, 0o770)] {
        chmod(&path, file_mode);
        chmod(&folder, folder_mode);
        let found = Exposure::check(&path);
        let want: Vec<Exposure> = match file_mode & 0o077 {
            0 => vec![],
            _ => vec![Exposure::File {
                path: path.clone(),
                mode: file_mode,
            }],
        };
        let want_folder = match folder_mode & 0o022 {
            0 => vec![],
            _ => vec![Exposure::Folder {
                path: folder.clone(),
                mode: folder_mode,
            }],
        };
        assert_eq!(
            found,
            [want, want_folder].concat(),
            "{file_mode:o} {folder_mode:o}"
        );
    }

    chmod(&path, 0o620);
    chmod(&folder, 0o1777);
    let texts: Vec<String> = Exposure::check(&path)
        .iter()
        .map(|f| f.to_string())
        .collect();
    let (file, dir_shown) = (path.display(), folder.display());
    assert_eq!(
        texts,
        [
            format!("{file} is writable by other users (mode 620); run: chmod 600 {file}"),
            format!(
                "folder {dir_shown} is writable by other users (mode 777); run: chmod 700 {dir_shown}"
            ),
        ]
    );
    // A path that is not there: nothing to report (the open says why).
    assert_eq!(Exposure::check(folder.join("missing.db")), []);
}

/// Regression: the CLI had its own copy of the checks, with its own texts;
/// it now prints the library's findings, one `warning:` line each.
#[test]
fn the_cli_prints_the_library_findings() {
    let env = Env::new();
    env.init().set("k", "v", &[]);
    chmod(&env.vault_path(), 0o604);
    chmod(&env.dir, 0o757);
    let out = env.pw().args(["get", "k"]).output().unwrap();
    assert_success(&out);
    let want: String = Exposure::check(env.vault_path())
        .iter()
        .map(|f| format!("warning: {f}\n"))
        .collect();
    assert_eq!(want.lines().count(), 2, "{want}");
    assert_eq!(String::from_utf8(out.stderr).unwrap(), want);
}
