//! `vaults edit` with scripts as the editor: the file is in memory-backed
//! storage, private, and gone afterwards; nothing is written back when the
//! editor fails or changes nothing.

use crate::cli_util::{Env, assert_error, assert_success, mode};

/// An editor script that records its file's path and modes in `log`, then
/// runs `action` on it (`$1`).
fn editor(env: &Env, action: &str) -> String {
    let log = env.file("editor.log");
    let script = env.write(
        "editor.sh",
        format!(
            "#!/bin/sh\n# The file is the last argument.\nfor f; do last=$f; done; set -- \"$last\"\nprintf '%s\\n' \"$1\" > '{log}'\nstat -c %a \"$1\" >> '{log}'\nstat -c %a \"$(dirname \"$1\")\" >> '{log}'\n{action}\n",
            log = log.display()
        ),
    );
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    script.display().to_string()
}

fn logged(env: &Env) -> Vec<String> {
    std::fs::read_to_string(env.file("editor.log"))
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn edit_goes_through_a_private_file_in_memory_and_keeps_the_expiry() {
    let env = Env::new();
    env.init().set("k", "old value", &["--ttl", "1h"]);
    let ed = editor(&env, "sed -i 's/old/new/' \"$1\"");
    let out = env
        .pw()
        .env("EDITOR", &ed)
        .args(["edit", "k"])
        .output()
        .unwrap();
    assert_success(&out);
    assert_eq!(env.get("k"), b"new value");
    let left: u64 = env.stdout(["ttl", "k"]).trim().parse().unwrap();
    assert!((3590..=3600).contains(&left), "{left}");
    let log = logged(&env);
    assert!(log[0].starts_with("/dev/shm/vaults-edit-"), "{log:?}");
    assert_eq!(log[1], "600");
    assert_eq!(log[2], "700");
    let file = std::path::Path::new(&log[0]);
    assert!(
        !file.exists() && !file.parent().unwrap().exists(),
        "left behind"
    );
    let _ = mode;
}

#[test]
fn a_failing_or_idle_editor_writes_nothing() {
    let env = Env::new();
    env.init().set("k", "v4lue", &[]);
    for (action, said) in [
        ("echo changed > \"$1\"; exit 3", "the editor failed"),
        ("true", "unchanged"),
    ] {
        let ed = editor(&env, action);
        let out = env
            .pw()
            .env("EDITOR", &ed)
            .args(["edit", "k"])
            .output()
            .unwrap();
        assert_success(&out);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(said), "{action}: {stderr}");
        assert_eq!(env.get("k"), b"v4lue");
        let log = logged(&env);
        assert!(!std::path::Path::new(&log[0]).exists());
    }
    // VISUAL wins over EDITOR, and an editor with arguments works.
    let ed = editor(&env, "printf 'from visual' > \"$1\"");
    env.pw()
        .env("EDITOR", "false")
        .env("VISUAL", format!("{ed} --wait"))
        .args(["edit", "k"])
        .assert()
        .success();
    assert_eq!(env.get("k"), b"from visual");
}

#[test]
fn edit_refuses_a_missing_entry_and_storage_that_is_not_memory() {
    let env = Env::new();
    env.init();
    let out = env
        .pw()
        .env("EDITOR", "true")
        .args(["edit", "nope"])
        .output()
        .unwrap();
    assert_error(&out, 3, &[]);
    let ed = editor(&env, "printf 'fresh' > \"$1\"");
    env.pw()
        .env("EDITOR", &ed)
        .args(["edit", "--create", "nope"])
        .assert()
        .success();
    assert_eq!(env.get("nope"), b"fresh");
    // A folder on an ordinary disk is refused, and the editor never runs.
    let disk = env.file("disk");
    std::fs::create_dir(&disk).unwrap();
    let out = env
        .pw()
        .env("VAULTS_EDIT_DIR", &disk)
        .env("EDITOR", &ed)
        .args(["edit", "nope"])
        .output()
        .unwrap();
    let line = assert_error(&out, 1, &["fresh"]);
    assert!(line.contains("not memory-backed"), "{line}");
    assert_eq!(std::fs::read_dir(&disk).unwrap().count(), 0);
}
