//! Joins a new anonymous session keyring, for `vaults exec` to hand its
//! child: `keyctl(KEYCTL_JOIN_SESSION_KEYRING, NULL)`, the one keyctl(2)
//! call that linux-keyutils 0.2 does not wrap. It lives in a crate of its
//! own so that `vaults` keeps `unsafe_code = "forbid"`.

use std::io;

/// `KEYCTL_JOIN_SESSION_KEYRING` from `<linux/keyctl.h>`.
const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;

/// Replaces this process's session keyring with a new, empty, anonymous
/// one (inherited by whatever it `exec`s), and returns its serial number.
///
/// # Errors
/// The kernel's error (`ENOSYS` without keyring support, `EDQUOT` when the
/// user has too many keys, ...).
pub fn join_new_session() -> io::Result<i32> {
    // SAFETY: with a NULL name, KEYCTL_JOIN_SESSION_KEYRING reads no memory
    // of ours and only changes this process's keyring credentials.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_keyctl,
            KEYCTL_JOIN_SESSION_KEYRING,
            std::ptr::null::<libc::c_char>(),
        )
    };
    match i32::try_from(ret) {
        Ok(serial) if serial >= 0 => Ok(serial),
        _ => Err(io::Error::last_os_error()),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_new_session_has_a_new_serial() {
        // Where the kernel has no keyrings, both calls fail alike.
        if let (Ok(a), Ok(b)) = (super::join_new_session(), super::join_new_session()) {
            assert_ne!(a, b);
        }
    }
}
