//! `vaults inject`: references filled, everything else byte for byte, the
//! output 0600 and never partial.

use crate::cli_util::{Env, assert_error, assert_success, mode};

const TEMPLATE: &str = "db:\n  password: {{ vaults \"db/password\" }}\n  user: {{vaults 'db/user'}}\n  other: {{ .Values.keep }} and {{ vaults \"nope\n";

#[test]
fn inject_fills_references_and_writes_a_private_file() {
    let env = Env::new();
    env.init()
        .set("db/password", "p@ss $word \"q\"", &[])
        .set("db/user", "app", &[]);
    let tpl = env.write("config.tpl", TEMPLATE);
    let out = env.file("config.yml");
    env.pw()
        .args(["inject", "-i"])
        .arg(&tpl)
        .arg("-o")
        .arg(&out)
        .assert()
        .success();
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "db:\n  password: p@ss $word \"q\"\n  user: app\n  other: {{ .Values.keep }} and {{ vaults \"nope\n"
    );
    assert_eq!(mode(&out), 0o600);
    // An existing output is kept without --force.
    let again = env
        .pw()
        .args(["inject", "-i"])
        .arg(&tpl)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert_error(&again, 1, &["p@ss"]);
    env.pw()
        .args(["inject", "--force", "-i"])
        .arg(&tpl)
        .arg("-o")
        .arg(&out)
        .assert()
        .success();
    // stdin to stdout.
    let piped = env
        .pw()
        .arg("inject")
        .write_stdin("u={{ vaults \"db/user\" }}")
        .output()
        .unwrap();
    assert_success(&piped);
    assert_eq!(piped.stdout, b"u=app");
}

#[test]
fn a_missing_entry_writes_nothing() {
    let env = Env::new();
    env.init().set("db/user", "app", &[]);
    let tpl = env.write(
        "t",
        "a={{ vaults \"db/user\" }}\nb={{ vaults \"missing\" }}\n",
    );
    let out = env.file("out");
    let run = env
        .pw()
        .args(["inject", "-i"])
        .arg(&tpl)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    let line = assert_error(&run, 3, &["app"]);
    assert!(line.contains("missing"), "{line}");
    assert!(!out.exists());
    // Nor a temporary file beside it.
    let left: Vec<_> = std::fs::read_dir(env.file(""))
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(
        !left
            .iter()
            .any(|n| n.to_string_lossy().starts_with(".vaults-")),
        "{left:?}"
    );
}
