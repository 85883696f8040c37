//! `export` and `import`: plaintext JSON, age-encrypted exports that the
//! `age` crate itself decrypts, and `.env` files.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::cli_util;

use std::io::Read;
use std::time::{SystemTime, UNIX_EPOCH};

use cli_util::{Env, PASS, assert_error, mode};
use serde_json::{Value, json};

const EXPORT_PASS: &str = "export passphrase 9";

fn now_ms() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

/// The binary value stored by [`filled`].
fn binary() -> Vec<u8> {
    vec![0, 159, 146, 150, 255, b'\n', 1]
}

/// A vault with a text, a structured, a binary and an expiring entry.
fn filled() -> Env {
    let env = Env::new();
    env.init()
        .set("text", "héllo wörld", &[])
        .set(
            "db/config",
            r#"{"host": "db", "port": 5432, "ok": true}"#,
            &["--json-input"],
        )
        .set("bin", binary(), &[])
        .set("session", "short-lived", &["--ttl", "2h"]);
    env
}

/// Creates an empty encrypted vault `name` in `env`'s folder.
fn init_named(env: &Env, name: &str) {
    env.pw()
        .args([
            "--vault",
            name,
            "init",
            "--kdf-memory",
            "19",
            "--kdf-time",
            "2",
        ])
        .assert()
        .success();
}

/// `vaults --vault NAME export --plaintext`, parsed.
fn plaintext_export(env: &Env, name: &str) -> Value {
    let out = env.stdout(["--vault", name, "export", "--plaintext"]);
    serde_json::from_str(&out).expect("an export is JSON")
}

/// Checks that two exports hold the same entries: names, encodings and
/// values exactly; expiries within a second (the time between the reads).
fn assert_same_entries(a: &Value, b: &Value) {
    let (a, b) = (
        a["entries"].as_array().unwrap(),
        b["entries"].as_array().unwrap(),
    );
    assert_eq!(a.len(), b.len(), "{a:?}\n{b:?}");
    for (x, y) in a.iter().zip(b) {
        for field in ["name", "encoding", "value"] {
            assert_eq!(x[field], y[field], "{x}\n{y}");
        }
        match (x["expires_at"].as_i64(), y["expires_at"].as_i64()) {
            (None, None) => assert!(x["expires_at"].is_null() && y["expires_at"].is_null()),
            (Some(p), Some(q)) => assert!((p - q).abs() < 1000, "{x}\n{y}"),
            _ => panic!("expiry differs:\n{x}\n{y}"),
        }
    }
}

