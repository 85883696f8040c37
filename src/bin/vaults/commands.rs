//! One function per command: parse nothing, store nothing themselves, call the
//! library, print the result.

use std::io::{IsTerminal, Write};
use std::os::unix::process::CommandExt;
use std::time::Duration;

use clap::CommandFactory;
use serde_json::json;
use vaults::{EncryptedVault, ExpireIf, KdfParams, SlotInfo, Store, Ttl, Vault};
use zeroize::Zeroizing;

use crate::cli::{Cli, Command, ExpireCondition, Global, ImportFormat, KdfArgs, SlotCommand};
use crate::error::{CliError, CliResult};
use crate::input::{self, ReadError};
use crate::names;
use crate::open::{self, Locked, Opened, Target};
use crate::secrets;
use crate::transfer;
use crate::values::{self, Bytes, Shown};

/// Runs `$body` with `$s` bound to whichever kind of vault was opened.
macro_rules! with_store {
    ($opened:expr, $s:ident => $body:expr) => {
        match $opened {
            Opened::Plain($s) => $body,
            Opened::Encrypted($s) => $body,
        }
    };
}

pub fn run(cli: Cli) -> CliResult<()> {
    let g = &cli.global;
    match cli.command {
        Command::Completions { shell } => {
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "vaults", &mut buf);
            emit(&buf)
        }
        Command::Man => {
            let mut buf = Vec::new();
            clap_mangen::Man::new(Cli::command()).render(&mut buf)?;
            emit(&buf)
        }
        command => {
            let t = Target::from(g)?;
            match command {
                Command::Init {
                    plain,
                    keyring,
                    kdf,
                } => init(g, &t, plain, keyring, &kdf),
                Command::Set { key, ttl, keep_ttl } => {
                    with_store!(open::open(g, &t)?, s => set(g, &s, &key, ttl, keep_ttl, g.json))
                }
                Command::Get {
                    key,
                    no_newline,
                    escaped,
                } => {
                    let key = names::typed(key, escaped)?;
                    with_store!(open::open(g, &t)?, s => get(g, &s, &key, no_newline))
                }
                Command::Rm { keys, escaped } => {
                    let keys = keys
                        .into_iter()
                        .map(|k| names::typed(k, escaped))
                        .collect::<CliResult<Vec<_>>>()?;
                    with_store!(open::open(g, &t)?, s => rm(&s, &keys))
                }
                Command::Ls { prefix, long } => {
                    with_store!(open::open(g, &t)?, s => ls(g, &s, prefix.as_deref(), long))
                }
                Command::Ttl { key } => with_store!(open::open(g, &t)?, s => ttl(g, &s, &key)),
                Command::Expire {
                    key,
                    duration,
                    condition,
                } => {
                    with_store!(open::open(g, &t)?, s => expire(g, &s, &key, duration, &condition))
                }
                Command::Persist { key } => {
                    with_store!(open::open(g, &t)?, s => persist(g, &s, &key))
                }
                Command::Cleanup => cleanup(g, &t),
                Command::Unlock { duration } => unlock(g, &t, duration),
                Command::Lock => lock(&t),
                Command::Passwd { new } => {
                    let vault = open::open_with_passphrase(g, &t)?;
                    let slot = vault.unlocked_slot();
                    let params = slot_params(&vault, slot)?;
                    let new = secrets::new_passphrase(g, &new)?;
                    vault.change_passphrase(slot, &new, params)?;
                    say(g, "passphrase changed", json!({"changed": true}))
                }
                Command::Rotate => rotate(g, &t),
                Command::Slots => slots(g, &t),
                Command::Slot(cmd) => slot(g, &t, cmd),
                Command::Exec {
                    prefix,
                    only,
                    command,
                } => exec(g, &t, &prefix, &only, &command),
                Command::Export {
                    out,
                    plaintext,
                    force,
                    export_passphrase_file,
                } => export(
                    g,
                    &t,
                    out.as_deref(),
                    plaintext,
                    force,
                    export_passphrase_file.as_deref(),
                ),
                Command::Import {
                    file,
                    format,
                    export_passphrase_file,
                } => import(g, &t, &file, format, export_passphrase_file.as_deref()),
                Command::Destroy { force } => destroy(g, &t, force),
                Command::Completions { .. } | Command::Man => Ok(()),
            }
        }
    }
}

