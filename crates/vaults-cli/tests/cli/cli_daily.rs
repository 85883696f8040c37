//! The daily commands of issue 15 through the real binary: `mv`, `cp`,
//! `generate`, `otp`, `vaults`, `ls` patterns and `--tree`, `exec --from`.

use crate::cli_util::{Env, PASS, assert_error, assert_success};
use crate::faketime;

fn ttl(env: &Env, key: &str) -> u64 {
    env.stdout(["ttl", key]).trim().parse().unwrap()
}

#[test]
fn mv_renames_with_the_expiry_and_refuses_to_overwrite() {
    let env = Env::new();
    env.init()
        .set("a", "one", &["--ttl", "1h"])
        .set("b", "two", &[]);
    let out = env.pw().args(["mv", "a", "b"]).output().unwrap();
    let line = assert_error(&out, 1, &["one", "two"]);
    assert!(line.contains("--force"), "{line}");
    assert_eq!(env.names(), ["a", "b"]);
    env.pw().args(["mv", "a", "c"]).assert().success();
    assert_eq!(env.names(), ["b", "c"]);
    assert_eq!(env.get("c"), b"one");
    assert!((3590..=3600).contains(&ttl(&env, "c")));
    env.pw()
        .args(["mv", "--force", "c", "b"])
        .assert()
        .success();
    assert_eq!(env.names(), ["b"]);
    assert_eq!(env.get("b"), b"one");
    assert!((3590..=3600).contains(&ttl(&env, "b")));
    let out = env.pw().args(["mv", "nothing", "x"]).output().unwrap();
    assert_error(&out, 3, &[]);
    let out = env.pw().args(["mv", "b", "b"]).output().unwrap();
    assert_error(&out, 2, &[]);
}

#[test]
fn cp_copies_value_and_expiry_on_a_plain_vault_too() {
    let env = Env::new();
    env.init_plain();
    let run = |args: &[&str]| env.cmd().args(args).output().unwrap();
    assert_success(
        &env.cmd()
            .args(["set", "s", "--ttl", "2h"])
            .write_stdin("v")
            .output()
            .unwrap(),
    );
    assert_success(&run(&["cp", "s", "t"]));
    let out = run(&["get", "t"]);
    assert_eq!(out.stdout, b"v\n");
    let left: u64 = String::from_utf8(run(&["ttl", "t"]).stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!((7190..=7200).contains(&left), "{left}");
    assert_eq!(run(&["get", "s"]).stdout, b"v\n");
    assert_error(&run(&["cp", "s", "t"]), 1, &[]);
}

#[test]
fn generate_stores_a_secret_of_the_asked_shape_and_prints_it_only_when_asked() {
    let env = Env::new();
    env.init();
    let out = env.pw().args(["generate", "g"]).output().unwrap();
    assert_success(&out);
    assert!(out.stdout.is_empty(), "printed without --print");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("bits of entropy"), "{said}");
    let g = env.get("g");
    assert_eq!(g.len(), 24);
    let out = env.pw().args(["generate", "g"]).output().unwrap();
    assert_error(&out, 1, &[]);
    assert_eq!(env.get("g"), g, "overwritten without --force");
    let out = env
        .pw()
        .args(["generate", "h", "--length", "40", "--no-symbols", "--print"])
        .output()
        .unwrap();
    assert_success(&out);
    let printed = String::from_utf8(out.stdout).unwrap();
    let h = printed.trim_end();
    assert_eq!(h.len(), 40);
    assert!(h.chars().all(|c| c.is_ascii_alphanumeric()), "{h}");
    assert_eq!(env.get("h"), h.as_bytes());
    assert_ne!(env.get("g"), env.get("h")[..24]);
    let out = env
        .pw()
        .args(["generate", "w", "--words", "6", "--print"])
        .output()
        .unwrap();
    assert_success(&out);
    let words = String::from_utf8(out.stdout).unwrap();
    let list = include_str!("../../data/eff_large_wordlist.txt");
    let parts: Vec<&str> = words.trim_end().split('-').collect();
    assert_eq!(parts.len(), 6, "{words}");
    assert!(
        parts.iter().all(|p| list.lines().any(|w| w == *p)),
        "{words}"
    );
    for bad in [
        &["--length", "7"][..],
        &["--length", "4097"],
        &["--words", "2"],
    ] {
        let out = env.pw().args(["generate", "x"]).args(bad).output().unwrap();
        assert_error(&out, 2, &[]);
    }
    env.pw()
        .args(["generate", "t", "--ttl", "1h"])
        .assert()
        .success();
    assert!((3590..=3600).contains(&ttl(&env, "t")));
}

/// The RFC 6238 SHA-1 seed, in base32.
const RFC_SEED: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

