//! The kernel keyring: the cache behind `vaults unlock`, the store behind
//! keyring slots, and the fresh session keyring an `exec` child gets.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use linux_keyutils::{Key, KeyPermissionsBuilder, KeyRing, KeyRingIdentifier, Permission};
use vaults::{Keyring, UnlockedKey};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// The key that marks the session keyring of a `vaults exec` child.
const EXEC_CHILD_MARK: &str = "vaults:exec-child";

/// Gives this process, right before it `exec`s the user's command, a new
/// and empty session keyring, marked so that a `vaults` run inside it uses
/// neither the cached unlock key nor keyring slots. (The user's persistent
/// keyring stays reachable to any process of the user that asks the kernel
/// for it by name; see SECURITY.md.)
pub fn isolate_session_keyring() -> Result<()> {
    let fail = |what: &str| {
        Error::other(format!(
            "cannot give the command a session keyring of its own ({what}); \
             nothing was run"
        ))
    };
    match vaults_session_keyring::join_new_session() {
        Ok(_) => {}
        // A kernel without keyrings, or a sandbox that forbids them (Docker's
        // default seccomp profile answers EPERM): no key can be cached there.
        Err(e)
            if [rustix::io::Errno::NOSYS, rustix::io::Errno::PERM]
                .iter()
                .any(|no| e.raw_os_error() == Some(no.raw_os_error())) =>
        {
            return Ok(());
        }
        Err(e) => return Err(fail(&e.to_string())),
    }
    let session = KeyRing::from_special_id(KeyRingIdentifier::Session, false)
        .map_err(|e| fail(&format!("{e:?}")))?;
    session
        .add_key(EXEC_CHILD_MARK, b"1")
        .map_err(|e| fail(&format!("{e:?}")))?;
    Ok(())
}

/// The kernel keyring, for `unlock` and keyring slots.
pub struct KernelKeyring {
    session: KeyRing,
    persistent: Option<KeyRing>,
}

impl KernelKeyring {
    /// Joins (or creates) a session keyring, linking the user's persistent
    /// keyring into it: that is what carries a cached key from one `vaults`
    /// process to the next.
    pub fn open() -> Result<KernelKeyring, String> {
        let session = KeyRing::from_special_id(KeyRingIdentifier::Session, true)
            .map_err(|e| format!("no kernel keyring available ({e:?})"))?;
        // Checked before the persistent keyring is linked in (where the
        // cache lives): an `exec` child must not reach it through us.
        if session.search(EXEC_CHILD_MARK).is_ok() {
            return Err(
                "this process runs under `vaults exec`: the cached unlock key and keyring \
                 slots are not for it"
                    .to_owned(),
            );
        }
        let persistent = KeyRing::get_persistent(KeyRingIdentifier::Session).ok();
        Ok(KernelKeyring {
            session,
            persistent,
        })
    }

    fn description(vault_id: &[u8; 16]) -> String {
        let hex: String = vault_id.iter().map(|b| format!("{b:02x}")).collect();
        format!("vaults:unlock:{hex}")
    }

    /// Caches `key` for `ttl`, readable only by processes that possess it.
    ///
    /// The key is built in this thread's own keyring, where no other process
    /// can reach it, with its timeout and permissions set; only then is it
    /// linked into the persistent keyring. A failure at any step removes it:
    /// a key is never cached without its timeout or with the kernel's
    /// default permissions.
    pub fn store(
        &self,
        vault_id: &[u8; 16],
        key: &UnlockedKey,
        ttl: Duration,
    ) -> Result<(), String> {
        let ring = self.persistent.ok_or(
            "the kernel has no persistent keyring for this user, so a cached key would not outlive this command",
        )?;
        let private = KeyRing::from_special_id(KeyRingIdentifier::Thread, true)
            .map_err(|e| format!("no private keyring to build the key in ({e:?})"))?;
        let cached = private
            .add_key(&Self::description(vault_id), key.as_bytes())
            .map_err(|e| format!("the kernel keyring refused the key ({e:?})"))?;
        if let Err(e) = Self::finish(cached, ttl, ring) {
            // Nothing else holds a link to it yet, or the link is what failed.
            let _ = cached.invalidate();
            return Err(e);
        }
        // The thread keyring goes with this process anyway.
        let _ = private.unlink_key(cached);
        Ok(())
    }