/// Writes data to stdout; a reader that went away (`vaults ls | head`) is not
/// an error.
pub fn emit(data: &[u8]) -> CliResult<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(data).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(CliError::new(0, "")),
        Err(e) => Err(e.into()),
    }
}

/// Prints a line of text, or `value` as JSON with `--json`.
fn say(g: &Global, text: &str, value: serde_json::Value) -> CliResult<()> {
    if g.json {
        emit(format!("{value}\n").as_bytes())
    } else {
        emit(format!("{text}\n").as_bytes())
    }
}

fn kdf_params(kdf: &KdfArgs) -> CliResult<KdfParams> {
    let memory = kdf
        .kdf_memory
        .map_or(KdfParams::DEFAULT.memory_kib(), |m| m.saturating_mul(1024));
    let time = kdf.kdf_time.unwrap_or(KdfParams::DEFAULT.iterations());
    KdfParams::new(memory, time, KdfParams::DEFAULT.parallelism())
        .map_err(|e| CliError::usage(e.to_string()))
}

fn init(g: &Global, t: &Target, plain: bool, keyring: bool, kdf: &KdfArgs) -> CliResult<()> {
    if t.path.exists() {
        return Err(CliError::failure(format!(
            "vault {:?} already exists at {}",
            t.name,
            t.path.display()
        )));
    }
    t.dir.create_root()?;
    if plain {
        Vault::open(&t.path)?;
        return say(
            g,
            &format!("created plain vault {:?} at {}", t.name, t.path.display()),
            json!({"vault": t.name, "path": t.path, "kind": "plain"}),
        );
    }
    let params = kdf_params(kdf)?;
    let pass = match secrets::given_passphrase(g)? {
        Some(p) => p,
        None => secrets::prompt_passphrase(
            g,
            &format!("New passphrase for vault {:?}: ", t.name),
            true,
        )?,
    };
    // Fail before creating anything if the keyring slot cannot be made.
    let keyring = match keyring {
        true => Some(open::require_keyring()?),
        false => None,
    };
    let mut vault = EncryptedVault::create(&t.path, &pass, params)?;
    let mut slot = None;
    if let Some(keyring) = keyring {
        vault.set_keyring(keyring);
        slot = Some(vault.add_keyring_slot()?);
    }
    say(
        g,
        &format!(
            "created encrypted vault {:?} at {}",
            t.name,
            t.path.display()
        ),
        json!({"vault": t.name, "path": t.path, "kind": "encrypted", "keyring_slot": slot}),
    )
}

/// Reads the value for `set`: all of stdin when piped (one trailing newline
/// dropped), else a no-echo prompt. Stdin is read up to the library's value
/// limit (and the newline), never further: endless input is refused.
fn read_value(g: &Global, key: &str) -> CliResult<Zeroizing<Vec<u8>>> {
    if std::io::stdin().is_terminal() {
        let text = secrets::prompt(g, &format!("Value for {key:?}: "))?;
        return Ok(Zeroizing::new(text.as_bytes().to_vec()));
    }
    let cap = vaults::MAX_VALUE_LEN.saturating_add(2);
    let mut data = match input::read_capped(&mut std::io::stdin().lock(), cap) {
        Ok(data) => data,
        Err(ReadError::TooLarge) => {
            return Err(CliError::failure(format!(
                "the value on stdin is larger than the {} limit",
                input::human_size(vaults::MAX_VALUE_LEN)
            )));
        }
        Err(ReadError::OutOfMemory) => {
            return Err(CliError::failure("cannot read stdin: out of memory"));
        }
        Err(ReadError::Io(e)) => return Err(CliError::failure(format!("cannot read stdin: {e}"))),
    };
    if data.ends_with(b"\n") {
        data.pop();
        if data.ends_with(b"\r") {
            data.pop();
        }
    }
    Ok(data)
}

