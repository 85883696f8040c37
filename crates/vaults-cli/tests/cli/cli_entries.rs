//! Everyday commands: `set`, `get`, `rm`, `ls`, `ttl`, `expire`, `persist`,
//! `cleanup`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::cli_util;

use cli_util::{Env, PASS, assert_error};
use serde_json::json;

/// The seconds `vaults ttl` prints for `key` (`None` for `never`).
fn ttl(env: &Env, key: &str) -> Option<u64> {
    match env.stdout(["ttl", key]).trim() {
        "never" => None,
        secs => Some(secs.parse().expect("seconds")),
    }
}

#[test]
fn set_strips_exactly_one_trailing_newline() {
    let env = Env::new();
    env.init();
    env.set("none", "value", &[]);
    env.set("one", "value\n", &[]);
    env.set("two", "value\n\n", &[]);
    env.set("crlf", "value\r\n", &[]);
    env.set("inner", "line 1\nline 2\n", &[]);
    env.set("empty", "", &[]);
    assert_eq!(env.get("none"), b"value");
    assert_eq!(env.get("one"), b"value");
    assert_eq!(env.get("two"), b"value\n");
    assert_eq!(env.get("crlf"), b"value");
    assert_eq!(env.get("inner"), b"line 1\nline 2");
    assert_eq!(env.get("empty"), b"");
}

#[test]
fn get_prints_a_newline_unless_n() {
    let env = Env::new();
    env.init().set("api/token", "s3cr3t", &[]);
    env.pw()
        .args(["get", "api/token"])
        .assert()
        .success()
        .stdout("s3cr3t\n");
    env.pw()
        .args(["get", "-n", "api/token"])
        .assert()
        .success()
        .stdout("s3cr3t");
}

#[test]
fn binary_stdin_is_stored_as_bytes_and_printed_raw() {
    let env = Env::new();
    env.init();
    // Not UTF-8, has NUL and newline bytes inside, and ends in 0xff.
    let data: Vec<u8> = (0..=255u8).collect();
    env.set("bin", data.clone(), &[]);
    assert_eq!(env.get("bin"), data);
    env.pw()
        .args(["get", "bin"])
        .assert()
        .success()
        .stdout([&data[..], b"\n"].concat());
    let doc = env.json(["get", "bin"]);
    assert_eq!(doc["encoding"], "base64");
    use base64::Engine;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(doc["value"].as_str().unwrap())
        .unwrap();
    assert_eq!(decoded, data);
}

