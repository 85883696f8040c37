//! The list of plain vaults in the user's config folder
//! (`plain-vaults.json`) as a file someone else may have prepared: a
//! symlink planted where it used to be written, a folder others may write,
//! an oversized list. The CLI writes only files it created itself, and
//! checks the file it reads.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::cli_util;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use cli_util::{Env, assert_error, assert_success};

/// The folder `init --plain` records plain vaults in.
fn list_folder(env: &Env) -> PathBuf {
    env.config_dir().join("vaults")
}

/// Creates the list's folder owner-only, as `init --plain` would.
fn make_list_folder(env: &Env) -> PathBuf {
    let folder = list_folder(env);
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o700)).unwrap();
    folder
}

/// Regression: the list was written to a fixed `plain-vaults.json.tmp`,
/// opened with create + truncate and following symlinks, so a link left
/// there (say while the folder was loose) made `init --plain` overwrite
/// the file it pointed to.
#[test]
fn a_symlink_at_the_old_temp_name_is_not_followed() {
    let env = Env::new();
    let folder = make_list_folder(&env);
    let victim = env.write("victim.txt", "precious\n");
    let planted = folder.join("plain-vaults.json.tmp");
    std::os::unix::fs::symlink(&victim, &planted).unwrap();

    env.init_plain().set("k", "v", &[]);

    assert_eq!(std::fs::read(&victim).unwrap(), b"precious\n");
    let list = folder.join("plain-vaults.json");
    assert!(std::fs::symlink_metadata(&list).unwrap().is_file());
    assert!(
        std::fs::read_to_string(&list)
            .unwrap()
            .contains("default.db")
    );
    // The vault was recorded: it opens as plain without a flag.
    assert_eq!(env.get("k"), b"v");
    // Nothing of ours was left behind beside the list.
    let mut names: Vec<_> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "plain-vaults.json",
            "plain-vaults.json.tmp",
            "plain-vaults.lock"
        ]
    );
}

/// Regression: `DirBuilder::mode(0o700)` left an existing folder as it
/// was, and the list was written into a folder others may write (who could
/// plant links there, or swap the list). `init --plain` now refuses such a
/// folder before creating the vault.
#[test]
fn a_config_folder_others_can_write_is_refused_for_init_plain() {
    for loose in [0o770, 0o707, 0o1777] {
        let env = Env::new();
        let folder = make_list_folder(&env);
        std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(loose)).unwrap();
        let out = env.cmd().args(["init", "--plain"]).output().unwrap();
        let line = assert_error(&out, 1, &[]);
        assert!(
            line.contains("refusing to keep the plain-vault list in")
                && line.contains(&folder.display().to_string())
                && line.contains("chmod 700"),
            "{line}"
        );
        assert!(!env.vault_path().exists(), "mode {loose:o}: no vault made");
        assert!(!folder.join("plain-vaults.json").exists());
    }
}

/// A list in a folder that others may write is not trusted when read:
/// the plain vault it names is refused (with a warning saying why) until
/// the folder is fixed, or `--plain` is given.
#[test]
fn a_list_in_a_folder_others_can_write_is_ignored() {
    let env = Env::new();
    env.init_plain().set("k", "v", &[]);
    let folder = list_folder(&env);
    std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o775)).unwrap();

    let out = env.cmd().args(["get", "k"]).output().unwrap();
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("warning: ignoring") && stderr.contains("its folder"),
        "{stderr}"
    );
    let out = env.cmd().args(["--plain", "get", "k"]).output().unwrap();
    assert_success(&out);
    assert_eq!(out.stdout, b"v\n");

    std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o700)).unwrap();
    assert_eq!(env.get("k"), b"v");
}

/// The list is read up to 1 MiB: a larger file is an error, not a read of
/// whatever size was planted.
#[test]
fn an_oversized_list_is_refused() {
    let env = Env::new();
    env.init_plain();
    let list = list_folder(&env).join("plain-vaults.json");
    let mut text = std::fs::read(&list).unwrap();
    // Still valid JSON: only whitespace added.
    text.resize(1024 * 1024 + 1, b' ');
    std::fs::write(&list, &text).unwrap();

    let out = env.cmd().args(["ls"]).output().unwrap();
    let line = assert_error(&out, 1, &[]);
    assert!(line.contains("larger than 1024 KiB"), "{line}");

    text.truncate(1024 * 1024);
    std::fs::write(&list, &text).unwrap();
    env.cmd().args(["ls"]).assert().success();
}

/// The list is opened without following a symlink: a link at its name is
/// an error, never a read of the file it points to.
#[test]
fn a_symlink_at_the_list_is_refused() {
    let env = Env::new();
    env.init_plain();
    let list = list_folder(&env).join("plain-vaults.json");
    let elsewhere = env.file("elsewhere.json");
    std::fs::rename(&list, &elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &list).unwrap();

    let out = env.cmd().args(["ls"]).output().unwrap();
    let line = assert_error(&out, 1, &[]);
    assert!(line.contains("cannot read"), "{line}");
}