fn set<S: Store>(
    g: &Global,
    s: &S,
    key: &str,
    ttl: Option<Duration>,
    keep_ttl: bool,
    json: bool,
) -> CliResult<()> {
    let data = read_value(g, key)?;
    if json {
        let value: serde_json::Value = serde_json::from_slice(&data).map_err(|e| {
            CliError::usage(format!(
                "stdin is not JSON: error at line {} column {}",
                e.line(),
                e.column()
            ))
        })?;
        return put_value(s, key, &value, ttl, keep_ttl);
    }
    match std::str::from_utf8(&data) {
        Ok(text) => put_value(s, key, text, ttl, keep_ttl),
        Err(_) => put_value(s, key, &Bytes(&data), ttl, keep_ttl),
    }
}

fn put_value<S: Store, T: serde::Serialize + ?Sized>(
    s: &S,
    key: &str,
    value: &T,
    ttl: Option<Duration>,
    keep_ttl: bool,
) -> CliResult<()> {
    match (ttl, keep_ttl) {
        (Some(t), _) => s.put_with_ttl(key, value, t)?,
        (None, true) => s.put_keep_ttl(key, value)?,
        (None, false) => s.put(key, value)?,
    }
    Ok(())
}

/// An expiry as RFC 3339 (UTC), or `None` for never. RFC 3339 ends with
/// the year 9999: a later expiry (`--ttl 99999999d` is accepted) shows as its
/// last instant rather than panicking in `to_string`.
fn expiry_text(ttl: Ttl) -> Option<String> {
    use std::fmt::Write;
    const LAST: &str = "9999-12-31T23:59:59.999Z";
    match ttl {
        Ttl::Never => None,
        Ttl::Remaining(d) => {
            let mut text = String::new();
            match std::time::SystemTime::now().checked_add(d) {
                Some(at) if write!(text, "{}", humantime::format_rfc3339_millis(at)).is_ok() => {
                    Some(text)
                }
                _ => Some(LAST.to_owned()),
            }
        }
    }
}

fn get<S: Store>(g: &Global, s: &S, key: &str, no_newline: bool) -> CliResult<()> {
    let stored = s.get_bytes(key)?.ok_or_else(|| CliError::no_entry(key))?;
    if g.json {
        let ttl = s.ttl(key)?.unwrap_or(Ttl::Never);
        let (value, encoding) = values::to_json_field(&stored);
        let doc = json!({"name": key, "value": value, "encoding": encoding, "expires_at": expiry_text(ttl)});
        return emit(format!("{doc}\n").as_bytes());
    }
    let mut out = Zeroizing::new(match values::show(&stored).0 {
        Shown::Text(t) => t.into_bytes(),
        Shown::Bytes(b) => b,
        Shown::Json(j) => j.to_string().into_bytes(),
    });
    if !no_newline {
        out.push(b'\n');
    }
    emit(&out)
}

fn rm<S: Store>(s: &S, keys: &[String]) -> CliResult<()> {
    let mut missing = Vec::new();
    for key in keys {
        if !s.remove(key)? {
            missing.push(format!("{key:?}"));
        }
    }
    match missing.is_empty() {
        true => Ok(()),
        false => Err(CliError::not_found(format!(
            "no entry named {}",
            missing.join(", ")
        ))),
    }
}

fn ls<S: Store>(g: &Global, s: &S, prefix: Option<&str>, long: bool) -> CliResult<()> {
    let names: Vec<String> = s
        .keys()?
        .into_iter()
        .filter(|n| prefix.is_none_or(|p| n.starts_with(p)))
        .collect();
    let mut rows = Vec::with_capacity(names.len());
    for name in names {
        let expiry = match long || g.json {
            true => s.ttl(&name)?.and_then(expiry_text),
            false => None,
        };
        rows.push((name, expiry));
    }
    let mut out = String::new();
    if g.json {
        let list: Vec<_> = rows
            .iter()
            .map(|(n, e)| match long {
                true => json!({"name": n, "expires_at": e}),
                false => json!(n),
            })
            .collect();
        out = format!("{}\n", serde_json::Value::Array(list));
    } else {
        let rows: Vec<_> = rows.iter().map(|(n, e)| (names::shown(n), e)).collect();
        let width = rows
            .iter()
            .map(|(n, _)| n.chars().count())
            .max()
            .unwrap_or(0);
        for (name, expiry) in &rows {
            if long {
                out.push_str(&format!(
                    "{name:width$}  {}\n",
                    expiry.as_deref().unwrap_or("never")
                ));
            } else {
                out.push_str(name);
                out.push('\n');
            }
        }
    }
    emit(out.as_bytes())
}

