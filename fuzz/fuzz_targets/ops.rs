//! Structured target: arbitrary sequences of operations (puts, TTLs,
//! removes, expiry changes, clock moves, rolled-back transactions, reopen,
//! rotate) on a plain or an encrypted vault, checked after every step against
//! the reference model (`vaults_test_support::Model`), its clock moved with
//! the vault's manual clock.
#![no_main]

use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use vaults::Expiry;
use vaults::{Clock, Durability, EncryptedVault, Error, ExpireIf, KdfParams, LockedVault, ManualClock, OpenOptions, Passphrase, Store, Vault};
use vaults_test_support::Model;

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

/// The eight names every input plays on.
fn names() -> Vec<String> {
    (0..8u8).map(name).collect()
}

fn check<S: Store>(s: &S, model: &Model<i64>) {
    let names = names();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    if let Err(e) = model.check(s, &names) {
        panic!("{e}");
    }
}

fn apply<S: Store>(s: &S, op: &Op, model: &mut Model<i64>) {
    let ms = |ms: &u16| Duration::from_millis(u64::from(*ms));
    match op {
        Op::Put(n, v) => {
            s.put(&name(*n), v).unwrap();
            model.put(&name(*n), *v);
        }
        Op::PutTtl(n, v, t) => {
            s.put_with_ttl(&name(*n), v, ms(t)).unwrap();
            model.put_with_ttl(&name(*n), *v, ms(t));
        }
        Op::PutKeepTtl(n, v) => {
            s.put_with(&name(*n), v, Expiry::Keep).unwrap();
            model.put_keep_ttl(&name(*n), *v);
        }
        Op::Remove(n) => assert_eq!(s.remove(&name(*n)).unwrap(), model.remove(&name(*n))),
        Op::Pop(n) => assert_eq!(s.pop::<i64>(&name(*n)).unwrap(), model.pop(&name(*n))),
        Op::Expire(n, t, c) => {
            let cond = match c {
                Cond::Always => ExpireIf::Always,
                Cond::Nx => ExpireIf::NoExpiry,
                Cond::Xx => ExpireIf::HasExpiry,
                Cond::Gt => ExpireIf::Later,
                Cond::Lt => ExpireIf::Sooner,
            };
            let want = model.expire(&name(*n), ms(t), cond);
            assert_eq!(s.expire(&name(*n), ms(t), cond).unwrap(), want);
        }
        Op::Persist(n) => assert_eq!(s.persist(&name(*n)).unwrap(), model.persist(&name(*n))),
        Op::GetEx(n, t) => {
            let want = model.get_ex(&name(*n), ms(t));
            assert_eq!(s.get_ex::<i64>(&name(*n), ms(t)).unwrap(), want);
        }
        Op::Cleanup => assert_eq!(s.cleanup_expired().unwrap(), model.cleanup_expired()),
        Op::RolledBack(puts) => {
            let r: Result<(), Error> = s.transaction(|tx| {
                for (n, v) in puts {
                    tx.put(&name(*n), v)?;
                }
                Err(Error::Busy)
            });
            assert!(matches!(r, Err(Error::Busy)), "{r:?}");
        }
        Op::Committed(puts) => {
            s.transaction(|tx| {
                for (n, v) in puts {
                    tx.put(&name(*n), v)?;
                }
                Ok(())
            })
            .unwrap();
            model.put_many(puts.iter().map(|(n, v)| (name(*n), *v)));
        }
        Op::Advance(_) | Op::Reopen | Op::Rotate => {}
    }
}

fuzz_target!(|input: Input| {
    let mut w = world().lock().unwrap_or_else(|e| e.into_inner());
    let mut model = Model::new(w.clock.now_ms());
    let mut rotated = false;
    match input.encrypted {
        true => w.enc.as_ref().unwrap().clear().unwrap(),
        false => w.plain.as_ref().unwrap().clear().unwrap(),
    }
    for op in input.ops.iter().take(64) {
        match op {
            Op::Advance(ms) => {
                let by = Duration::from_millis(u64::from(*ms));
                w.clock.advance(by);
                model.advance(by);
            }
            Op::Reopen => w.reopen(input.encrypted),
            // Two Argon2 runs: allow one per input.
            Op::Rotate if input.encrypted && !rotated => {
                rotated = true;
                let World { enc, pass, .. } = &mut *w;
                let vault = enc.as_mut().unwrap();
                let slot = vault.unlocked_slot();
                let _ = vault.rotate(&[(slot, pass)], |_| {}).unwrap();
                // Rotation deletes expired rows on the way.
                model.drop_expired();
            }
            _ if input.encrypted => apply(w.enc.as_ref().unwrap(), op, &mut model),
            _ => apply(w.plain.as_ref().unwrap(), op, &mut model),
        }
        match input.encrypted {
            true => check(w.enc.as_ref().unwrap(), &model),
            false => check(w.plain.as_ref().unwrap(), &model),
        }
    }
});