#[test]
fn otp_prints_the_rfc_6238_codes() {
    let env = Env::new();
    env.init();
    env.set(
        "uri",
        format!("otpauth://totp/ACME:me?secret={RFC_SEED}&digits=8&issuer=ACME"),
        &[],
    );
    env.set("bare", RFC_SEED.to_lowercase(), &[]);
    let Some(faketime) = faketime::faketime() else {
        return;
    };
    // RFC 6238 appendix B's T = 1111111109 lies in the 30 s step that
    // starts at 1111111080: the clock starts at 1111111090 (2005-03-18
    // 01:58:10 UTC), and has 20 s to run before the step ends.
    let at = |key: &str| {
        let out = env
            .sh(r#"exec "$0" -f "@2005-03-18 01:58:10" "$VAULTS_BIN" otp "$1""#)
            .env("VAULTS_PASSPHRASE", PASS)
            .env("TZ", "UTC")
            .arg(faketime)
            .arg(key)
            .output()
            .unwrap();
        assert_success(&out);
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(at("uri"), "07081804\n");
    assert_eq!(at("bare"), "081804\n");
    env.set("sha256", "otpauth://totp/x?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZA====&digits=8&algorithm=SHA256", &[]);
    assert_eq!(at("sha256"), "68084774\n");
    env.set("junk", "not a secret!", &[]);
    let out = env.pw().args(["otp", "junk"]).output().unwrap();
    assert_error(&out, 1, &["not a secret"]);
}

#[test]
fn vaults_lists_the_folder_with_kinds_and_plain_counts() {
    let env = Env::new();
    env.init().set("a", "1", &[]);
    env.cmd()
        .args(["--vault", "cache", "init", "--plain"])
        .assert()
        .success();
    env.cmd()
        .args(["--vault", "cache", "set", "x"])
        .write_stdin("1")
        .assert()
        .success();
    std::fs::write(env.dir.join("junk.db"), b"not a vault").unwrap();
    let out = env.cmd().arg("vaults").output().unwrap();
    assert_success(&out);
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<Vec<&str>> = text
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        lines,
        [
            vec!["cache", "plain", "1"],
            vec!["default", "encrypted", "-"],
            vec!["junk", "unreadable", "-"]
        ]
    );
    let doc: serde_json::Value = serde_json::from_slice(
        &env.cmd()
            .args(["--json", "vaults"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert_eq!(doc[0]["entries"], 1);
    // No passphrase was needed for any of it (env.cmd() has none).
    let _ = PASS;
}

#[test]
fn ls_takes_globs_and_draws_a_tree() {
    let env = Env::new();
    env.init();
    for k in ["api/token", "api/v2/token", "db/password", "db/user", "top"] {
        env.set(k, "v", &[]);
    }
    assert_eq!(env.stdout(["ls", "api/*"]), "api/token\n");
    assert_eq!(env.stdout(["ls", "api/**"]), "api/token\napi/v2/token\n");
    assert_eq!(
        env.stdout(["ls", "*/token", "db/u?er"]),
        "api/token\ndb/user\n"
    );
    // A bare argument is still a prefix.
    assert_eq!(env.stdout(["ls", "db/"]), "db/password\ndb/user\n");
    assert_eq!(
        env.stdout(["ls", "--tree"]),
        "├── api\n│   ├── token\n│   └── v2\n│       └── token\n├── db\n│   ├── password\n│   └── user\n└── top\n"
    );
    let out = env.pw().args(["ls", "[unclosed"]).output().unwrap();
    assert_error(&out, 2, &[]);
}

#[test]
fn exec_from_chooses_by_prefix_and_keeps_the_control_variable_rule() {
    let env = Env::new();
    env.init();
    env.set("db/password", "pw1", &[])
        .set("db/user", "u", &[])
        .set("api/token", "t", &[]);
    let out = env
        .pw()
        .args([
            "exec",
            "--from",
            "db/",
            "--",
            "sh",
            "-c",
            "printf '%s|%s|%s' \"$DB_PASSWORD\" \"$DB_USER\" \"${API_TOKEN-unset}\"",
        ])
        .output()
        .unwrap();
    assert_success(&out);
    assert_eq!(out.stdout, b"pw1|u|unset");
    // --from and --only together: both sets.
    let out = env
        .pw()
        .args([
            "exec",
            "--from",
            "db/u",
            "--only",
            "api/token",
            "--",
            "sh",
            "-c",
            "printf '%s|%s|%s' \"${DB_PASSWORD-unset}\" \"$DB_USER\" \"$API_TOKEN\"",
        ])
        .output()
        .unwrap();
    assert_success(&out);
    assert_eq!(out.stdout, b"unset|u|t");
    // A prefix is not enough to set PATH.
    env.set("path", "/evil", &[]);
    let out = env
        .pw()
        .args(["exec", "--from", "pa", "--", "true"])
        .output()
        .unwrap();
    let line = assert_error(&out, 2, &["/evil"]);
    assert!(line.contains("$PATH"), "{line}");
}