fn ttl<S: Store>(g: &Global, s: &S, key: &str) -> CliResult<()> {
    match s.ttl(key)?.ok_or_else(|| CliError::no_entry(key))? {
        Ttl::Never => say(g, "never", json!({"name": key, "ttl_seconds": null})),
        Ttl::Remaining(d) => {
            // Round up: an entry that is still alive never shows 0.
            let secs = d.as_millis().div_ceil(1000);
            say(
                g,
                &secs.to_string(),
                json!({"name": key, "ttl_seconds": secs}),
            )
        }
    }
}

fn expire<S: Store>(
    g: &Global,
    s: &S,
    key: &str,
    d: Duration,
    c: &ExpireCondition,
) -> CliResult<()> {
    let cond = match (c.nx, c.xx, c.gt, c.lt) {
        (true, ..) => ExpireIf::NoExpiry,
        (_, true, ..) => ExpireIf::HasExpiry,
        (_, _, true, _) => ExpireIf::Later,
        (.., true) => ExpireIf::Sooner,
        _ => ExpireIf::Always,
    };
    if !s.contains(key)? {
        return Err(CliError::no_entry(key));
    }
    let changed = s.expire(key, d, cond)?;
    let text = match (changed, d.is_zero()) {
        (true, true) => "deleted",
        (true, false) => "expiry set",
        (false, _) => "expiry unchanged: the condition does not hold",
    };
    say(g, text, json!({"name": key, "changed": changed}))
}

fn persist<S: Store>(g: &Global, s: &S, key: &str) -> CliResult<()> {
    if !s.contains(key)? {
        return Err(CliError::no_entry(key));
    }
    let changed = s.persist(key)?;
    let text = if changed {
        "expiry removed"
    } else {
        "it had no expiry"
    };
    say(g, text, json!({"name": key, "changed": changed}))
}

fn cleanup(g: &Global, t: &Target) -> CliResult<()> {
    let n = match open::open_locked(t)? {
        Locked::Plain(v) => v.cleanup_expired()?,
        Locked::Encrypted(v) => v.cleanup_expired()?,
    };
    say(
        g,
        &format!(
            "deleted {n} expired {}",
            if n == 1 { "entry" } else { "entries" }
        ),
        json!({"deleted": n}),
    )
}

fn unlock(g: &Global, t: &Target, for_: Duration) -> CliResult<()> {
    let locked = match open::open_locked(t)? {
        Locked::Plain(_) => {
            return say(
                g,
                "the vault is plain: nothing to unlock",
                json!({"unlocked": false}),
            );
        }
        Locked::Encrypted(l) => l,
    };
    let Some(ring) = open::kernel_keyring() else {
        return Err(CliError::failure(
            "no usable kernel keyring here, so `unlock` cannot cache the key; \
             use VAULTS_PASSPHRASE, --passphrase-file or --passphrase-command instead",
        ));
    };
    let pass = secrets::passphrase_or_prompt(g, &format!("Passphrase for vault {:?}: ", t.name))?;
    let vault = locked.unlock(&pass)?;
    ring.store(&vault.id(), &vault.unlocked_key(), for_)
        .map_err(|e| CliError::failure(format!("cannot cache the key: {e}")))?;
    let human = humantime::format_duration(for_);
    say(
        g,
        &format!("unlocked vault {:?} for {human}", t.name),
        json!({"unlocked": true, "seconds": for_.as_secs()}),
    )
}

fn lock(t: &Target) -> CliResult<()> {
    let id = match open::open_locked(t)? {
        Locked::Plain(_) => return Ok(()),
        Locked::Encrypted(l) => l.id(),
    };
    if let Some(ring) = open::kernel_keyring() {
        ring.forget(&id);
    }
    Ok(())
}

