//! Exports to someone else's key (`--recipient`, `--recipients-file`) that
//! stock `age` decrypts, and imports of files stock `age` encrypted to a key
//! (`--identity`): X25519 and SSH ed25519 keys, made by `age-keygen` and
//! `ssh-keygen`.

use std::path::Path;
use std::process::Command;

use crate::cli_util::{Env, PASS, assert_error, assert_success};

/// Whether `program` runs here; under CI it must (`.ci/run` installs age
/// and openssh-client).
fn have(program: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must install {program} (apt-get install -y age openssh-client)"
        );
        eprintln!("SKIPPED: {program} is not installed");
    }
    found
}

fn run(cmd: &mut Command) -> Vec<u8> {
    let out = cmd.output().unwrap();
    assert_success(&out);
    out.stdout
}

/// An X25519 identity file and its recipient.
fn age_key(env: &Env) -> (std::path::PathBuf, String) {
    let key = env.file("key.txt");
    run(Command::new("age-keygen").arg("-o").arg(&key));
    let public = run(Command::new("age-keygen").arg("-y").arg(&key));
    (key, String::from_utf8(public).unwrap().trim().to_owned())
}

/// An unencrypted ed25519 SSH key: (private, public line).
fn ssh_key(env: &Env, name: &str) -> (std::path::PathBuf, String) {
    let key = env.file(name);
    run(Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key));
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    (key, public.trim().to_owned())
}

fn age_decrypt(identity: &Path, file: &Path) -> serde_json::Value {
    let plain = run(Command::new("age")
        .arg("-d")
        .arg("-i")
        .arg(identity)
        .arg(file));
    serde_json::from_slice(&plain).unwrap()
}

#[test]
fn exports_to_recipients_open_with_stock_age() {
    if !(have("age") && have("age-keygen") && have("ssh-keygen")) {
        return;
    }
    let env = Env::new();
    env.init().set("db/password", "hunter2", &[]);
    let (key, recipient) = age_key(&env);
    let (ssh, ssh_public) = ssh_key(&env, "id_ed25519");
    let out = env.file("x.age");
    // No export passphrase is asked (none is set, and nothing prompts).
    env.pw()
        .args(["export", "--recipient", &recipient, "--out"])
        .arg(&out)
        .assert()
        .success();
    let doc = age_decrypt(&key, &out);
    assert_eq!(doc["entries"][0]["name"], "db/password");
    assert_eq!(doc["entries"][0]["value"], "hunter2");
    let list = env.write(
        "recipients",
        format!("# the team\n\n{ssh_public}\n{recipient}\n"),
    );
    let team = env.file("team.age");
    env.pw()
        .args(["export", "--recipients-file"])
        .arg(&list)
        .arg("--out")
        .arg(&team)
        .assert()
        .success();
    assert_eq!(age_decrypt(&ssh, &team)["entries"][0]["value"], "hunter2");
    assert_eq!(age_decrypt(&key, &team)["entries"][0]["value"], "hunter2");
    // And back, with either identity.
    for identity in [&key, &ssh] {
        let env2 = Env::new();
        env2.init();
        env2.pw()
            .arg("import")
            .arg(&team)
            .arg("--identity")
            .arg(identity)
            .assert()
            .success();
        assert_eq!(env2.get("db/password"), b"hunter2");
    }
    // A bad recipient is refused before the vault is opened.
    let out = env
        .pw()
        .args(["export", "--recipient", "age1nope"])
        .output()
        .unwrap();
    assert_error(&out, 2, &[PASS]);
}

#[test]
fn imports_of_files_stock_age_encrypted_to_a_key() {
    if !(have("age") && have("age-keygen") && have("ssh-keygen")) {
        return;
    }
    let env = Env::new();
    env.init();
    let (key, recipient) = age_key(&env);
    let doc = r#"{"format":"vaults-export","version":1,"entries":[{"name":"from/age","encoding":"text","value":"v4lue"}]}"#;
    let plain = env.write("doc.json", doc);
    let sealed = env.file("in.age");
    run(Command::new("age")
        .args(["-a", "-r", &recipient, "-o"])
        .arg(&sealed)
        .arg(&plain));
    env.pw()
        .arg("import")
        .arg(&sealed)
        .arg("--identity")
        .arg(&key)
        .assert()
        .success();
    assert_eq!(env.get("from/age"), b"v4lue");
    // Another key does not open it: exit 4, nothing imported.
    let (other, _) = ssh_key(&env, "other");
    let out = env
        .pw()
        .args(["--vault", "default", "import"])
        .arg(&sealed)
        .arg("--identity")
        .arg(&other)
        .output()
        .unwrap();
    assert_error(&out, 4, &["v4lue"]);
    // A passphrase-protected SSH key is refused with what to do.
    let locked = env.file("locked");
    run(Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "pw", "-f"])
        .arg(&locked));
    let out = env
        .pw()
        .arg("import")
        .arg(&sealed)
        .arg("--identity")
        .arg(&locked)
        .output()
        .unwrap();
    let line = assert_error(&out, 2, &[]);
    assert!(line.contains("protected by a passphrase"), "{line}");
}