    /// Sets the timeout and permissions of a key built in a private keyring,
    /// then links it into `ring`.
    fn finish(cached: Key, ttl: Duration, ring: KeyRing) -> Result<(), String> {
        // The kernel reads the timeout as 32-bit seconds, and 0 means never:
        // 2^32 s would wrap to a key that is cached for good.
        let timeout = u32::try_from(ttl.as_secs().max(1)).unwrap_or(u32::MAX) as usize;
        injected_fault("timeout")?;
        cached
            .set_timeout(timeout)
            .map_err(|e| format!("cannot set the key's timeout ({e:?})"))?;
        // Possessors only. LINK is needed to link it below, and gives a
        // possessor nothing that READ does not.
        let perms = KeyPermissionsBuilder::builder()
            .posessor(
                Permission::VIEW
                    | Permission::READ
                    | Permission::SEARCH
                    | Permission::WRITE
                    | Permission::LINK
                    | Permission::SETATTR,
            )
            .build();
        injected_fault("perms")?;
        cached
            .set_perms(perms)
            .map_err(|e| format!("cannot restrict the key's permissions ({e:?})"))?;
        injected_fault("link")?;
        ring.link_key(cached)
            .map_err(|e| format!("cannot link the key into the persistent keyring ({e:?})"))
    }

    /// The cached key of a vault, if any.
    pub fn load(&self, vault_id: &[u8; 16]) -> Option<UnlockedKey> {
        let key = self.session.search(&Self::description(vault_id)).ok()?;
        let bytes = Zeroizing::new(key.read_to_vec().ok()?);
        UnlockedKey::from_slice(&bytes)
    }

    /// Forgets the cached key of a vault; whether there was one.
    pub fn forget(&self, vault_id: &[u8; 16]) -> bool {
        match self.session.search(&Self::description(vault_id)) {
            Ok(key) => key.invalidate().is_ok(),
            Err(_) => false,
        }
    }
}

/// A failure that the tests inject into a step of [`KernelKeyring::store`]
/// through `VAULTS_TEST_CACHE_FAULT=STEP`: the kernel offers no fault that a
/// test could cause there. Debug builds only: a release build ignores it.
fn injected_fault(step: &str) -> Result<(), String> {
    #[cfg(debug_assertions)]
    if std::env::var("VAULTS_TEST_CACHE_FAULT").is_ok_and(|s| s == step) {
        return Err(format!("a test failed this step on purpose ({step})"));
    }
    let _ = step;
    Ok(())
}

/// The kernel keyring, joined once per process; `None` where unusable.
pub fn kernel_keyring() -> Option<&'static KernelKeyring> {
    static RING: OnceLock<Option<KernelKeyring>> = OnceLock::new();
    RING.get_or_init(|| match KernelKeyring::open() {
        Ok(k) => Some(k),
        Err(e) => {
            tracing::debug!(error = %e, "kernel keyring unavailable");
            None
        }
    })
    .as_ref()
}

/// Sets keyring-core's default store to the kernel keyutils store, once;
/// `None` where the kernel keyring is unusable.
pub fn keyring_store() -> Option<()> {
    static STORE: OnceLock<Option<()>> = OnceLock::new();
    *STORE.get_or_init(|| {
        // The keyutils store needs the session keyring joined first.
        kernel_keyring()?;
        match linux_keyutils_keyring_store::Store::new() {
            Ok(store) => {
                let store: Arc<keyring_core::CredentialStore> = store;
                keyring_core::set_default_store(store);
                Some(())
            }
            Err(e) => {
                tracing::debug!(error = %e, "keyutils store unavailable");
                None
            }
        }
    })
}

/// Like [`keyring_store`], but an error for commands that need it.
pub fn require_keyring() -> Result<Keyring> {
    keyring_store()
        .map(|()| Keyring::default_store())
        .ok_or_else(|| Error::other("no usable kernel keyring here: keyring slots are unavailable"))
}

/// Ends a `vaults unlock` after a change of keys: whoever changes the keys
/// expects the sessions opened before to end with it.
pub fn forget_cached_key(vault_id: &[u8; 16]) {
    if let Some(ring) = kernel_keyring() {
        ring.forget(vault_id);
    }
}