fn slot_params(vault: &EncryptedVault, slot: u32) -> CliResult<KdfParams> {
    vault
        .slots()?
        .into_iter()
        .find_map(|s| match s {
            SlotInfo::Passphrase { id, params } if id == slot => Some(params),
            _ => None,
        })
        .ok_or_else(|| CliError::failure(format!("slot {slot} is not a passphrase slot")))
}

fn rotate(g: &Global, t: &Target) -> CliResult<()> {
    let locked = match open::open_locked(t)? {
        Locked::Plain(_) => {
            return Err(CliError::usage(format!(
                "vault {:?} is plain: it has no key",
                t.name
            )));
        }
        Locked::Encrypted(l) => l,
    };
    let pass = secrets::passphrase_or_prompt(g, &format!("Passphrase for vault {:?}: ", t.name))?;
    let mut vault = locked.unlock(&pass)?;
    if open::keyring_store().is_some() {
        vault.set_keyring(vaults::Keyring::default_store());
    }
    let mut others = Vec::new();
    for info in vault.slots()? {
        if let SlotInfo::Passphrase { id, .. } = info
            && id != vault.unlocked_slot()
        {
            let p = secrets::prompt_passphrase(g, &format!("Passphrase of key slot {id}: "), false).map_err(|_| {
                CliError::usage(format!(
                    "key slot {id} needs its passphrase to be rotated: run on a terminal, or remove it first \
                     (`vaults slot remove {id}`)"
                ))
            })?;
            others.push((id, p));
        }
    }
    let mut secrets_by_slot: Vec<(u32, &vaults::Passphrase)> = vec![(vault.unlocked_slot(), &pass)];
    secrets_by_slot.extend(others.iter().map(|(id, p)| (*id, p)));
    let bar =
        indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
    vault.rotate(&secrets_by_slot, |p| {
        bar.set_length(p.total);
        bar.set_position(p.done);
    })?;
    bar.finish_and_clear();
    // A key cached before the rotation no longer opens the vault.
    if let Some(ring) = open::kernel_keyring() {
        ring.forget(&vault.id());
    }
    let generation = vault.generation();
    say(
        g,
        &format!("rotated vault {:?}: key generation {generation}", t.name),
        json!({"generation": generation}),
    )
}

fn slots(g: &Global, t: &Target) -> CliResult<()> {
    let list = match open::open(g, t)? {
        Opened::Plain(_) => {
            return Err(CliError::usage(format!(
                "vault {:?} is plain: it has no key slots",
                t.name
            )));
        }
        Opened::Encrypted(v) => v.slots()?,
    };
    if g.json {
        let items: Vec<_> = list
            .iter()
            .map(|s| match s {
                SlotInfo::Passphrase { id, params } => json!({"id": id, "kind": "passphrase",
                    "kdf_memory_mib": params.memory_kib() / 1024, "kdf_time": params.iterations()}),
                SlotInfo::Keyring { id, account } => {
                    json!({"id": id, "kind": "keyring", "account": account})
                }
                _ => json!({}),
            })
            .collect();
        return emit(format!("{}\n", serde_json::Value::Array(items)).as_bytes());
    }
    let mut out = String::new();
    for s in &list {
        out.push_str(&match s {
            SlotInfo::Passphrase { id, params } => format!(
                "{id}  passphrase  argon2id {} MiB, {} passes\n",
                params.memory_kib() / 1024,
                params.iterations()
            ),
            SlotInfo::Keyring { id, account } => format!("{id}  keyring     vaults/{account}\n"),
            _ => String::new(),
        });
    }
    emit(out.as_bytes())
}

fn slot(g: &Global, t: &Target, cmd: SlotCommand) -> CliResult<()> {
    let mut vault = match open::open(g, t)? {
        Opened::Plain(_) => {
            return Err(CliError::usage(format!(
                "vault {:?} is plain: it has no key slots",
                t.name
            )));
        }
        Opened::Encrypted(v) => v,
    };
    match cmd {
        SlotCommand::AddPassphrase { new, kdf } => {
            let params = kdf_params(&kdf)?;
            let pass = secrets::new_passphrase(g, &new)?;
            let id = vault.add_passphrase_slot(&pass, params)?;
            say(g, &format!("added passphrase slot {id}"), json!({"id": id}))
        }
        SlotCommand::AddKeyring => {
            vault.set_keyring(open::require_keyring()?);
            let id = vault.add_keyring_slot()?;
            say(g, &format!("added keyring slot {id}"), json!({"id": id}))
        }
        SlotCommand::Remove { id } => {
            if open::keyring_store().is_some() {
                vault.set_keyring(vaults::Keyring::default_store());
            }
            vault.remove_slot(id)?;
            say(g, &format!("removed slot {id}"), json!({"removed": id}))
        }
    }
}

