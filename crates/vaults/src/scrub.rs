//! Wiping the stack a finished computation leaves behind.
//!
//! Rust moves values by copying them, and a moved-from value is never
//! dropped: a key schedule or a decrypted block that passed through a stack
//! frame stays in that frame's memory after the function returned, until
//! something else happens to overwrite it. Key types avoid this where they
//! can (their bytes live in a heap box), but ciphers and HMAC states built by
//! dependencies are returned by value. Overwriting the dead frames below the
//! caller is the one safe-Rust way to clear what they left.

use zeroize::Zeroize;

/// How much stack [`wipe_stack`] overwrites.
pub const WIPE_STACK_LEN: usize = 256 << 10;

/// Overwrites, with zeros, the [`WIPE_STACK_LEN`] bytes of stack below the
/// caller's frame: the frames of the functions it called before, and
/// whatever keys or plaintext they left there.
///
/// Call it after secrets were handled, from a thread with that much stack
/// to spare (the main thread has 8 MiB, Rust's spawned threads 2 MiB): the
/// `vaults` CLI calls it before it exits. It takes ~0.1 ms.
///
/// ```
/// vaults::wipe_stack();
/// ```
#[inline(never)]
pub fn wipe_stack() {
    let mut scratch = [0u8; WIPE_STACK_LEN];
    // Volatile writes: not optimised away although nothing reads them.
    scratch.zeroize();
    std::hint::black_box(&scratch);
    overwrite_vector_registers();
}

/// Copies zeros through `memcpy` at every size class it has, so the vector
/// registers its loops use (up to 512 bytes of AVX-512 state) hold zeros
/// rather than the tail of the last secret it copied. Register state is
/// what a core dump's `NT_X86_XSTATE` note records; nothing in safe Rust
/// clears it more directly.
#[inline(never)]
fn overwrite_vector_registers() {
    const MAX: usize = 16 << 10;
    let zeros = [0u8; MAX];
    let mut target = [0u8; MAX];
    let mut len = 16;
    while len <= MAX {
        // An opaque length: a real `memcpy` call, not an inlined copy.
        let n = std::hint::black_box(len);
        if let (Some(to), Some(from)) = (target.get_mut(..n), zeros.get(..n)) {
            to.copy_from_slice(std::hint::black_box(from));
        }
        std::hint::black_box(&target);
        len *= 2;
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn wiping_runs_on_a_spawned_thread() {
        // A panic (a stack too small for the scratch area) fails the test.
        assert!(std::thread::spawn(super::wipe_stack).join().is_ok());
    }
}
