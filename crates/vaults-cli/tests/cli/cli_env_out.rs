//! `vaults env`: each format reads back to the same bytes, through the
//! readers programs use (dotenvy, sh and bash, a JSON parser).

use crate::cli_util::{Env, assert_error, assert_success};

/// Values every quoting rule has to get right.
const NASTY: &[(&str, &str)] = &[
    ("n/multi", "line one\nline two\n"),
    ("n/quotes", "it's \"quoted\" `tick`"),
    ("n/dollar", "$HOME ${PATH} $(id) $"),
    ("n/backslash", "a\\b\\\\c\\n\\"),
    ("n/hash", "before # after #"),
    ("n/spaces", "  padded  "),
    ("n/empty", ""),
    ("n/pem", "-----BEGIN KEY-----\nMIIB\n-----END KEY-----"),
];

fn vault() -> Env {
    let env = Env::new();
    env.init();
    for (k, v) in NASTY {
        // Values are stored as given: `set` drops one trailing newline, so
        // a value ending in one is given with one more.
        let given = if v.ends_with('\n') {
            format!("{v}\n")
        } else {
            (*v).to_owned()
        };
        env.set(k, given, &[]);
    }
    env
}

fn var(name: &str) -> String {
    name.replace('/', "_").to_uppercase()
}

#[test]
fn dotenv_output_reads_back_through_dotenvy() {
    let env = vault();
    let out = env.stdout(["env"]);
    let parsed: Vec<(String, String)> = dotenvy::from_read_iter(out.as_bytes())
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(parsed.len(), NASTY.len(), "{out}");
    for (k, v) in NASTY {
        let got = parsed
            .iter()
            .find(|(n, _)| *n == var(k))
            .map(|(_, v)| v.as_str());
        assert_eq!(got, Some(*v), "{k} in {out}");
    }
    // And through our own import.
    let file = env.write("out.env", &out);
    env.pw()
        .args([
            "--vault",
            "copy",
            "init",
            "--kdf-memory",
            "19",
            "--kdf-time",
            "2",
        ])
        .assert()
        .success();
    env.pw()
        .args(["--vault", "copy", "import"])
        .arg(&file)
        .assert()
        .success();
    let out = env
        .pw()
        .args(["--vault", "copy", "get", "-n", "N_MULTI"])
        .output()
        .unwrap();
    assert_eq!(out.stdout, b"line one\nline two\n");
}

#[test]
fn shell_output_sources_back_in_sh_and_bash() {
    let env = vault();
    let file = env.write(
        "out.sh",
        env.stdout(["env", "--format", "shell", "--from", "n/"]),
    );
    for shell in ["sh", "bash"] {
        for (k, v) in NASTY {
            let out = std::process::Command::new(shell)
                .arg("-c")
                .arg(format!(". \"$0\"; printf %s \"${}\"", var(k)))
                .arg(&file)
                .env_clear()
                .output()
                .unwrap();
            assert_success(&out);
            assert_eq!(String::from_utf8(out.stdout).unwrap(), *v, "{shell}: {k}");
        }
    }
}

#[test]
fn json_output_is_an_object_of_the_chosen_entries() {
    let env = vault();
    env.set("other", "x", &[]);
    let doc: serde_json::Value = serde_json::from_str(&env.stdout([
        "env", "--format", "json", "--prefix", "APP_", "--only", "n/quotes", "--from", "n/d",
    ]))
    .unwrap();
    assert_eq!(
        doc,
        serde_json::json!({"APP_N_QUOTES": "it's \"quoted\" `tick`", "APP_N_DOLLAR": "$HOME ${PATH} $(id) $"})
    );
    let out = env
        .pw()
        .args(["env", "--only", "missing"])
        .output()
        .unwrap();
    assert_error(&out, 3, &[]);
}