fn exec(
    g: &Global,
    t: &Target,
    prefix: &str,
    only: &[String],
    command: &[std::ffi::OsString],
) -> CliResult<()> {
    let env = with_store!(open::open(g, t)?, s => exec_env(&s, prefix, only))?;
    let (program, args) = command
        .split_first()
        .ok_or_else(|| CliError::usage("no command given"))?;
    // exec replaces this process: the child's exit code is ours, and no
    // unlocked key outlives the hand-over.
    crate::unharden();
    // The child gets the entries it asked for, never the key to all of them.
    let err = std::process::Command::new(program)
        .args(args)
        .env_remove("VAULTS_PASSPHRASE")
        .env_remove("VAULTS_NEW_PASSPHRASE")
        .env_remove("VAULTS_EXPORT_PASSPHRASE")
        .envs(env)
        .exec();
    let code = match err.kind() {
        std::io::ErrorKind::NotFound => 127,
        _ => 126,
    };
    Err(CliError::new(
        code,
        format!("cannot run {}: {err}", program.to_string_lossy()),
    ))
}

fn exec_env<S: Store>(s: &S, prefix: &str, only: &[String]) -> CliResult<Vec<(String, String)>> {
    let names = match only.is_empty() {
        true => s.keys()?,
        false => only.to_vec(),
    };
    let mut env: Vec<(String, String, String)> = Vec::new();
    for name in names {
        let stored = s
            .get_bytes(&name)?
            .ok_or_else(|| CliError::no_entry(&name))?;
        let value = values::env_value(&stored).ok_or_else(|| {
            CliError::failure(format!(
                "entry {name:?} cannot be an environment variable (binary or has a NUL byte)"
            ))
        })?;
        let var = values::env_name(prefix, &name);
        if let Some(clash) = env.iter().find(|(v, _, _)| *v == var) {
            return Err(CliError::usage(format!(
                "entries {:?} and {name:?} both map to ${var}; use --only to pick one",
                clash.1
            )));
        }
        env.push((var, name, value));
    }
    Ok(env
        .into_iter()
        .map(|(var, _, value)| (var, value))
        .collect())
}

fn export(
    g: &Global,
    t: &Target,
    out: Option<&std::path::Path>,
    plaintext: bool,
    force: bool,
    pass_file: Option<&std::path::Path>,
) -> CliResult<()> {
    let opened = open::open(g, t)?;
    let pass = match plaintext {
        true => None,
        false => Some(secrets::export_passphrase(g, pass_file, true)?),
    };
    // The document streams from the vault to the output (through age),
    // one entry at a time.
    let write = |sink: &mut dyn Write| -> CliResult<()> {
        match &pass {
            None => with_store!(&opened, s => transfer::write_export(s, sink)),
            Some(pass) => transfer::age_encrypt(
                pass,
                sink,
                |w| with_store!(&opened, s => transfer::write_export(s, w)),
            ),
        }
    };
    match out {
        None => write(&mut std::io::stdout().lock()),
        Some(path) => write_file_atomically(path, force, write),
    }
}

