//! Structured target: arbitrary sequences of operations (puts, TTLs,
//! removes, expiry changes, clock moves, rolled-back transactions, reopen,
//! rotate) on a plain or an encrypted vault, checked after every step against
//! a `BTreeMap` model driven by the same manual clock.
#![no_main]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use vaults::Expiry;
use vaults::{Clock, Durability, EncryptedVault, Error, ExpireIf, KdfParams, LockedVault, ManualClock, OpenOptions, Passphrase, Store, Ttl, Vault};

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Cond {
    Always,
    Nx,
    Xx,
    Gt,
    Lt,
}

#[derive(Arbitrary, Debug)]
enum Op {
    Put(u8, i64),
    PutTtl(u8, i64, u16),
    PutKeepTtl(u8, i64),
    Remove(u8),
    Pop(u8),
    Expire(u8, u16, Cond),
    Persist(u8),
    GetEx(u8, u16),
    Advance(u16),
    Cleanup,
    RolledBack(Vec<(u8, i64)>),
    Committed(Vec<(u8, i64)>),
    Reopen,
    Rotate,
}

#[derive(Arbitrary, Debug)]
struct Input {
    encrypted: bool,
    ops: Vec<Op>,
}

/// name -> (value, expires_at ms)
type Model = BTreeMap<String, (i64, Option<i64>)>;

struct World {
    dir: tempfile::TempDir,
    clock: ManualClock,
    pass: Passphrase,
    plain: Option<Vault>,
    enc: Option<EncryptedVault>,
}

impl World {
    fn plain_path(&self) -> PathBuf {
        self.dir.path().join("plain.db")
    }
    fn enc_path(&self) -> PathBuf {
        self.dir.path().join("enc.db")
    }
    fn options(&self) -> OpenOptions {
        OpenOptions::new().clock(self.clock.clone()).durability(Durability::Normal)
    }
    fn reopen(&mut self, encrypted: bool) {
        if encrypted {
            self.enc = None;
            let locked = LockedVault::open_with(&self.options(), self.enc_path()).unwrap();
            self.enc = Some(locked.unlock(&self.pass).unwrap());
        } else {
            self.plain = None;
            self.plain = Some(self.options().open_or_create(self.plain_path()).unwrap());
        }
    }
}

fn world() -> &'static Mutex<World> {
    static WORLD: OnceLock<Mutex<World>> = OnceLock::new();
    WORLD.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let clock = ManualClock::new(1_000_000);
        let pass = Passphrase::new("fuzz").unwrap();
        let options = OpenOptions::new().clock(clock.clone()).durability(Durability::Normal);
        let plain = options.open_or_create(dir.path().join("plain.db")).unwrap();
        let enc = EncryptedVault::create_with(&options, &dir.path().join("enc.db"), &pass, KdfParams::MIN).unwrap();
        Mutex::new(World {
            dir,
            clock,
            pass,
            plain: Some(plain),
            enc: Some(enc),
        })
    })
}

fn name(n: u8) -> String {
    format!("k{}", n % 8)
}

fn alive(m: &Model, now: i64) -> Model {
    m.iter().filter(|(_, (_, e))| e.is_none_or(|e| e > now)).map(|(k, v)| (k.clone(), *v)).collect()
}

fn check<S: Store>(s: &S, model: &Model, now: i64) {
    let live = alive(model, now);
    assert_eq!(s.len().unwrap(), live.len() as u64);
    assert_eq!(s.keys().unwrap(), live.keys().cloned().collect::<Vec<_>>());
    for n in 0..8u8 {
        let k = name(n);
        let want = live.get(&k);
        assert_eq!(s.get::<i64>(&k).unwrap(), want.map(|(v, _)| *v), "get {k}");
        let ttl = s.ttl(&k).unwrap();
        match want {
            None => assert_eq!(ttl, None),
            Some((_, None)) => assert_eq!(ttl, Some(Ttl::Never)),
            Some((_, Some(at))) => assert_eq!(ttl, Some(Ttl::Remaining(Duration::from_millis((at - now) as u64)))),
        }
    }
}