#[test]
fn plaintext_export_import_round_trip() {
    let env = filled();
    let doc = plaintext_export(&env, "default");
    assert_eq!(doc["format"], "vaults-export");
    assert_eq!(doc["version"], 1);
    let entries = doc["entries"].as_array().unwrap();
    let names: Vec<&str> = entries
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["bin", "db/config", "session", "text"]);
    assert_eq!(
        entries[1],
        json!({"name": "db/config", "encoding": "json",
               "value": {"host": "db", "port": 5432, "ok": true}, "expires_at": null})
    );
    assert_eq!(entries[0]["encoding"], "base64");
    assert_eq!(entries[3]["value"], "héllo wörld");
    let expires = entries[2]["expires_at"].as_i64().unwrap();
    let left = expires - now_ms();
    assert!((7_100_000..=7_200_000).contains(&left), "{left}");

    // An entry that expired since the export is skipped on import.
    let mut with_expired = doc.clone();
    with_expired["entries"].as_array_mut().unwrap().push(json!({
        "name": "stale", "encoding": "text", "value": "old", "expires_at": now_ms() - 1000
    }));
    let file = env.write(
        "dump.json",
        serde_json::to_vec_pretty(&with_expired).unwrap(),
    );
    init_named(&env, "fresh");
    env.pw()
        .args(["--vault", "fresh", "import"])
        .arg(&file)
        .assert()
        .success()
        .stdout("imported 4 entries (1 already expired, skipped)\n");
    assert_same_entries(&doc, &plaintext_export(&env, "fresh"));
    // And read back through `get`.
    let fresh = |key: &str| {
        env.pw()
            .args(["--vault", "fresh", "get", "-n", key])
            .output()
            .unwrap()
            .stdout
    };
    assert_eq!(fresh("bin"), binary());
    assert_eq!(fresh("text"), "héllo wörld".as_bytes());
    assert_eq!(
        fresh("db/config"),
        br#"{"host":"db","ok":true,"port":5432}"#
    );
    let ttl: u64 = String::from_utf8(
        env.pw()
            .args(["--vault", "fresh", "ttl", "session"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .trim()
    .parse()
    .unwrap();
    assert!((7100..=7200).contains(&ttl), "{ttl}");

    // Import from stdin, --json output; importing again overwrites.
    let out = env
        .pw()
        .args([
            "--vault", "fresh", "--json", "import", "-", "--format", "json",
        ])
        .write_stdin(serde_json::to_vec(&doc).unwrap())
        .output()
        .unwrap();
    cli_util::assert_success(&out);
    assert_eq!(
        serde_json::from_slice::<Value>(&out.stdout).unwrap(),
        json!({"imported": 4, "skipped_expired": 0})
    );
    assert_same_entries(&doc, &plaintext_export(&env, "fresh"));
}

/// The age export: decrypted by the `age` crate's own decryptor, imported
/// into a fresh vault, refused with a wrong passphrase. scrypt costs ~1 s a
/// use, so this one test does all of it.
#[test]
fn age_export_decrypts_with_the_age_crate_and_imports() {
    let env = filled();
    let file = env.file("backup.age");
    env.pw()
        .env("VAULTS_EXPORT_PASSPHRASE", EXPORT_PASS)
        .arg("export")
        .arg("--out")
        .arg(&file)
        .assert()
        .success()
        .stdout("");
    assert_eq!(mode(&file), 0o600);
    let sealed = std::fs::read(&file).unwrap();
    assert!(sealed.starts_with(b"-----BEGIN AGE ENCRYPTED FILE-----"));
    let sealed_text = String::from_utf8_lossy(&sealed);
    for secret in [
        "héllo",
        "short-lived",
        "5432",
        "db/config",
        EXPORT_PASS,
        PASS,
    ] {
        assert!(!sealed_text.contains(secret), "{secret} in the export");
    }

    // Decrypt with the age crate, as `age -d` would.
    let reader = age::armor::ArmoredReader::new(&sealed[..]);
    let decryptor = age::Decryptor::new_buffered(std::io::BufReader::new(reader)).unwrap();
    let identity = age::scrypt::Identity::new(EXPORT_PASS.to_owned().into());
    let mut plain = Vec::new();
    decryptor
        .decrypt(std::iter::once(&identity as &dyn age::Identity))
        .expect("the export passphrase decrypts it")
        .read_to_end(&mut plain)
        .unwrap();
    let doc: Value = serde_json::from_slice(&plain).expect("our JSON document inside");
    assert_same_entries(&doc, &plaintext_export(&env, "default"));

    // Import into a fresh vault; the format is recognised.
    init_named(&env, "fresh");
    env.pw()
        .env("VAULTS_EXPORT_PASSPHRASE", EXPORT_PASS)
        .args(["--vault", "fresh", "import"])
        .arg(&file)
        .assert()
        .success()
        .stdout("imported 4 entries (0 already expired, skipped)\n");
    assert_same_entries(&doc, &plaintext_export(&env, "fresh"));

    // A wrong export passphrase (here from --export-passphrase-file).
    init_named(&env, "third");
    let wrong = env.write("wrong", "not it\n");
    let out = env
        .pw()
        .args(["--vault", "third", "import", "--format", "age"])
        .arg(&file)
        .arg("--export-passphrase-file")
        .arg(&wrong)
        .output()
        .unwrap();
    let line = assert_error(&out, 4, &["not it", EXPORT_PASS, PASS, "short-lived"]);
    assert!(line.contains("export passphrase"), "{line}");
    assert_eq!(env.stdout(["--vault", "third", "ls"]), "");
}

#[test]
fn an_encrypted_export_needs_a_passphrase_and_refuses_an_empty_one() {
    let env = filled();
    let file = env.file("backup.age");
    let out = env
        .pw()
        .arg("export")
        .arg("--out")
        .arg(&file)
        .output()
        .unwrap();
    assert_error(&out, 2, &[PASS]);
    let out = env
        .pw()
        .env("VAULTS_EXPORT_PASSPHRASE", "")
        .arg("export")
        .output()
        .unwrap();
    assert_error(&out, 2, &[PASS]);
    assert!(!file.exists());
    // Importing an age file without its passphrase.
    let fake = env.write("fake.age", "-----BEGIN AGE ENCRYPTED FILE-----\n");
    let out = env.pw().arg("import").arg(&fake).output().unwrap();
    assert_error(&out, 2, &[PASS]);
}

#[test]
fn export_out_is_owner_only_and_not_overwritten_without_force() {
    let env = filled();
    let file = env.file("dump.json");
    let export = |extra: &[&str]| {
        env.pw()
            .args(["export", "--plaintext", "--out"])
            .arg(&file)
            .args(extra)
            .output()
            .unwrap()
    };
    cli_util::assert_success(&export(&[]));
    assert_eq!(mode(&file), 0o600);
    let first = std::fs::read(&file).unwrap();
    serde_json::from_slice::<Value>(&first).unwrap();

    std::fs::write(&file, "precious").unwrap();
    let out = export(&[]);
    let line = assert_error(&out, 1, &[PASS, "short-lived"]);
    assert!(line.contains("--force"), "{line}");
    assert_eq!(std::fs::read(&file).unwrap(), b"precious");

    cli_util::assert_success(&export(&["--force"]));
    let doc: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(doc["entries"].as_array().unwrap().len(), 4);
    assert_eq!(mode(&file), 0o600);
}

/// Regression: `export --out FILE --force` over an existing file kept that
/// file's mode, so a 0644 file ended up holding every secret, world-readable.
#[test]
fn export_force_makes_an_existing_file_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let env = filled();
    let file = env.write("dump.json", "old");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    env.pw()
        .args(["export", "--plaintext", "--force", "--out"])
        .arg(&file)
        .assert()
        .success();
    assert_eq!(mode(&file), 0o600);
    let doc: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(doc["entries"].as_array().unwrap().len(), 4);
}

#[test]
fn import_env_files() {
    let env = Env::new();
    env.init();
    let dotenv = env.write(
        ".env",
        r#"# a comment
export DB_PASSWORD="p@ss \"quoted\"\nline2"
API_TOKEN='single $quoted # not a comment'
  BARE='bare value' # a comment
EMPTY=

URL=https://example.com/?a=b&c=d
"#,
    );
    env.pw()
        .args(["import", "--format", "env"])
        .arg(&dotenv)
        .assert()
        .success()
        .stdout("imported 5 entries (0 already expired, skipped)\n");
    assert_eq!(
        env.names(),
        ["API_TOKEN", "BARE", "DB_PASSWORD", "EMPTY", "URL"]
    );
    assert_eq!(env.get("DB_PASSWORD"), b"p@ss \"quoted\"\nline2");
    assert_eq!(env.get("API_TOKEN"), b"single $quoted # not a comment");
    assert_eq!(env.get("BARE"), b"bare value");
    assert_eq!(env.get("EMPTY"), b"");
    assert_eq!(env.get("URL"), b"https://example.com/?a=b&c=d");

    // The format is guessed when not given.
    env.pw()
        .args(["--vault", "default", "import", "-"])
        .write_stdin("GUESSED=yes\n")
        .assert()
        .success();
    assert_eq!(env.get("GUESSED"), b"yes");
}

#[test]
fn bad_import_files_fail_without_quoting_them() {
    let env = Env::new();
    env.init();
    let cases: [(&str, &[&str], i32); 5] = [
        ("A=1\nSECRETLINE\n", &["--format", "env"], 1),
        ("A=\"unterminated SECRET\n", &["--format", "env"], 1),
        (
            r#"{"format": "vaults-export", "version": 1, "entries": [SECRET]}"#,
            &[],
            1,
        ),
        (
            r#"{"format": "other", "version": 1, "entries": []}"#,
            &[],
            1,
        ),
        (
            r#"{"format": "vaults-export", "version": 9, "entries": []}"#,
            &[],
            1,
        ),
    ];
    for (content, args, code) in cases {
        let file = env.write("bad", content);
        let out = env
            .pw()
            .arg("import")
            .arg(&file)
            .args(args)
            .output()
            .unwrap();
        assert_error(&out, code, &["SECRET", PASS]);
    }
    let out = env
        .pw()
        .arg("import")
        .arg(env.file("missing"))
        .output()
        .unwrap();
    assert_error(&out, 1, &[]);
    assert!(env.names().is_empty(), "nothing half-imported");
}

/// Regression: `import` of an age file decrypted (a second of scrypt, and a
/// prompt on a terminal) before finding out the target vault does not exist.
#[test]
fn import_into_a_missing_vault_fails_before_asking_for_the_export_passphrase() {
    let env = Env::new();
    let file = env.write(
        "backup.age",
        "-----BEGIN AGE ENCRYPTED FILE-----\nYWdl\n-----END AGE ENCRYPTED FILE-----\n",
    );
    // No export passphrase anywhere: had it been asked for first, this would
    // be exit 2 ("no passphrase"), not 3.
    let out = env.cmd().arg("import").arg(&file).output().unwrap();
    let err = assert_error(&out, 3, &[]);
    assert!(err.contains("vaults init"), "{err}");
}