/// Writes `path` through a temporary file beside it (owner-only), synced and
/// then renamed over the final name: a killed or failed export never leaves
/// a partial file under `path`, only, at worst, a hidden `.vaults-export-*`
/// temporary beside it. Without `force`, an existing `path` is never replaced.
fn write_file_atomically(
    path: &std::path::Path,
    force: bool,
    write: impl FnOnce(&mut dyn Write) -> CliResult<()>,
) -> CliResult<()> {
    let exists = || {
        CliError::failure(format!(
            "{} exists; pass --force to overwrite it",
            path.display()
        ))
    };
    let cannot = |e: &dyn std::fmt::Display| {
        CliError::failure(format!("cannot write {}: {e}", path.display()))
    };
    // Fail before any work when the answer is already known.
    if !force && std::fs::symlink_metadata(path).is_ok() {
        return Err(exists());
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => std::path::Path::new("."),
    };
    // tempfile creates it with O_EXCL and mode 0600, and removes it if we fail.
    let mut tmp = tempfile::Builder::new()
        .prefix(".vaults-export-")
        .tempfile_in(dir)
        .map_err(|e| cannot(&e))?;
    {
        let mut buffered = std::io::BufWriter::new(tmp.as_file_mut());
        write(&mut buffered)?;
        buffered.flush().map_err(|e| cannot(&e))?;
    }
    tmp.as_file().sync_all().map_err(|e| cannot(&e))?;
    let persisted = match force {
        true => tmp.persist(path).map(drop),
        // Atomic: a file that appeared meanwhile is not replaced either.
        false => tmp.persist_noclobber(path).map(drop),
    };
    persisted.map_err(|e| match e.error.kind() {
        std::io::ErrorKind::AlreadyExists => exists(),
        _ => cannot(&e.error),
    })?;
    // The rename is durable once the folder is.
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| cannot(&e))?;
    Ok(())
}

fn import(
    g: &Global,
    t: &Target,
    file: &std::path::Path,
    format: Option<ImportFormat>,
    pass_file: Option<&std::path::Path>,
) -> CliResult<()> {
    // Open (and unlock) first: no point decrypting for a vault that is not there.
    let opened = open::open(g, t)?;
    let input = transfer::Input::open(file)?;
    let format = format.unwrap_or(if transfer::is_age(&input.head) {
        ImportFormat::Age
    } else if transfer::is_json(&input.head) {
        ImportFormat::Json
    } else {
        ImportFormat::Env
    });
    // The count is not known before the end of a streamed import.
    let bar =
        indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
    let tick = || bar.inc(1);
    let (stored, skipped) = match format {
        ImportFormat::Json => {
            with_store!(&opened, s => transfer::import_json(s, input.reader(), false, tick))?
        }
        ImportFormat::Env => {
            let items = transfer::parse_env(&input.read_all(transfer::ENV_FILE_MAX)?)?;
            with_store!(&opened, s => transfer::store(s, &items, tick))?
        }
        ImportFormat::Age => {
            let pass = secrets::export_passphrase(g, pass_file, false)?;
            let plain = transfer::age_decrypt(input.reader(), &pass)?;
            with_store!(&opened, s => transfer::import_json(s, plain, true, tick))?
        }
    };
    bar.finish_and_clear();
    say(
        g,
        &format!("imported {stored} entries ({skipped} already expired, skipped)"),
        json!({"imported": stored, "skipped_expired": skipped}),
    )
}

fn destroy(g: &Global, t: &Target, force: bool) -> CliResult<()> {
    let locked = open::open_locked(t)?;
    if !force {
        if g.no_input || !secrets::has_terminal() {
            return Err(CliError::usage(
                "refusing to destroy a vault without --force when not on a terminal",
            ));
        }
        let answer = confirm(&format!(
            "Type the vault's name ({}) to delete it for good: ",
            t.name
        ))?;
        if answer.trim() != t.name {
            return Err(CliError::failure("not confirmed; nothing deleted"));
        }
    }
    match locked {
        Locked::Plain(v) => v.destroy()?,
        Locked::Encrypted(l) => {
            if let Some(ring) = open::kernel_keyring() {
                ring.forget(&l.id());
            }
            let l = match open::keyring_store() {
                Some(()) => l.with_keyring(vaults::Keyring::default_store()),
                None => l,
            };
            l.destroy()?;
        }
    }
    say(
        g,
        &format!("destroyed vault {:?}", t.name),
        json!({"destroyed": t.name}),
    )
}

/// Reads one line, with echo, from the terminal.
fn confirm(text: &str) -> CliResult<String> {
    let mut tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")?;
    tty.write_all(text.as_bytes())?;
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(tty), &mut line)?;
    Ok(line)
}
