//! One function per command: parse nothing, store nothing themselves, call the
//! library, print the result.

use std::io::{IsTerminal, Write};
use std::os::unix::process::CommandExt;
use std::time::Duration;

use clap::CommandFactory;
use serde_json::json;
use vaults::{
    EncryptedVault, ExpireIf, KdfParams, KeyChange, Keyring, LockedVault, SlotInfo, Store, Ttl,
};
use zeroize::Zeroizing;

use crate::child_env;
use crate::cli::{Cli, Command, ExpireCondition, Global, ImportFormat, KdfArgs, SlotCommand};
use crate::error::{CliError, CliResult};
use crate::input::{self, ReadError};
use crate::names;
use crate::open::{self, Locked, Opened, Target};
use crate::plain_list;
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
                Command::Init { keyring, kdf } => init(g, &t, keyring, &kdf),
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
                Command::Lock => lock(g, &t),
                Command::Passwd { new } => passwd(g, &t, &new),
                Command::Rotate { drop_unreadable } => rotate(g, &t, drop_unreadable),
                Command::Doctor { yes } => doctor(g, &t, yes),
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

fn init(g: &Global, t: &Target, keyring: bool, kdf: &KdfArgs) -> CliResult<()> {
    if g.plain && (keyring || kdf.kdf_memory.is_some() || kdf.kdf_time.is_some()) {
        return Err(CliError::usage(
            "a plain vault has no keys: --plain (or VAULTS_PLAIN) cannot go with --keyring, \
             --kdf-memory or --kdf-time",
        ));
    }
    if t.path.exists() {
        return Err(CliError::failure(format!(
            "vault {:?} already exists at {}",
            t.name,
            t.path.display()
        )));
    }
    t.dir.create_root()?;
    if g.plain {
        plain_list::check_recordable(&t.path)?;
        // Exclusive: a file planted after the check above (another plain
        // vault) must not be the one recorded as trusted.
        let vault = t.options().create_new(true).open(&t.path)?;
        // Recorded where the file cannot change it: later commands open
        // this file as plain only while its id is the one recorded here.
        if let Err(e) = plain_list::add(&t.path, &vault.id()) {
            let _ = vault.destroy();
            return Err(e);
        }
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
    // A plain vault once recorded at this path is gone.
    plain_list::remove(&t.path);
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
        let doc = json!({"name": key, "encoding": encoding, "expires_at": expiry_text(ttl)});
        let out = values::json_with_value(doc, value);
        emit_secret(&out)?;
        return emit_secret(b"\n");
    }
    // A text or byte string (most secrets) is written from the buffer the
    // library opened it into, which is wiped on drop: no decoded copy.
    if let Some(payload) = values::string_payload(&stored) {
        emit_secret(payload)?;
    } else {
        let out = match values::show(&stored).0 {
            Shown::Text(t) => Zeroizing::new(t.into_bytes()),
            Shown::Bytes(b) => Zeroizing::new(b),
            Shown::Json(j) => {
                let out = values::to_json_bytes(&j);
                values::wipe_json(j);
                out
            }
        };
        emit_secret(&out)?;
    }
    match no_newline {
        true => Ok(()),
        false => emit_secret(b"\n"),
    }
}