fn apply<S: Store>(s: &S, op: &Op, model: &mut Model, now: i64) {
    let live = |m: &Model, k: &str| m.get(k).filter(|(_, e)| e.is_none_or(|e| e > now)).copied();
    match op {
        Op::Put(n, v) => {
            s.put(&name(*n), v).unwrap();
            model.insert(name(*n), (*v, None));
        }
        Op::PutTtl(n, v, ms) => {
            s.put_with_ttl(&name(*n), v, Duration::from_millis(u64::from(*ms))).unwrap();
            match ms {
                0 => model.remove(&name(*n)),
                _ => model.insert(name(*n), (*v, Some(now + i64::from(*ms)))),
            };
        }
        Op::PutKeepTtl(n, v) => {
            s.put_with(&name(*n), v, Expiry::Keep).unwrap();
            let keep = live(model, &name(*n)).and_then(|(_, e)| e);
            model.insert(name(*n), (*v, keep));
        }
        Op::Remove(n) => {
            let was = live(model, &name(*n)).is_some();
            assert_eq!(s.remove(&name(*n)).unwrap(), was);
            model.remove(&name(*n));
        }
        Op::Pop(n) => {
            let was = live(model, &name(*n)).map(|(v, _)| v);
            assert_eq!(s.pop::<i64>(&name(*n)).unwrap(), was);
            model.remove(&name(*n));
        }
        Op::Expire(n, ms, c) => {
            let k = name(*n);
            let at = now + i64::from(*ms);
            let cond = match c {
                Cond::Always => ExpireIf::Always,
                Cond::Nx => ExpireIf::NoExpiry,
                Cond::Xx => ExpireIf::HasExpiry,
                Cond::Gt => ExpireIf::Later,
                Cond::Lt => ExpireIf::Sooner,
            };
            let want = match live(model, &k) {
                None => false,
                Some((_, cur)) => match c {
                    Cond::Always => true,
                    Cond::Nx => cur.is_none(),
                    Cond::Xx => cur.is_some(),
                    Cond::Gt => cur.is_some_and(|c| at > c),
                    Cond::Lt => cur.is_none_or(|c| at < c),
                },
            };
            assert_eq!(s.expire(&k, Duration::from_millis(u64::from(*ms)), cond).unwrap(), want);
            if want {
                if *ms == 0 {
                    model.remove(&k);
                } else if let Some(e) = model.get_mut(&k) {
                    e.1 = Some(at);
                }
            }
        }
        Op::Persist(n) => {
            let k = name(*n);
            let want = live(model, &k).is_some_and(|(_, e)| e.is_some());
            assert_eq!(s.persist(&k).unwrap(), want);
            if want && let Some(e) = model.get_mut(&k) {
                e.1 = None;
            }
        }
        Op::GetEx(n, ms) => {
            let k = name(*n);
            let was = live(model, &k);
            assert_eq!(s.get_ex::<i64>(&k, Duration::from_millis(u64::from(*ms))).unwrap(), was.map(|(v, _)| v));
            if let Some((v, _)) = was {
                match ms {
                    0 => model.remove(&k),
                    _ => model.insert(k, (v, Some(now + i64::from(*ms)))),
                };
            }
        }
        Op::Cleanup => {
            let expired = model.len() - alive(model, now).len();
            assert_eq!(s.cleanup_expired().unwrap(), expired as u64);
            *model = alive(model, now);
        }
        Op::RolledBack(puts) => {
            let r: Result<(), Error> = s.transaction(|tx| {
                for (n, v) in puts {
                    tx.put(&name(*n), v)?;
                }
                Err(Error::Busy)
            });
            assert!(r.is_err());
        }
        Op::Committed(puts) => {
            s.transaction(|tx| {
                for (n, v) in puts {
                    tx.put(&name(*n), v)?;
                }
                Ok(())
            })
            .unwrap();
            for (n, v) in puts {
                model.insert(name(*n), (*v, None));
            }
        }
        Op::Advance(_) | Op::Reopen | Op::Rotate => {}
    }
}

fuzz_target!(|input: Input| {
    let mut w = world().lock().unwrap_or_else(|e| e.into_inner());
    let mut model = Model::new();
    let mut rotated = false;
    match input.encrypted {
        true => w.enc.as_ref().unwrap().clear().unwrap(),
        false => w.plain.as_ref().unwrap().clear().unwrap(),
    }
    for op in input.ops.iter().take(64) {
        let now = w.clock.now_ms();
        match op {
            Op::Advance(ms) => w.clock.advance(Duration::from_millis(u64::from(*ms))),
            Op::Reopen => w.reopen(input.encrypted),
            // Two Argon2 runs: allow one per input.
            Op::Rotate if input.encrypted && !rotated => {
                rotated = true;
                let World { enc, pass, .. } = &mut *w;
                let vault = enc.as_mut().unwrap();
                let slot = vault.unlocked_slot();
                let _ = vault.rotate(&[(slot, pass)], |_| {}).unwrap();
                // Rotation deletes expired rows on the way.
                model = alive(&model, now);
            }
            _ if input.encrypted => apply(w.enc.as_ref().unwrap(), op, &mut model, now),
            _ => apply(w.plain.as_ref().unwrap(), op, &mut model, now),
        }
        let now = w.clock.now_ms();
        match input.encrypted {
            true => check(w.enc.as_ref().unwrap(), &model, now),
            false => check(w.plain.as_ref().unwrap(), &model, now),
        }
    }
});