#[test]
fn set_json_stores_structured_values() {
    let env = Env::new();
    env.init();
    env.set(
        "db/config",
        r#"{"host": "db", "port": 5432, "tags": ["a", null, 1.5]}"#,
        &["--json-input"],
    );
    let doc = env.json(["get", "db/config"]);
    assert_eq!(
        doc,
        json!({
            "name": "db/config",
            "value": {"host": "db", "port": 5432, "tags": ["a", null, 1.5]},
            "encoding": "json",
            "expires_at": null,
        })
    );
    // Plain `get` prints the structure as compact JSON.
    let text = env.get("db/config");
    let parsed: serde_json::Value = serde_json::from_slice(&text).unwrap();
    assert_eq!(parsed, doc["value"]);
    // Without --json the same input is just text.
    env.set("raw", r#"{"host": "db"}"#, &[]);
    assert_eq!(env.json(["get", "raw"])["encoding"], "text");
    assert_eq!(env.get("raw"), br#"{"host": "db"}"#);
}

#[test]
fn set_json_refuses_invalid_json_without_echoing_it() {
    let env = Env::new();
    env.init();
    for bad in [r#"{"password": "hunter2""#, "hunter2", ""] {
        let out = env
            .pw()
            .args(["set", "k", "--json-input"])
            .write_stdin(bad)
            .output()
            .unwrap();
        let line = assert_error(&out, 2, &["hunter2", PASS]);
        assert!(line.contains("JSON"), "{line}");
    }
    assert!(env.names().is_empty());
}

#[test]
fn get_json_shows_name_value_encoding_and_expiry() {
    let env = Env::new();
    env.init();
    env.set("plain", "text value", &[]);
    env.set("session", "abc", &["--ttl", "1h"]);
    assert_eq!(
        env.json(["get", "plain"]),
        json!({"name": "plain", "value": "text value", "encoding": "text", "expires_at": null})
    );
    let doc = env.json(["get", "session"]);
    assert_eq!(doc["value"], "abc");
    let at = doc["expires_at"].as_str().expect("an expiry");
    let at = humantime::parse_rfc3339(at).expect("RFC 3339");
    let left = at
        .duration_since(std::time::SystemTime::now())
        .expect("in the future")
        .as_secs();
    assert!((3590..=3600).contains(&left), "{left}");
}

#[test]
fn ttl_and_keep_ttl() {
    let env = Env::new();
    env.init();
    env.set("k", "1", &["--ttl", "90s"]);
    assert!(matches!(ttl(&env, "k"), Some(88..=90)));
    env.set("k", "2", &["--keep-ttl"]);
    assert!(matches!(ttl(&env, "k"), Some(88..=90)));
    assert_eq!(env.get("k"), b"2");
    // A plain `set` clears the expiry (like Redis SET).
    env.set("k", "3", &[]);
    assert_eq!(ttl(&env, "k"), None);
    env.pw()
        .args(["ttl", "k"])
        .assert()
        .success()
        .stdout("never\n");
    env.set("k", "4", &["--ttl", "1h30m"]);
    assert!(matches!(ttl(&env, "k"), Some(5390..=5400)));
    env.set("long", "5", &["--ttl", "7d"]);
    assert!(matches!(ttl(&env, "long"), Some(604_790..=604_800)));
    assert_eq!(
        env.json(["ttl", "k"])["ttl_seconds"]
            .as_u64()
            .map(|s| s > 5000),
        Some(true)
    );
    assert_eq!(
        env.json(["ttl", "long"])["name"],
        json!("long"),
        "ttl --json names the entry"
    );
    // --keep-ttl on a new entry: no expiry.
    env.set("fresh", "6", &["--keep-ttl"]);
    assert_eq!(ttl(&env, "fresh"), None);
    // --ttl and --keep-ttl together make no sense.
    let out = env
        .pw()
        .args(["set", "k", "--ttl", "1h", "--keep-ttl"])
        .write_stdin("x")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = env.pw().args(["ttl", "missing"]).output().unwrap();
    let line = assert_error(&out, 3, &[]);
    assert!(line.contains("missing"), "{line}");
}

#[test]
fn rm_removes_several_and_reports_the_missing() {
    let env = Env::new();
    env.init();
    for k in ["a", "b", "c", "d"] {
        env.set(k, "v", &[]);
    }
    env.pw().args(["rm", "a", "b"]).assert().success();
    assert_eq!(env.names(), ["c", "d"]);
    let out = env.pw().args(["rm", "c", "nope", "d"]).output().unwrap();
    let line = assert_error(&out, 3, &[]);
    assert!(line.contains("nope"), "{line}");
    assert!(env.names().is_empty(), "the others are removed");
    // At least one name is required.
    assert_eq!(env.pw().arg("rm").output().unwrap().status.code(), Some(2));
}

#[test]
fn ls_sorts_filters_and_shows_expiry() {
    let env = Env::new();
    env.init();
    for k in ["zeta", "api/b", "api/a", "db/password", "Api/upper"] {
        env.set(k, "v", &[]);
    }
    env.set("api/session", "v", &["--ttl", "1h"]);
    assert_eq!(
        env.names(),
        [
            "Api/upper",
            "api/a",
            "api/b",
            "api/session",
            "db/password",
            "zeta"
        ]
    );
    assert_eq!(env.stdout(["ls", "api/"]), "api/a\napi/b\napi/session\n");
    assert_eq!(env.stdout(["ls", "nothing/"]), "");

    let long = env.stdout(["ls", "api/", "--long"]);
    let rows: Vec<Vec<&str>> = long
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows.len(), 3, "{long}");
    assert_eq!(rows[0], ["api/a", "never"]);
    assert_eq!(rows[1], ["api/b", "never"]);
    assert_eq!(rows[2][0], "api/session");
    humantime::parse_rfc3339(rows[2][1]).expect("an RFC 3339 expiry");
    // Columns line up.
    let starts: Vec<usize> = long.lines().map(|l| l.rfind(' ').unwrap()).collect();
    assert!(starts.windows(2).all(|w| w[0] == w[1]), "{long}");

    assert_eq!(
        env.json(["ls", "api/"]),
        json!(["api/a", "api/b", "api/session"])
    );
    let doc = env.json(["ls", "api/", "--long"]);
    assert_eq!(doc[0], json!({"name": "api/a", "expires_at": null}));
    assert!(doc[2]["expires_at"].is_string());
}

#[test]
fn expire_follows_redis_conditions() {
    let env = Env::new();
    env.init();
    env.set("k", "v", &[]);
    let expire = |args: &[&str]| env.stdout([&["expire", "k"][..], args].concat());

    // --xx: only with an expiry. --nx: only without one.
    assert!(expire(&["1h", "--xx"]).contains("unchanged"));
    assert_eq!(ttl(&env, "k"), None);
    assert!(expire(&["1h", "--nx"]).contains("set"));
    assert!(matches!(ttl(&env, "k"), Some(3590..=3600)));
    assert!(expire(&["2h", "--nx"]).contains("unchanged"));
    assert!(matches!(ttl(&env, "k"), Some(3590..=3600)));
    assert!(expire(&["2h", "--xx"]).contains("set"));
    assert!(matches!(ttl(&env, "k"), Some(7190..=7200)));
    // --gt: only later. --lt: only sooner.
    assert!(expire(&["1h", "--gt"]).contains("unchanged"));
    assert!(expire(&["3h", "--gt"]).contains("set"));
    assert!(matches!(ttl(&env, "k"), Some(10_790..=10_800)));
    assert!(expire(&["4h", "--lt"]).contains("unchanged"));
    assert!(expire(&["30m", "--lt"]).contains("set"));
    assert!(matches!(ttl(&env, "k"), Some(1790..=1800)));
    // No condition: always.
    assert!(expire(&["5h"]).contains("set"));
    assert!(matches!(ttl(&env, "k"), Some(17_990..=18_000)));
    assert_eq!(
        env.json(["expire", "k", "1h", "--gt"]),
        json!({"name": "k", "changed": false})
    );
    // Conditions are exclusive.
    let out = env
        .pw()
        .args(["expire", "k", "1h", "--nx", "--xx"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    // Redis: a persistent entry has an infinite TTL, so --lt sets and
    // --gt does not.
    env.set("p", "v", &[]);
    assert!(
        env.stdout(["expire", "p", "1h", "--gt"])
            .contains("unchanged")
    );
    assert_eq!(ttl(&env, "p"), None);
    assert!(env.stdout(["expire", "p", "1h", "--lt"]).contains("set"));
    assert!(ttl(&env, "p").is_some());
}

#[test]
fn expire_zero_deletes_and_missing_is_not_found() {
    let env = Env::new();
    env.init();
    env.set("k", "v", &[]);
    assert!(env.stdout(["expire", "k", "0"]).contains("deleted"));
    assert!(env.names().is_empty());
    let out = env.pw().args(["expire", "k", "1h"]).output().unwrap();
    assert_error(&out, 3, &[]);
    let out = env.pw().args(["get", "k"]).output().unwrap();
    assert_error(&out, 3, &[]);
}

#[test]
fn persist_removes_the_expiry() {
    let env = Env::new();
    env.init();
    env.set("k", "v", &["--ttl", "1h"]);
    assert_eq!(env.stdout(["persist", "k"]), "expiry removed\n");
    assert_eq!(ttl(&env, "k"), None);
    assert_eq!(env.stdout(["persist", "k"]), "it had no expiry\n");
    assert_eq!(
        env.json(["persist", "k"]),
        json!({"name": "k", "changed": false})
    );
    let out = env.pw().args(["persist", "missing"]).output().unwrap();
    assert_error(&out, 3, &[]);
}

/// `cleanup` runs from cron with no passphrase at all, on an encrypted vault.
/// The one test that sleeps: the CLI takes whole durations only.
#[test]
fn cleanup_needs_no_passphrase() {
    let env = Env::new();
    env.init();
    env.set("short", "gone soon", &["--ttl", "1s"]);
    env.set("kept", "stays", &["--ttl", "1h"]);
    env.set("forever", "stays", &[]);
    env.set("renewed", "old", &["--ttl", "1s"]);
    std::thread::sleep(std::time::Duration::from_millis(1200));
    // An expired entry is gone for every command: --keep-ttl does not keep
    // its dead expiry, and rm, ttl, expire and persist do not find it.
    env.set("renewed", "new", &["--keep-ttl"]);
    assert_eq!(env.get("renewed"), b"new");
    assert_eq!(ttl(&env, "renewed"), None);
    env.pw().args(["rm", "renewed"]).assert().success();
    // Expired entries are invisible before cleanup, too.
    assert_eq!(env.names(), ["forever", "kept"]);
    for args in [
        &["get", "short"][..],
        &["ttl", "short"],
        &["expire", "short", "1h"],
        &["persist", "short"],
    ] {
        let out = env.pw().args(args).output().unwrap();
        assert_error(&out, 3, &["gone soon"]);
    }

    env.cmd()
        .arg("cleanup")
        .assert()
        .success()
        .stdout("deleted 1 expired entry\n");
    let out = env.cmd().args(["--json", "cleanup"]).output().unwrap();
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap(),
        json!({"deleted": 0})
    );
    assert_eq!(env.names(), ["forever", "kept"]);
}

#[test]
fn a_plain_vault_does_everything_without_a_passphrase() {
    let env = Env::new();
    env.init_plain();
    let run = |args: &[&str], stdin: &str| {
        let out = env.cmd().args(args).write_stdin(stdin).output().unwrap();
        cli_util::assert_success(&out);
        String::from_utf8(out.stdout).unwrap()
    };
    run(&["set", "b"], "2\n");
    run(&["set", "a", "--ttl", "1h"], "1\n");
    run(&["set", "c", "--json-input"], "[1, 2]");
    assert_eq!(run(&["ls"], ""), "a\nb\nc\n");
    assert_eq!(run(&["get", "a"], ""), "1\n");
    assert_eq!(run(&["get", "c"], ""), "[1,2]\n");
    assert!(run(&["ttl", "a"], "").trim().parse::<u64>().unwrap() > 3500);
    run(&["persist", "a"], "");
    assert_eq!(run(&["ttl", "a"], ""), "never\n");
    run(&["expire", "b", "0"], "");
    run(&["rm", "c"], "");
    assert_eq!(run(&["ls"], ""), "a\n");
    assert_eq!(run(&["cleanup"], ""), "deleted 0 expired entries\n");
    // Nothing to unlock in a plain vault.
    assert!(run(&["unlock"], "").contains("plain"));
}

#[test]
fn odd_names_round_trip_and_bad_names_are_usage_errors() {
    let env = Env::new();
    env.init();
    for name in ["ключ/é", "with space", "a=b", "-dash", "emoji🔑"] {
        env.pw()
            .args(["set", "--", name])
            .write_stdin(name)
            .assert()
            .success();
        assert_eq!(
            env.pw()
                .args(["get", "-n", "--", name])
                .output()
                .unwrap()
                .stdout,
            name.as_bytes()
        );
    }
    let long = "n".repeat(5000);
    for bad in ["", long.as_str()] {
        let out = env
            .pw()
            .args(["set", "--", bad])
            .write_stdin("v")
            .output()
            .unwrap();
        assert_error(&out, 2, &[]);
    }
}

/// Regression: `get --json` and `ls --long`/`--json` panicked (exit 101,
/// with a backtrace) on an expiry past the year 9999, which `set --ttl`,
/// `expire` and `import` all accept.
#[test]
fn far_future_expiries_print_without_panicking() {
    let env = Env::new();
    env.init();
    env.set("far", "v", &["--ttl", "99999999d"]);
    env.set("farthest", "v", &["--ttl", "999999999999d"]);
    env.set("near", "v", &["--ttl", "1h"]);
    for key in ["far", "farthest"] {
        let doc = env.json(["get", key]);
        assert_eq!(doc["expires_at"], "9999-12-31T23:59:59.999Z", "{doc}");
        assert!(ttl(&env, key).is_some_and(|s| s > 8_000_000_000_000));
    }
    let long = env.stdout(["ls", "--long"]);
    assert_eq!(long.lines().count(), 3, "{long}");
    assert!(
        long.contains("far       9999-12-31T23:59:59.999Z"),
        "{long}"
    );
    let listed = env.json(["ls", "--long"]);
    assert_eq!(listed[1]["expires_at"], "9999-12-31T23:59:59.999Z");
    assert!(listed[2]["expires_at"].as_str().unwrap().starts_with("20"));
}

/// Several processes share a vault: concurrent writers wait for each other.
#[test]
fn concurrent_writers_all_succeed() {
    let env = Env::new();
    env.init();
    env.sh(r#"for i in 0 1 2 3 4 5 6 7; do
             printf 'value %s' "$i" | "$VAULTS_BIN" set "key/$i" &
           done
           fail=0
           for job in $(jobs -p); do wait "$job" || fail=1; done
           exit $fail"#)
        .env("VAULTS_PASSPHRASE", PASS)
        .assert()
        .success()
        .stderr("");
    let names = env.names();
    assert_eq!(names.len(), 8, "{names:?}");
    assert_eq!(env.get("key/5"), b"value 5");
}