/// Writes a secret to stdout with `write(2)`, past std's stdout buffer: that
/// buffer would keep a copy of a short value, never wiped.
fn emit_secret(data: &[u8]) -> CliResult<()> {
    use rustix::io::Errno;
    let mut out = std::io::stdout().lock();
    // Whatever was printed before goes first.
    match out.flush() {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Err(CliError::new(0, "")),
        other => other?,
    }
    let mut rest = data;
    while !rest.is_empty() {
        match rustix::io::write(rustix::stdio::stdout(), rest) {
            Ok(0) => return Err(std::io::Error::from(std::io::ErrorKind::WriteZero).into()),
            Ok(n) => rest = rest.get(n..).unwrap_or_default(),
            Err(Errno::INTR) => {}
            Err(Errno::PIPE) => return Err(CliError::new(0, "")),
            Err(e) => return Err(std::io::Error::from(e).into()),
        }
    }
    Ok(())
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
    let n = match open::open_locked(g, t)? {
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
    let locked = match open::open_locked(g, t)? {
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
    let vault = open::unlock_with_passphrase(g, locked, &pass)?;
    ring.store(&vault.id(), &vault.unlocked_key(), for_)
        .map_err(|e| CliError::failure(format!("cannot cache the key: {e}")))?;
    let human = humantime::format_duration(for_);
    say(
        g,
        &format!("unlocked vault {:?} for {human}", t.name),
        json!({"unlocked": true, "seconds": for_.as_secs()}),
    )
}

fn lock(g: &Global, t: &Target) -> CliResult<()> {
    let id = match open::open_locked(g, t)? {
        Locked::Plain(_) => return Ok(()),
        Locked::Encrypted(l) => l.id(),
    };
    if let Some(ring) = open::kernel_keyring() {
        ring.forget(&id);
    }
    Ok(())
}

/// Changes the passphrase of the slot the given passphrase opens.
fn passwd(g: &Global, t: &Target, new: &crate::cli::NewPassphrase) -> CliResult<()> {
    let vault = open::open_with_passphrase(g, t)?;
    let slot = vault.unlocked_slot();
    let params = slot_params(&vault, slot)?;
    let new = secrets::new_passphrase(g, new)?;
    let change = vault.change_passphrase(slot, &new, params)?;
    forget_cached_key(&vault.id());
    let value = json!({"changed": true});
    let value = report_key_change(t, change, "open with the old passphrase", value);
    say(g, "passphrase changed", value)
}

/// Warns on stderr when a change of keys could not purge the old key
/// material (another process had the vault open), and adds
/// `old_key_material_may_remain` to the command's JSON output.
fn report_key_change(
    t: &Target,
    change: KeyChange,
    copy_may: &str,
    mut value: serde_json::Value,
) -> serde_json::Value {
    let may_remain = change.old_material_may_remain();
    if may_remain {
        secrets::notice(&format!(
            "warning: another process has vault {:?} open, so the old key material is still in \
             its files: until that process closes the vault, a copy of {} may still {copy_may}",
            t.name,
            t.path.display()
        ));
    }
    if let Some(fields) = value.as_object_mut() {
        fields.insert("old_key_material_may_remain".into(), may_remain.into());
    }
    value
}

/// Ends a `vaults unlock` after a change of keys: whoever changes the keys
/// expects the sessions opened before to end with it.
fn forget_cached_key(vault_id: &[u8; 16]) {
    if let Some(ring) = open::kernel_keyring() {
        ring.forget(vault_id);
    }
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

fn rotate(g: &Global, t: &Target, drop_unreadable: bool) -> CliResult<()> {
    let locked = match open::open_locked(g, t)? {
        Locked::Plain(_) => {
            return Err(CliError::usage(format!(
                "vault {:?} is plain: it has no key",
                t.name
            )));
        }
        Locked::Encrypted(l) => l,
    };
    let pass = secrets::passphrase_or_prompt(g, &format!("Passphrase for vault {:?}: ", t.name))?;
    let mut vault = open::unlock_with_passphrase(g, locked, &pass)?;
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
    let on_progress = |p: vaults::Progress| {
        bar.set_length(p.total);
        bar.set_position(p.done);
    };
    let (change, dropped) = match drop_unreadable {
        true => vault.rotate_dropping_unreadable(&secrets_by_slot, on_progress)?,
        false => {
            let change = vault.rotate(&secrets_by_slot, on_progress).map_err(|e| {
                let unreadable = matches!(
                    e,
                    vaults::Error::Integrity(vaults::Integrity::Entry | vaults::Integrity::Name)
                );
                let mut e = CliError::from(e);
                if unreadable {
                    e.message
                        .push_str(" (or `vaults rotate --drop-unreadable`)");
                }
                e
            })?;
            (change, Vec::new())
        }
    };
    bar.finish_and_clear();
    for row in &dropped {
        secrets::notice(&format!("vaults: deleted unreadable {row}"));
    }
    // A key cached before the rotation no longer opens the vault.
    forget_cached_key(&vault.id());
    let generation = vault.generation();
    let mut text = format!("rotated vault {:?}: key generation {generation}", t.name);
    let mut value = json!({"generation": generation});
    if drop_unreadable {
        text.push_str(&format!("; {} deleted", unreadable_rows(dropped.len())));
        value["dropped"] = rowids(&dropped).into();
    }
    let value = report_key_change(t, change, "hold entries sealed under the old key", value);
    say(g, &text, value)
}

/// "1 unreadable row", "2 unreadable rows".
fn unreadable_rows(n: usize) -> String {
    match n {
        1 => "1 unreadable row".to_owned(),
        n => format!("{n} unreadable rows"),
    }
}

fn rowids(rows: &[vaults::UnreadableRow]) -> Vec<i64> {
    rows.iter().map(|r| r.rowid).collect()
}

/// `vaults doctor`: lists the rows that fail to open and deletes them once
/// confirmed (a terminal prompt, or `--yes`). Exit 0 when none remain, 4
/// (the code of failed integrity) while some do.
fn doctor(g: &Global, t: &Target, yes: bool) -> CliResult<()> {
    match open::open(g, t)? {
        // Plain rows are not sealed: nothing fails to open.
        Opened::Plain(_) => doctor_report(g, &[], &[]),
        Opened::Encrypted(vault) => {
            let found = vault.unreadable_rows()?;
            doctor_repair(g, &vault, found, yes)
        }
    }
}

fn doctor_repair(
    g: &Global,
    vault: &EncryptedVault,
    found: Vec<vaults::UnreadableRow>,
    yes: bool,
) -> CliResult<()> {
    if found.is_empty() {
        return doctor_report(g, &found, &[]);
    }
    if !g.json {
        let mut out = String::new();
        for row in &found {
            out.push_str(&format!("{row}\n"));
        }
        emit(out.as_bytes())?;
    }
    let confirmed = yes
        || (!g.no_input
            && secrets::has_terminal()
            && confirm(&format!(
                "Delete these {} rows for good? Their secrets cannot be read. Type yes: ",
                found.len()
            ))?
            .trim()
                == "yes");
    if !confirmed {
        if g.json {
            doctor_report(g, &found, &[])?;
        }
        return Err(CliError::new(
            crate::error::AUTH,
            format!(
                "{} left; nothing deleted (run `vaults doctor --yes` to delete)",
                unreadable_rows(found.len())
            ),
        ));
    }
    let dropped = vault.drop_unreadable(&rowids(&found))?;
    doctor_report(g, &found, &dropped)
}

fn doctor_report(
    g: &Global,
    found: &[vaults::UnreadableRow],
    dropped: &[vaults::UnreadableRow],
) -> CliResult<()> {
    let text = match found.is_empty() {
        true => "no unreadable rows".to_owned(),
        false => format!("deleted {}", unreadable_rows(dropped.len())),
    };
    let listed: Vec<_> = found
        .iter()
        .map(|r| {
            json!({"row": r.rowid, "name_fails": r.name_fails, "value_fails": r.value_fails,
                "other_generation": r.other_generation, "too_large": r.too_large})
        })
        .collect();
    say(
        g,
        &text,
        json!({"unreadable": listed, "deleted": rowids(dropped)}),
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

/// Adds or removes a key slot. It needs a fresh proof, the passphrase of an
/// existing slot: a cached unlock or a keyring slot is not enough, or whoever
/// can use them could replace the owner's passphrase with their own.
fn slot(g: &Global, t: &Target, cmd: SlotCommand) -> CliResult<()> {
    let mut vault = open::open_with_passphrase(g, t)?;
    let (text, value) = match cmd {
        SlotCommand::AddPassphrase { new, kdf } => {
            let params = kdf_params(&kdf)?;
            let pass = secrets::new_passphrase(g, &new)?;
            let id = vault.add_passphrase_slot(&pass, params)?;
            (format!("added passphrase slot {id}"), json!({"id": id}))
        }
        SlotCommand::AddKeyring => {
            vault.set_keyring(open::require_keyring()?);
            let id = vault.add_keyring_slot()?;
            (format!("added keyring slot {id}"), json!({"id": id}))
        }
        SlotCommand::Remove { id } => {
            if open::keyring_store().is_some() {
                vault.set_keyring(vaults::Keyring::default_store());
            }
            let change = vault.remove_slot(id)?;
            let value = json!({"removed": id});
            let value = report_key_change(t, change, "open with the removed slot", value);
            (format!("removed slot {id}"), value)
        }
    };
    forget_cached_key(&vault.id());
    say(g, &text, value)
}

fn exec(
    g: &Global,
    t: &Target,
    prefix: &str,
    only: &[String],
    command: &[std::ffi::OsString],
) -> CliResult<()> {
    let env = with_store!(open::open(g, t)?, s => child_env::build(&s, prefix, only))?;
    let (program, args) = command
        .split_first()
        .ok_or_else(|| CliError::usage("no command given"))?;
    child_env::check_fits(command, &env)?;
    secrets::isolate_session_keyring()?;
    // exec replaces this process: the child's exit code is ours, and no
    // unlocked key outlives the hand-over.
    crate::unharden();
    // The child gets the entries it asked for and the caller's variables
    // minus ours: no passphrase source, no vault folder, nothing to unlock
    // another entry with.
    let err = std::process::Command::new(program)
        .args(args)
        .env_clear()
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
    let locked = open::open_locked(g, t)?;
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
        Locked::Encrypted(l) => destroy_encrypted(t, l)?,
    }
    plain_list::remove(&t.path);
    say(
        g,
        &format!("destroyed vault {:?}", t.name),
        json!({"destroyed": t.name}),
    )
}

/// Deletes an encrypted vault, and forgets only the kernel-keyring secrets
/// that open it: the vault id and the slot records that name them are not
/// authenticated before an unlock, and could name another vault's.
fn destroy_encrypted(t: &Target, locked: LockedVault) -> CliResult<()> {
    let keyring = open::keyring_store().map(|()| Keyring::default_store());
    let id = locked.id();
    if let Some(ring) = open::kernel_keyring()
        && let Some(key) = ring.load(&id)
        && let Ok(mut vault) = open::reopen(t)?.unlock_with_key(&key)
    {
        // The cached key opens this vault and proves its metadata: the
        // cache entry and every keyring slot are this vault's own.
        ring.forget(&id);
        drop(locked);
        if let Some(keyring) = keyring {
            vault.set_keyring(keyring);
        }
        return Ok(vault.destroy()?);
    }
    // Without the key, the library forgets keyring entries only when one
    // of them opens this vault.
    let locked = match keyring {
        Some(keyring) => locked.with_keyring(keyring),
        None => locked,
    };
    Ok(locked.destroy()?)
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
